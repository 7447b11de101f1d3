"""Table-driven tests for the address match key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.ingest.normalize import AddressKey, address_key, address_match_key, kanji_to_int

KASUMI = "東京都千代田区霞ケ丘3-12-5"

ADDRESS_KEYS = [
    # One dwelling, many spellings.
    ("東京都千代田区霞ヶ丘3丁目12番5号", KASUMI),
    ("東京都千代田区霞ケ丘3-12-5", KASUMI),
    ("東京都千代田区霞が丘三丁目十二番地五", KASUMI),
    ("東京都千代田区霞ヶ丘3丁目12-5", KASUMI),
    ("東京都千代田区霞ヶ丘３－１２－５", KASUMI),
    ("東京都千代田区霞ヵ丘3丁目12番地の5", KASUMI),
    ("東京都 千代田区 霞ヶ丘 3丁目 12番 5号", KASUMI),
    ("東京都千代田区霞ヶ丘３ー１２ー５", KASUMI),
    ("東京都千代田区霞ヶ丘3−12−5", KASUMI),
    ("東京都千代田区霞ヶ丘3‐12‐5", KASUMI),
    ("東京都千代田区霞ヶ丘3―12―5", KASUMI),
    ("東京都千代田区霞ヶ丘3ｰ12ｰ5", KASUMI),
    ("東京都千代田区霞ヶ丘3‑12‑5", KASUMI),
    ("東京都千代田区霞ヶ丘3–12–5", KASUMI),
    ("東京都千代田区霞ヶ丘3—12—5", KASUMI),
    ("東京都千代田区霞ヶ丘3の12の5", KASUMI),
    ("〒160-0013 東京都千代田区霞ヶ丘3-12-5", KASUMI),
    ("東京都千代田区霞ヶ丘3-12-5 メゾン桜201号室", KASUMI),
    # Kanji numerals with 十/百/千 and 〇.
    ("大阪府堺市中区深井二十三番地", "大阪府堺市中区深井23"),
    ("大阪府堺市中区深井百二十三番地", "大阪府堺市中区深井123"),
    ("大阪府堺市中区深井千二百番地", "大阪府堺市中区深井1200"),
    ("大阪府堺市中区深井一〇五番地", "大阪府堺市中区深井105"),
    ("大阪府堺市中区深井二十三番地の四", "大阪府堺市中区深井23-4"),
    # 大字/字 labels.
    ("長野県上田市大字中村字東123番地", "長野県上田市中村東123"),
    ("長野県上田市中村東123", "長野県上田市中村東123"),
    ("長野県上田市大字中村字東１２３番地の４", "長野県上田市中村東123-4"),
    # Place names that contain numerals or 番 stay intact.
    ("三重県四日市市諏訪町1番5号", "三重県四日市市諏訪町1-5"),
    ("東京都八王子市元本郷町三丁目24番1号", "東京都八王子市元本郷町3-24-1"),
    ("東京都千代田区三番町5番地", "東京都千代田区三番町5"),
    ("東京都千代田区一ツ橋二丁目1-1", "東京都千代田区一ツ橋2-1-1"),
    ("北海道札幌市中央区北1条西2丁目3番地4", "北海道札幌市中央区北1条西2-3-4"),
    ("北海道札幌市中央区北一条西二丁目三番地四", "北海道札幌市中央区北1条西2-3-4"),
    ("岩手県遠野市第2地割10番地", "岩手県遠野市第2地割10"),
    # ヶ/ケ/が, の/ノ, variant kanji.
    ("東京都世田谷区自由が丘1-2-3", "東京都世田谷区自由ケ丘1-2-3"),
    ("東京都三鷹市井の頭1-2-3", "東京都三鷹市井ノ頭1-2-3"),
    ("東京都新宿区髙田馬場1-2-3", "東京都新宿区高田馬場1-2-3"),
    ("神奈川県川﨑市川崎区1-2", "神奈川県川崎市川崎区1-2"),
    # No street number at all.
    ("東京都千代田区千代田", "東京都千代田区千代田"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), ADDRESS_KEYS)
def test_address_match_key(text: str, expected: str) -> None:
    assert address_match_key(text) == expected


BUILDINGS = [
    ("東京都新宿区西新宿1-2-3 メゾン桜201号室", "1-2-3", "メゾン桜201号室"),
    ("東京都新宿区西新宿1-2-3メゾン桜201号室", "1-2-3", "メゾン桜201号室"),
    ("東京都新宿区西新宿1-2-3-201", "1-2-3", "201"),
    ("東京都新宿区西新宿1丁目2番3号 コーポ山田 101", "1-2-3", "コーポ山田 101"),
    ("東京都新宿区西新宿1丁目2番3号　コーポ山田　１０１", "1-2-3", "コーポ山田 101"),
    ("東京都新宿区西新宿1-2-3 101", "1-2-3", "101"),
    ("東京都新宿区西新宿1-2-3", "1-2-3", None),
    ("東京都新宿区西新宿一丁目二番三号 ハイツ第2 205", "1-2-3", "ハイツ第2 205"),
]


@pytest.mark.parametrize(("text", "number", "building"), BUILDINGS)
def test_building_is_split_off(text: str, number: str, building: str | None) -> None:
    result = address_key(text)
    assert result.number == number
    assert result.building == building
    assert result.key == "東京都新宿区西新宿" + number
    assert result.place == "東京都新宿区西新宿"


def test_address_key_is_a_frozen_value() -> None:
    result = address_key("東京都千代田区霞ヶ丘3丁目12番5号")
    assert result == AddressKey(KASUMI, "東京都千代田区霞ケ丘", "3-12-5", None)
    with pytest.raises(AttributeError):
        result.key = "x"  # type: ignore[misc]


KANJI_NUMBERS = [
    ("一", 1),
    ("十", 10),
    ("十二", 12),
    ("二十", 20),
    ("二十三", 23),
    ("百", 100),
    ("百五", 105),
    ("千九百八十九", 1989),
    ("二千二十四", 2024),
    ("二〇二四", 2024),
]


@pytest.mark.parametrize(("numeral", "expected"), KANJI_NUMBERS)
def test_kanji_to_int(numeral: str, expected: int) -> None:
    assert kanji_to_int(numeral) == expected


def test_kanji_to_int_rejects_other_text() -> None:
    with pytest.raises(ValueError, match="not a kanji numeral"):
        kanji_to_int("二つ")
    with pytest.raises(ValueError, match="empty"):
        kanji_to_int("")


@given(st.text())
def test_address_key_never_raises_and_is_idempotent(text: str) -> None:
    key = address_key(text).key
    assert address_key(key).key == key


_ADDRESS_CHARS = (
    "東京都区市町村大字小十文番地号丁目条西北第割の ノヶケが丘霞-ー－‐〒 　"
    "0123456789０１２３〇一二三四五六七八九十百千室棟メゾン\u3099か"
)


@given(st.text(alphabet=_ADDRESS_CHARS, max_size=30))
def test_address_key_idempotent_on_address_like_text(text: str) -> None:
    result = address_key(text)
    assert address_key(result.key).key == result.key
    assert " " not in result.key
