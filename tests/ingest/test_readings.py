"""Table-driven tests for reading (フリガナ) keys and display forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.ingest.normalize import is_katakana, reading_display, reading_key

READING_KEYS = [
    ("ヤマダ タロウ", "ヤマダタロウ"),
    ("やまだ たろう", "ヤマダタロウ"),
    ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ"),
    ("ヤマダ　タロウ", "ヤマダタロウ"),
    ("ヤマダ・タロウ", "ヤマダタロウ"),
    ("サトー", "サト"),
    ("サトウ", "サトウ"),
    ("ユーコ", "ユコ"),
    ("ユ－コ", "ユコ"),
    ("ユ‐コ", "ユコ"),
    ("ユ―コ", "ユコ"),
    ("ユ～コ", "ユコ"),
    ("ﾕｰｺ", "ユコ"),
    ("キョウコ", "キヨウコ"),
    ("きょうこ", "キヨウコ"),
    ("ハットリ", "ハツトリ"),
    ("リュウ", "リユウ"),
    ("クヮ", "クワ"),
    ("ヵヶ", "カケ"),
    ("ヴァイオリン", "バイオリン"),
    ("ヴィクトル", "ビクトル"),
    ("ヴェロニカ", "ベロニカ"),
    ("ヴォルフ", "ボルフ"),
    ("ヴ", "ブ"),
    ("ゔぁ", "バ"),
    ("ｳﾞｨ", "ビ"),
    ("ウ゛ィ", "ビ"),
    ("チヂミ", "チジミ"),
    ("ミカヅキ", "ミカズキ"),
    ("カヲル", "カオル"),
    ("ヰヱ", "イエ"),
    ("ㇰㇱ", "クシ"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), READING_KEYS)
def test_reading_key(text: str, expected: str) -> None:
    assert reading_key(text) == expected


DISPLAY = [
    ("やまだ たろう", "ヤマダ\u3000タロウ"),
    ("ﾔﾏﾀﾞ  ﾀﾛｳ", "ヤマダ\u3000タロウ"),
    ("  ヤマダ　タロウ ", "ヤマダ\u3000タロウ"),
    ("サトー", "サトー"),
    ("きょうこ", "キョウコ"),
]


@pytest.mark.parametrize(("text", "expected"), DISPLAY)
def test_reading_display(text: str, expected: str) -> None:
    assert reading_display(text) == expected


KATAKANA = [
    ("ヤマダ タロウ", True),
    ("ヤマダ　タロウ", True),
    ("サトー", True),
    ("ジョン・スミス", True),
    ("やまだ", False),
    ("ﾔﾏﾀﾞ", False),
    ("山田", False),
    ("ヤマダ1", False),
    ("ー", False),
    ("", False),
]


@pytest.mark.parametrize(("text", "expected"), KATAKANA)
def test_is_katakana(text: str, expected: bool) -> None:
    assert is_katakana(text) is expected


@given(st.text())
def test_reading_key_never_raises_and_is_idempotent(text: str) -> None:
    key = reading_key(text)
    assert reading_key(key) == key


_KANA = "あぁかがっゃゔゝアァカガッャヴヷヂヅヲヰヱーｰ－〜・ ｶﾞﾊﾟｳ゛゜\u3099\u309aㇰ"


@given(st.text(alphabet=_KANA, max_size=20))
def test_reading_key_on_kana_is_idempotent_and_katakana_only(text: str) -> None:
    key = reading_key(text)
    assert reading_key(key) == key
    assert not any("\u3041" <= ch <= "\u309f" and ch not in "\u3099\u309a" for ch in key)
    assert "ー" not in key and " " not in key


@given(st.text())
def test_reading_display_is_idempotent(text: str) -> None:
    shown = reading_display(text)
    assert reading_display(shown) == shown
