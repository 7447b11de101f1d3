"""Table-driven tests for the name match key and family/given split."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.ingest.normalize import fold_variant_kanji, name_key, split_name

NAME_KEYS = [
    ("山田太郎", "山田太郎"),
    ("山田 太郎", "山田太郎"),
    ("山田　太郎", "山田太郎"),
    ("  山田   太郎  ", "山田太郎"),
    ("山田・太郎", "山田太郎"),
    ("山田･太郎", "山田太郎"),
    ("渡邊 健", "渡辺健"),
    ("渡邉 健", "渡辺健"),
    ("齋藤 花子", "斎藤花子"),
    ("齊藤 花子", "斎藤花子"),
    ("斉藤 花子", "斎藤花子"),
    ("髙橋 一郎", "高橋一郎"),
    ("﨑山 翔", "崎山翔"),
    ("山嵜 翔", "山崎翔"),
    ("川碕 翔", "川崎翔"),
    ("中嶋 舞", "中島舞"),
    ("𠮷田 結衣", "吉田結衣"),
    ("冨田 蓮", "富田蓮"),
    ("長濱 陽菜", "長浜陽菜"),
    ("廣瀨 大和", "広瀬大和"),
    ("櫻井 美咲", "桜井美咲"),
    ("曾根 悠真", "曽根悠真"),
    ("德永 蒼", "徳永蒼"),
    ("惠 さくら", "恵さくら"),
    ("龍之介", "竜之介"),
    ("槇原 湊", "槙原湊"),
    ("藪内 凛", "薮内凛"),
    ("峯岸 凜", "峰岸凛"),
    ("淵上 樹", "渕上樹"),
    ("國分 拓海", "国分拓海"),
    ("澤田 葵", "沢田葵"),
    ("葛\U000e0100西 陽", "葛西陽"),
    ("辻\U000e0101 結", "辻結"),
    ("神\ufe00田 蒼", "神田蒼"),
    ("海野 蒼", "海野蒼"),  # compatibility ideograph 海 (U+FA45) folded by NFKC
    ("yamada taro", "YAMADATARO"),
    ("Yamada Taro", "YAMADATARO"),
    ("ｙａｍａｄａ　ｔａｒｏ", "YAMADATARO"),
    ("O'Brien Mary-Jane", "OBRIENMARYJANE"),
    ("やまだ たろう", "やまだたろう"),
    ("ヤマダ タロウ", "ヤマダタロウ"),
    ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ"),
    ("佐々木 小次郎", "佐々木小次郎"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), NAME_KEYS)
def test_name_key(text: str, expected: str) -> None:
    assert name_key(text) == expected


def test_name_key_keeps_kana_scripts_apart() -> None:
    # Comparing sounds is the reading key's job; the name key must not merge
    # a hiragana given name with a katakana one.
    assert name_key("さくら") != name_key("サクラ")


SPLITS = [
    ("山田 太郎", ("山田", "太郎")),
    ("山田　太郎", ("山田", "太郎")),
    ("山田  太郎", ("山田", "太郎")),
    ("  山田 太郎  ", ("山田", "太郎")),
    ("山田太郎", ("山田太郎", None)),
    ("渡邊　健", ("渡邊", "健")),
    ("Garcia Maria Luisa", ("Garcia", "Maria Luisa")),
    ("", ("", None)),
    ("   ", ("", None)),
]


@pytest.mark.parametrize(("text", "expected"), SPLITS)
def test_split_name(text: str, expected: tuple[str, str | None]) -> None:
    assert split_name(text) == expected


def test_fold_variant_kanji_only_touches_variants() -> None:
    assert fold_variant_kanji("渡邊 太郎・髙橋") == "渡辺 太郎・高橋"


@given(st.text())
def test_name_key_never_raises_and_is_idempotent(text: str) -> None:
    key = name_key(text)
    assert name_key(key) == key


_NAME_CHARS = "山田渡邊邉辺髙﨑𠮷齋 　・･ｱｲｳﾞﾟかが\u3099\u309a\U000e0100\ufe0fabcßǰΐ'-"


@given(st.text(alphabet=_NAME_CHARS, max_size=20))
def test_name_key_idempotent_on_name_like_text(text: str) -> None:
    key = name_key(text)
    assert name_key(key) == key
    assert " " not in key and "\u3000" not in key
