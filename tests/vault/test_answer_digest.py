"""The answer digest: one function of the frame, whichever writer serialises it."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from tsunagu.vault.node import SMALL_ANSWER_ROWS, _csv_text, frame_digest

FRAMES = {
    "texts that need quoting": pl.DataFrame({"s": ["", " a ", "a,b", 'q"t', "line\nx", "cr\rx", "山田 太郎", "①髙﨑",
                                                   "=1+2", "'x", "\t", None, "a;b"]}),
    "every column type": pl.DataFrame({
        "record_id": [1, None, -3], "ok": [True, False, None], "on": [date(2020, 1, 2), None, date(1, 1, 1)],
        "value_num": [1.5, None, 100.0], "value_text": ["あり", "", None],
    }),
    "a header that needs quoting": pl.DataFrame({"a,b": [1]}),
    "no rows": pl.DataFrame(schema={"local_id": pl.Utf8, "birth_date": pl.Date}),
}


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_small_answers_are_written_as_polars_writes_them(name: str) -> None:
    frame = FRAMES[name]
    assert _csv_text(frame) == frame.write_csv()


def test_the_digest_changes_with_any_value_and_with_the_row_order() -> None:
    frame = FRAMES["every column type"]
    digest = frame_digest(frame)
    assert digest == frame_digest(frame.clone())
    assert digest != frame_digest(frame.reverse())
    assert digest != frame_digest(frame.with_columns(pl.col("value_text").fill_null("")))  # missing ≠ empty


def test_a_large_answer_has_the_digest_of_its_polars_text() -> None:
    import hashlib

    frame = pl.DataFrame({"local_id": [f"{i:08d}" for i in range(SMALL_ANSWER_ROWS + 1)]})
    assert frame_digest(frame) == hashlib.sha256(frame.write_csv().encode("utf-8")).hexdigest()
