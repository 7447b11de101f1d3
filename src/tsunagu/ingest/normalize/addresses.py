"""Match keys for Japanese addresses.

The same dwelling reaches us as ``3丁目12番5号``, ``三丁目十二番地五``,
``３－１２－５`` or ``3-12-5 メゾン桜201号室``. ``address_key`` reduces each
to a key in which the street number is written ``3-12-5`` and the building
and room, which departments record inconsistently, are split off.

The prefecture and municipality are kept as written: callers pass the whole
string and decide themselves whether to compare with or without them.

Limits, on purpose: kanji numerals are converted only next to address units
(丁目, 番, 号, 地割, 条) so that place names such as 四日市, 八王子 or 三番町
stay intact; at most three numbers (chome-ban-go) form the street number and
any further ones (``1-2-3-201``) are treated as the room.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from tsunagu.ingest.normalize.names import fold_variant_kanji

__all__ = ["AddressKey", "address_key", "address_match_key", "kanji_to_int"]

_KANJI_DIGIT = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNIT = {"十": 10, "百": 100, "千": 1000}
_KANJI_RUN = "[〇一二三四五六七八九十百千]+"
_HYPHENS = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"  # after NFKC; ー handled apart

# A leading postal code is not part of the address proper.
_POSTAL_PREFIX = re.compile(r"^\s*〒?\s*\d{3}\s*-\s*\d{4}(?!\d)\s*")
# 大字/小字 are administrative labels many systems omit; 字 alone too, except
# inside words where it is part of the name (十字, 文字, ...).
_AZA = re.compile(r"大字|小字|(?<![十文赤数名漢黒題])字")
# ヶ/ケ/が/ヵ/ガ and の/ノ between kanji are spelling variants of one particle.
# (The character class comes first so the scan skips quickly; the lookbehind
# then re-checks the character before it.)
_KE = re.compile(r"[ヶケヵがガ](?<=[\u3400-\u9fff々][ヶケヵがガ])(?=[\u3400-\u9fff])")
_NO = re.compile(r"[のノ](?<=[\u3400-\u9fff々][のノ])(?=[\u3400-\u9fff])")
_HAS_KANJI_NUMERAL = re.compile(_KANJI_RUN)
# Kanji numerals directly before a unit (三丁目, 十二番地, 五号) ...
_KANJI_BEFORE_UNIT = re.compile(
    rf"{_KANJI_RUN}(?=\s*(?:丁目|番地|番(?![町丁])|号|地割|条[東西南北通]|[{_HYPHENS}]\s*[0-9〇一二三四五六七八九十百千]))"
)
# ... or directly after one and not followed by more of a place name (番地五).
_KANJI_AFTER_UNIT = re.compile(
    rf"(丁目|番地[のノ]?|番[のノ]?|号[のノ]?|[{_HYPHENS}])(\s*)({_KANJI_RUN})(?![\u3400-\u9fff々])"
)
# Dash look-alikes (including the long vowel mark people type) between digits.
# Spaces around a plain hyphen are left for _STREET, which allows them.
_DIGIT_DASH = re.compile(rf"[{_HYPHENS}ー](?:(?<=\d[{_HYPHENS}ー])|(?<=\d\s[{_HYPHENS}ー]))\s?(?=\d)")
_UNIT = r"(?:丁目|番地|番(?![町丁])|号(?![室棟館]))"
_STREET = re.compile(rf"\d+(?:\s*(?:{_UNIT}\s*[-のノ]?|-|[のノ])\s*\d+)*(?:\s*{_UNIT})?")
# A number followed by one of these belongs to the place name (北1条, 第2地割).
_PLACE_NUMBER_FOLLOWER = re.compile(r"\s*(?:[条線区町村市郡番丁]|地割|地区)")
_DIGITS = re.compile(r"\d+")
_BUILDING_TRIM = " \t-、,。."


def kanji_to_int(numeral: str) -> int:
    """Convert a kanji numeral (二十三, 百五, 千九百八十九, 二〇二四) to an int.

    Both positional (十/百/千) and digit-by-digit (〇 style) writing are
    accepted. Raises ValueError for anything else.
    """
    if not numeral:
        raise ValueError("empty kanji numeral")
    total = 0
    current = 0
    for ch in numeral:
        digit = _KANJI_DIGIT.get(ch)
        if digit is not None:
            current = current * 10 + digit
            continue
        unit = _KANJI_UNIT.get(ch)
        if unit is None:
            raise ValueError(f"not a kanji numeral: {numeral!r}")
        total += (current or 1) * unit
        current = 0
    return total + current


@dataclass(frozen=True, slots=True)
class AddressKey:
    """Normalised address.

    ``key`` is ``place + number`` without spaces and without the building;
    ``place`` is everything before the street number, ``number`` the street
    number in hyphen form (``"3-12-5"``) or None when none was found, and
    ``building`` the building name and/or room as written (NFKC, single spaces).
    """

    key: str
    place: str
    number: str | None
    building: str | None


def _numeral(run: str) -> str:
    # Street numbers are short; very long runs are not numbers worth reading
    # and would hit Python's int→str digit limit.
    return str(kanji_to_int(run)) if len(run) <= 12 else run


def _kanji_before(m: re.Match[str]) -> str:
    return _numeral(m.group(0))


def _kanji_after(m: re.Match[str]) -> str:
    return m.group(1) + m.group(2) + _numeral(m.group(3))


def _prepare(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    s = _POSTAL_PREFIX.sub("", s)
    if "字" in s:
        s = _AZA.sub("", s)
    s = fold_variant_kanji(s)
    if _HAS_KANJI_NUMERAL.search(s):
        s = _KANJI_BEFORE_UNIT.sub(_kanji_before, s)
        s = _KANJI_AFTER_UNIT.sub(_kanji_after, s)
    return _DIGIT_DASH.sub("-", s)


def _clean_place(s: str) -> str:
    # Particles are unified only once spaces are gone (霞 ヶ 丘) and numerals
    # are converted, so that 番地の四 has already been read as a number.
    s = "".join(s.split())
    return _NO.sub("ノ", _KE.sub("ケ", s))


def _find_street(s: str) -> re.Match[str] | None:
    for m in _STREET.finditer(s):
        if not _PLACE_NUMBER_FOLLOWER.match(s, m.end()):
            return m
    return None


def _address_key_once(text: str) -> AddressKey:
    s = _prepare(text)
    m = _find_street(s)
    if m is None:
        place = _clean_place(s)
        return AddressKey(key=place, place=place, number=None, building=None)
    numbers = _DIGITS.findall(m.group(0))
    number = "-".join(numbers[:3])
    tail = " ".join(s[m.end() :].split()).strip(_BUILDING_TRIM)
    extra = "-".join(numbers[3:])
    building = " ".join(p for p in (extra, tail) if p) or None
    place = _clean_place(s[: m.start()])
    return AddressKey(key=place + number, place=place, number=number, building=building)


@lru_cache(maxsize=1 << 16)
def address_key(text: str) -> AddressKey:
    """Normalise an address into an :class:`AddressKey`.

    NFKC; leading postal code dropped; 大字/小字/字 labels removed; ヶ/ケ/が/ヵ
    and の/ノ between kanji unified; variant kanji folded; kanji numerals next
    to address units turned into digits; 丁目/番地/番/号/の and every dash
    look-alike between numbers written as ``-``; the building and room after
    the street number split off; spaces removed from the key.
    """
    result = _address_key_once(text)
    # Removing spaces can join a base letter with a combining mark; make the
    # key stable under a second pass (address_key(k.key).key == k.key).
    if not unicodedata.is_normalized("NFKC", result.key):
        again = _address_key_once(result.key)
        result = AddressKey(again.key, again.place, again.number, result.building)
    return result


def address_match_key(text: str) -> str:
    """Shortcut for ``address_key(text).key``."""
    return address_key(text).key
