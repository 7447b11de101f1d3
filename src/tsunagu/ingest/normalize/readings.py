"""Keys and display forms for name readings (フリガナ / ふりがな).

Departments record readings in hiragana, full- or half-width katakana, with or
without long vowel marks, and with old kana (ヲ, ヰ, ヱ) or ヴ spellings.
``reading_key`` folds all of those to one katakana spelling for matching;
``reading_display`` only tidies the text for showing it to a person.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["is_katakana", "reading_display", "reading_key"]

# Spacing (non-combining) sound marks: NFKC turns them into space + combining
# mark, which would split ウ゛ into ウ and a stray mark. Mapping them to the
# combining marks first lets NFKC compose ヴ.
_SPACING_MARKS = {0x309B: "\u3099", 0x309C: "\u309a"}

_HIRA_TO_KATA: dict[int, str | None] = {cp: chr(cp + 0x60) for cp in range(0x3041, 0x3097)}
_HIRA_TO_KATA[0x309D] = "ヽ"
_HIRA_TO_KATA[0x309E] = "ヾ"

# ヴ + small vowel is a single syllable; it must be handled before small kana
# are enlarged, or ヴァ would become ブア instead of バ.
_VU_SYLLABLE = re.compile("ヴ([ァィェォ])")
_VU_TO_B = {"ァ": "バ", "ィ": "ビ", "ェ": "ベ", "ォ": "ボ"}

# fmt: off
_KEY_PAIRS = {
    # Small kana (the sokuon and yōon included: registries disagree on them).
    "ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ", "ッ": "ツ",
    "ャ": "ヤ", "ュ": "ユ", "ョ": "ヨ", "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ",
    "ㇰ": "ク", "ㇱ": "シ", "ㇲ": "ス", "ㇳ": "ト", "ㇴ": "ヌ", "ㇵ": "ハ",
    "ㇶ": "ヒ", "ㇷ": "フ", "ㇸ": "ヘ", "ㇹ": "ホ", "ㇺ": "ム", "ㇻ": "ラ",
    "ㇼ": "リ", "ㇽ": "ル", "ㇾ": "レ", "ㇿ": "ロ",
    # Sounds that modern pronunciation merged.
    "ヂ": "ジ", "ヅ": "ズ", "ヲ": "オ", "ヰ": "イ", "ヱ": "エ",
    "ヴ": "ブ", "ヷ": "バ", "ヸ": "ビ", "ヹ": "ベ", "ヺ": "ボ",
}
# fmt: on
# Long vowel marks and the dashes people type in their place, separators.
_KEY_REMOVE = "ー-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2053~\u301c\u30a0・·\u2027\u200b\u200c\u200d\u2060\ufeff"
_WHITESPACE = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_KEY_TABLE: dict[int, str | None] = {ord(k): v for k, v in _KEY_PAIRS.items()}
_KEY_TABLE.update({ord(ch): None for ch in _KEY_REMOVE + _WHITESPACE})

_KATAKANA_TEXT = re.compile(r"[\u30a1-\u30fa\u30fc-\u30fe\u31f0-\u31ff\u3099-\u309c・\s]+")
_KATAKANA_LETTER = re.compile(r"[\u30a1-\u30fa\u31f0-\u31ff]")


def _to_katakana(text: str) -> str:
    if "\u309b" in text or "\u309c" in text:
        text = text.translate(_SPACING_MARKS)
    return unicodedata.normalize("NFKC", text).translate(_HIRA_TO_KATA)


def _reading_key_once(text: str) -> str:
    kana = _to_katakana(text)
    if "ヴ" in kana:
        kana = _VU_SYLLABLE.sub(lambda m: _VU_TO_B[m.group(1)], kana)
    return kana.translate(_KEY_TABLE)


@lru_cache(maxsize=1 << 16)
def reading_key(text: str) -> str:
    """Return the match key for a reading.

    NFKC (half-width katakana become full width), hiragana → katakana,
    ヴァ/ヴィ/ヴ/ヴェ/ヴォ → バ/ビ/ブ/ベ/ボ, small kana → large, ヂ→ジ, ヅ→ズ,
    ヲ→オ, ヰ→イ, ヱ→エ; long vowel marks, dashes, ・ and all spaces removed.
    """
    key = _reading_key_once(text)
    # Removing a mark can put a kana next to a combining sound mark that
    # NFKC would compose; rerun until stable so the key is idempotent.
    for _ in range(3):
        if unicodedata.is_normalized("NFKC", key):
            break
        key = _reading_key_once(key)
    return key


def reading_display(text: str) -> str:
    """Return the reading for display: NFKC, katakana, one full-width space.

    Runs of whitespace of any width become a single full-width space between
    family and given reading; nothing else is folded.
    """
    return "\u3000".join(_to_katakana(text).split())


def is_katakana(text: str) -> bool:
    """True when ``text`` is full-width katakana (with ー, ・ and spaces allowed).

    At least one katakana letter is required; half-width katakana and
    hiragana are not accepted (run ``reading_display`` first to convert them).
    """
    return bool(_KATAKANA_TEXT.fullmatch(text)) and bool(_KATAKANA_LETTER.search(text))
