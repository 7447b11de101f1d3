"""Match keys for personal names written in kanji, kana or romaji.

The key is deliberately lossy: two spellings that a clerk could have typed for
the same person (old/new character forms, full/half width, spacing, IVS glyph
selectors) get the same key. Callers keep the original spelling next to it.

Variant kanji come from ``variant_kanji.tsv`` (package data), one code point on
each side. Folding runs after NFKC and after variation selectors have been
stripped, so IVS glyph variants (葛 + U+E0100, 辻 + U+E0101) need no row of
their own, and a compatibility ideograph that NFKC already folds would be a
dead row (the loader rejects multi-code-point rows, the tests dead ones).
Direction decisions worth knowing:

* 淵 → 渕: either way works for a key; 渕 is the JIS level-1 form most
  registrations use for surnames (田渕, 渕上).
* 齊, 齋 and 斉 all → 斎, so 斎藤/齊藤/齋藤/斉藤 share a key. Offices substitute
  斉 for 齊 (its real new form) as often as they confuse it with 斎; the reading
  key keeps given names such as 斉 (ひとし) apart from 斎 (いつき).
* 龍 → 竜 even though 龍 is a name character of its own: missing a match costs
  more than a wider block, and the reading key still separates people.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

__all__ = [
    "VariantRow",
    "fold_variant_kanji",
    "name_key",
    "split_name",
    "variant_table",
]

_PACKAGE = __name__.rpartition(".")[0]
_TABLE_FILE = "variant_kanji.tsv"
_HEADER = ("variant", "standard", "source")

# Variation selectors carry glyph choice only (IVS, emoji/text presentation);
# NFKC keeps them, so they are removed explicitly.
_SELECTOR_CLASS = "\ufe00-\ufe0f\U000e0100-\U000e01ef"


class VariantRow(NamedTuple):
    """One row of the curated variant table."""

    variant: str
    standard: str
    source: str


@lru_cache(maxsize=1)
def variant_table() -> tuple[VariantRow, ...]:
    """Return the curated variant → standard rows, validated on first load.

    Raises ValueError when the data file is malformed; the module loads the
    table at import, so a bad edit fails loudly instead of producing wrong keys.
    """
    text = resources.files(_PACKAGE).joinpath(_TABLE_FILE).read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or tuple(lines[0].split("\t")) != _HEADER:
        raise ValueError(f"{_TABLE_FILE}: first line must be the header {_HEADER!r}")
    rows: list[VariantRow] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{_TABLE_FILE}:{lineno}: expected 3 tab-separated fields")
        variant, standard, source = (f.strip() for f in fields)
        if len(variant) != 1 or len(standard) != 1:
            raise ValueError(f"{_TABLE_FILE}:{lineno}: variant and standard must be one code point")
        if variant in seen:
            raise ValueError(f"{_TABLE_FILE}:{lineno}: duplicate variant {variant!r}")
        seen.add(variant)
        rows.append(VariantRow(variant, standard, source))
    return tuple(rows)


def _build_folder() -> tuple[re.Pattern[str], dict[str, str]]:
    mapping = {row.variant: row.standard for row in variant_table()}
    # A regex over the few hundred affected characters is several times faster
    # than str.translate with a dict on text that mostly needs no change.
    pattern = re.compile("[" + _SELECTOR_CLASS + "".join(re.escape(v) for v in mapping) + "]")
    return pattern, mapping


_FOLD_PATTERN, _FOLD_MAP = _build_folder()


def _fold_char(m: re.Match[str]) -> str:
    return _FOLD_MAP.get(m.group(), "")


def fold_variant_kanji(text: str) -> str:
    """Strip variation selectors and fold variant kanji to their standard form.

    Expects NFKC input (compatibility ideographs are NFKC's job). Used by the
    name and address keys; nothing else is changed.
    """
    return _FOLD_PATTERN.sub(_fold_char, text)


def _name_key_once(text: str) -> str:
    folded = fold_variant_kanji(unicodedata.normalize("NFKC", text)).upper()
    if folded.isalpha():
        return folded
    # Spaces, middle dots, digits and punctuation are typing noise in a name.
    return "".join(ch for ch in folded if ch.isalpha())


@lru_cache(maxsize=1 << 16)
def name_key(text: str) -> str:
    """Return the match key for a personal name.

    NFKC, variation selectors removed, variant kanji folded, Latin letters
    upper-cased, and everything that is not a letter (spaces of any width,
    ・ and ･, punctuation) dropped. Hiragana and katakana are kept apart on
    purpose: the reading key is the place to compare sounds.
    """
    key = _name_key_once(text)
    # Dropping characters can leave a base letter next to a combining mark
    # that NFKC would compose; repeat until stable so the key is idempotent.
    for _ in range(3):
        if unicodedata.is_normalized("NFKC", key):
            break
        key = _name_key_once(key)
    return key


def split_name(text: str) -> tuple[str, str | None]:
    """Split a name into (family, given) on the first run of whitespace.

    Half- and full-width spaces both count. Without whitespace the whole
    (stripped) text is returned with ``None`` for the given name; the parts
    keep their original spelling.
    """
    parts = text.split(maxsplit=1)
    if not parts:
        return ("", None)
    if len(parts) == 1:
        return (parts[0], None)
    return (parts[0], parts[1].rstrip())
