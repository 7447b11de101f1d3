"""Names in Latin letters as one comparable key: romanised from katakana, or folded as written.

A foreign resident's register record may be in katakana (グエン　ヴァン　アン) while a school writes
the name in Latin letters (Nguyen Van An); a Japanese child's passport spelling drops long vowels
(ユウキ → Yuki, オオノ → Ono). Both sides are reduced to the same loose key: modified Hepburn from
katakana, then folded — long vowels shortened, Kunrei spellings (si, tu, hu) read as Hepburn, m
before b/p/m read as n — so the spellings people actually write agree. The key is for comparison
only, never shown.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_DIGRAPHS = {
    "キャ": "kya", "キュ": "kyu", "キョ": "kyo", "シャ": "sha", "シュ": "shu", "ショ": "sho", "シェ": "she",
    "チャ": "cha", "チュ": "chu", "チョ": "cho", "チェ": "che", "ニャ": "nya", "ニュ": "nyu", "ニョ": "nyo",
    "ヒャ": "hya", "ヒュ": "hyu", "ヒョ": "hyo", "ミャ": "mya", "ミュ": "myu", "ミョ": "myo", "リャ": "rya",
    "リュ": "ryu", "リョ": "ryo", "ギャ": "gya", "ギュ": "gyu", "ギョ": "gyo", "ジャ": "ja", "ジュ": "ju",
    "ジョ": "jo", "ジェ": "je", "ビャ": "bya", "ビュ": "byu", "ビョ": "byo", "ピャ": "pya", "ピュ": "pyu",
    "ピョ": "pyo", "ファ": "fa", "フィ": "fi", "フェ": "fe", "フォ": "fo", "ティ": "ti", "ディ": "di",
    "トゥ": "tu", "ドゥ": "du", "ウィ": "wi", "ウェ": "we", "ウォ": "wo", "ヴァ": "va", "ヴィ": "vi",
    "ヴェ": "ve", "ヴォ": "vo", "ツァ": "tsa", "デュ": "dyu", "テュ": "tyu",
}
_MONO = dict(zip(
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
    "ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴァィゥェォャュョ",
    ["a", "i", "u", "e", "o", "ka", "ki", "ku", "ke", "ko", "sa", "shi", "su", "se", "so", "ta", "chi", "tsu", "te",
     "to", "na", "ni", "nu", "ne", "no", "ha", "hi", "fu", "he", "ho", "ma", "mi", "mu", "me", "mo", "ya", "yu",
     "yo", "ra", "ri", "ru", "re", "ro", "wa", "o", "n", "ga", "gi", "gu", "ge", "go", "za", "ji", "zu", "ze", "zo",
     "da", "ji", "zu", "de", "do", "ba", "bi", "bu", "be", "bo", "pa", "pi", "pu", "pe", "po", "vu", "a", "i", "u",
     "e", "o", "ya", "yu", "yo"],
    strict=True,
))

# Kunrei and other spellings read as Hepburn (applied to both sides, so only agreement matters).
_SPELLINGS = (
    ("sya", "sha"), ("syu", "shu"), ("syo", "sho"), ("tya", "cha"), ("tyu", "chu"), ("tyo", "cho"),
    ("zya", "ja"), ("zyu", "ju"), ("zyo", "jo"), ("jya", "ja"), ("jyu", "ju"), ("jyo", "jo"),
    ("si", "shi"), ("ti", "chi"), ("tu", "tsu"), ("zi", "ji"), ("di", "ji"), ("du", "zu"),
)
_HU = re.compile(r"(?<![sc])hu")
_LONG_VOWELS = re.compile(r"(?<=[aeiou])h(?![aeiouy])|(?<=o)[ou]|(?<=u)u|(?<=a)a|(?<=e)e")
_M_BEFORE_LABIAL = re.compile(r"m(?=[bpm])")
_NOT_LETTERS = re.compile(r"[^a-z]")


def _hepburn(katakana: str) -> str:
    out: list[str] = []
    i = 0
    double_next = False
    while i < len(katakana):
        pair, char = katakana[i:i + 2], katakana[i]
        if char == "ッ":
            double_next = True
            i += 1
            continue
        if char == "ー":
            i += 1
            continue
        syllable = _DIGRAPHS.get(pair)
        step = 2 if syllable else 1
        if syllable is None:
            syllable = _MONO.get(char, "")
        if double_next and syllable:
            syllable = ("t" if syllable.startswith("ch") else syllable[0]) + syllable
        double_next = False
        out.append(syllable)
        i += step
    return "".join(out)


def _fold(latin: str) -> str:
    text = _NOT_LETTERS.sub("", latin.lower())
    for written, read in _SPELLINGS:
        text = text.replace(written, read)
    text = _HU.sub("fu", text)
    text = _M_BEFORE_LABIAL.sub("n", text)
    return _LONG_VOWELS.sub("", text)


def _is_katakana(text: str) -> bool:
    return all("\u30a0" <= ch <= "\u30ff" for ch in text)


@lru_cache(maxsize=200_000)
def latin_key(text: str | None) -> str | None:
    """The loose Latin key of a name written in Latin letters or in katakana; None for anything else
    (kanji has no reading of its own here: readings come from the recorded kana)."""
    if not text:
        return None
    folded = unicodedata.normalize("NFKC", text).replace(" ", "").replace("\u3000", "")
    if not folded:
        return None
    if folded.isascii():
        key = _fold(folded)
    elif _is_katakana(folded):
        key = _fold(_hepburn(folded))
    else:
        return None
    return key or None
