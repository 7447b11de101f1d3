"""Name and place lists, kana forms and the character-level mess real exports carry."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[Any]

# Variant kanji (異体字) actually seen in municipal data. Every variant is in CP932 except 𠮷,
# which a CP932 host system can only hold as a 外字 and therefore exports as 吉.
VARIANTS: dict[str, str] = {
    "高": "髙",
    "崎": "﨑",
    "辺": "邊",
    "斎": "齋",
    "沢": "澤",
    "国": "國",
    "浜": "濱",
    "島": "嶋",
    "吉": "𠮷",
}
NOT_IN_CP932 = {"𠮷": "吉"}
_FLIP = {**VARIANTS, **{v: k for k, v in VARIANTS.items()}}
_FLIP_TABLE = str.maketrans(_FLIP)
_CP932_FOLD = str.maketrans(NOT_IN_CP932)
_CP932_VARIANT = {k: v for k, v in VARIANTS.items() if v not in NOT_IN_CP932}
_VARIANT_TABLE = str.maketrans(VARIANTS)


def has_variant_char(text: str) -> bool:
    return any(ch in _FLIP for ch in text)


def flip_variants(text: str) -> str:
    """Swap every variant-capable character to its other form (高⇄髙)."""
    return text.translate(_FLIP_TABLE)


def to_variant(text: str) -> str:
    return text.translate(_VARIANT_TABLE)


def fold_for_cp932(text: str) -> str:
    return text.translate(_CP932_FOLD)


def _half_width_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0xFF61, 0xFFA0):
        half = chr(code)
        full = unicodedata.normalize("NFKC", half)
        if len(full) == 1:
            table.setdefault(ord(full), half)
        for mark, half_mark in (("\u3099", "ﾞ"), ("\u309a", "ﾟ")):
            combined = unicodedata.normalize("NFC", full + mark)
            if len(combined) == 1:
                table.setdefault(ord(combined), half + half_mark)
    table[ord("ヴ")] = "ｳﾞ"
    table[ord("　")] = " "
    return table


HALF_WIDTH = _half_width_table()
HIRAGANA = {code: chr(code - 0x60) for code in range(0x30A1, 0x30F7)}
# ゔ is outside CP932; legacy systems keep the katakana ヴ inside hiragana readings
HIRAGANA[ord("ヴ")] = "ヴ"


def to_half_width(kana: str) -> str:
    return kana.translate(HALF_WIDTH)


def to_hiragana(kana: str) -> str:
    return kana.translate(HIRAGANA)


def reading_form(kana: str, form: str) -> str:
    """Write a full-width katakana reading in ``form``: full, half or hira."""
    if form == "half":
        return to_half_width(kana)
    if form == "hira":
        return to_hiragana(kana)
    return kana


# Confusions typists really make between kana (shape or sound), used for kana typos.
_TYPO_PAIRS = [
    ("シ", "ツ"),
    ("ソ", "ン"),
    ("ウ", "ユ"),
    ("ハ", "バ"),
    ("ヒ", "ビ"),
    ("タ", "ダ"),
    ("カ", "ガ"),
    ("ヨ", "ョ"),
    ("ヤ", "ャ"),
    ("ユ", "ュ"),
    ("ツ", "ッ"),
    ("オ", "ウ"),
    ("ジ", "ヂ"),
    ("ズ", "ヅ"),
]
_TYPO: dict[str, list[str]] = {}
for _a, _b in _TYPO_PAIRS:
    _TYPO.setdefault(_a, []).append(_b)
    _TYPO.setdefault(_b, []).append(_a)


def kana_typo(kana: str, pick: float) -> str:
    """Change one kana (confusable pair) or the length of a long vowel; ``pick`` in [0, 1)."""
    positions = [i for i, ch in enumerate(kana) if ch in _TYPO]
    if "ウ" in kana and pick < 0.25:
        i = kana.index("ウ")
        if i > 0:
            return kana[:i] + "ー" + kana[i + 1 :]
    if not positions:
        chars = [i for i, ch in enumerate(kana) if "\u30a1" <= ch <= "\u30f6"]
        if len(chars) < 2:
            return kana + "ー"
        i = chars[int(pick * len(chars)) % len(chars)]
        return kana[:i] + kana[i + 1 :]
    i = positions[int(pick * len(positions)) % len(positions)]
    options = _TYPO[kana[i]]
    return kana[:i] + options[int(pick * 7919) % len(options)] + kana[i + 1 :]


KANJI_DIGITS = "〇一二三四五六七八九"


def kanji_number(n: int) -> str:
    """1–99 as 漢数字 the way addresses write them (十二, 二十三)."""
    if n < 10:
        return KANJI_DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else KANJI_DIGITS[tens]
    return head + "十" + (KANJI_DIGITS[ones] if ones else "")


@dataclass(frozen=True)
class NameList:
    names: Arr
    readings: Arr
    romaji: Arr
    weights: npt.NDArray[np.float64]
    groups: Arr  # region group of foreign names (VN, CN, …), "" for Japanese ones

    def sample(self, rng: np.random.Generator, size: int) -> npt.NDArray[np.int64]:
        return rng.choice(len(self.names), size=size, p=self.weights).astype(np.int64)


def _rows(filename: str) -> list[list[str]]:
    text = (resources.files("tsunagu.synth") / "data" / filename).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return [ln.split("\t") for ln in lines[1:]]


def _name_list(
    rows: list[list[str]], name: int, reading: int, romaji: int | None, weight: int, group: int | None = None
) -> NameList:
    w = np.array([float(r[weight]) for r in rows])
    return NameList(
        names=np.array([r[name] for r in rows], dtype=object),
        readings=np.array([r[reading] for r in rows], dtype=object),
        romaji=np.array([r[romaji] if romaji is not None else "" for r in rows], dtype=object),
        weights=w / w.sum(),
        groups=np.array([r[group] if group is not None else "" for r in rows], dtype=object),
    )


@dataclass(frozen=True)
class Lexicon:
    family: NameList
    given: dict[tuple[str, str], NameList]  # (sex M/F, cohort child/parent/elder)
    foreign_family: NameList
    foreign_given: dict[tuple[str, str], NameList]  # (sex, region group)
    towns: Arr
    town_readings: Arr
    town_chome: npt.NDArray[np.int64]
    town_weights: npt.NDArray[np.float64]
    buildings: Arr
    nurseries: Arr
    origins: Arr


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    family_rows = _rows("family_names.tsv")
    given_rows = _rows("given_names.tsv")
    given = {
        (sex, cohort): _name_list([r for r in given_rows if r[2] == sex and r[3] == cohort], 0, 1, None, 4)
        for sex in ("M", "F")
        for cohort in ("child", "parent", "elder")
    }
    foreign_given_rows = _rows("foreign_given_names.tsv")
    town_rows = _rows("towns.tsv")
    place_rows = _rows("places.tsv")
    tw = np.array([float(r[3]) for r in town_rows])
    return Lexicon(
        family=_name_list(family_rows, 0, 1, None, 2),
        given=given,
        foreign_family=_name_list(_rows("foreign_family_names.tsv"), 0, 0, 1, 3, group=2),
        foreign_given={
            (sex, grp): _name_list([r for r in foreign_given_rows if r[2] == sex and r[3] == grp], 0, 0, 1, 4)
            for sex in ("M", "F")
            for grp in sorted({r[3] for r in foreign_given_rows})
        },
        towns=np.array([r[0] for r in town_rows], dtype=object),
        town_readings=np.array([r[1] for r in town_rows], dtype=object),
        town_chome=np.array([int(r[2]) for r in town_rows], dtype=np.int64),
        town_weights=tw / tw.sum(),
        buildings=np.array([r[1] for r in place_rows if r[0] == "building"], dtype=object),
        nurseries=np.array([r[1] for r in place_rows if r[0] == "nursery"], dtype=object),
        origins=np.array([r[1] for r in place_rows if r[0] == "origin"], dtype=object),
    )


TOWN_PREFIXES = ("", "東", "西", "南", "北", "新", "上", "下", "中")


def town_table(count: int) -> tuple[Arr, npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The first ``count`` 町名 of つなぐ市, extending the base list with 東/西/新… for big cities."""
    lex = lexicon()
    base = len(lex.towns)
    names: list[str] = []
    chome: list[int] = []
    weights: list[float] = []
    for i in range(count):
        prefix, j = divmod(i, base)
        prefix %= len(TOWN_PREFIXES)
        names.append(TOWN_PREFIXES[prefix] + str(lex.towns[j]))
        chome.append(int(lex.town_chome[j]))
        weights.append(float(lex.town_weights[j]))
    w = np.array(weights)
    return np.array(names, dtype=object), np.array(chome, dtype=np.int64), w / w.sum()
