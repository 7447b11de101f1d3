"""Addresses compare from the municipality on: the prefecture's own records write the prefecture."""

from __future__ import annotations

import polars as pl
import pytest

from tsunagu.link.records import shape_records, without_prefecture

CASES = [
    ("つなぐ県つなぐ市梅ケ丘3-25-15", "つなぐ市梅ケ丘3-25-15"),  # the child-guidance centre's form
    ("つなぐ市梅ケ丘3-25-15", "つなぐ市梅ケ丘3-25-15"),  # the register's form
    ("東京都府中市宮町1-2", "府中市宮町1-2"),
    ("北海道札幌市北区北1条西2", "札幌市北区北1条西2"),
    ("大阪府大阪市北区梅田1-1", "大阪市北区梅田1-1"),
    ("京都府京都市中京区1-1", "京都市中京区1-1"),
    ("神奈川県横浜市中区1-1", "横浜市中区1-1"),
    ("鹿児島県鹿児島市1-1", "鹿児島市1-1"),
    ("県営住宅3-1", "県営住宅3-1"),  # 県 at the start is no prefecture
    ("市川市八幡1-1", "市川市八幡1-1"),
]


@pytest.mark.parametrize(("written", "compared"), CASES)
def test_a_leading_prefecture_is_left_out_of_the_comparison(written: str, compared: str) -> None:
    assert pl.select(without_prefecture(pl.lit(written))).item() == compared


def test_shaped_records_of_the_prefecture_and_the_town_carry_the_same_address_key() -> None:
    def shaped(address: str, source: str) -> str:
        frame = pl.DataFrame({"record_id": [1], "source": [source], "local_id": ["1"], "address_key": [address],
                              "guardian_name": [None]}, schema_overrides={"guardian_name": pl.Utf8})
        return str(shape_records(frame, "child_guidance")["address_key"].item())

    assert shaped("つなぐ県つなぐ市東本町3-2-10", "jisou") == shaped("つなぐ市東本町3-2-10", "juki_jumin")
