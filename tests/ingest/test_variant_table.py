"""Consistency checks for the curated variant kanji table (package data)."""

from __future__ import annotations

import unicodedata
from importlib import resources

from tsunagu.ingest.normalize import VariantRow, name_key, variant_table

COMPAT_SOURCE = "CJK Compatibility Ideograph (Unicode)"


def test_table_ships_as_package_data_with_header() -> None:
    text = resources.files("tsunagu.ingest.normalize").joinpath("variant_kanji.tsv").read_text("utf-8")
    assert text.splitlines()[0] == "variant\tstandard\tsource"


def test_table_has_enough_rows() -> None:
    assert len(variant_table()) >= 80


def test_every_row_has_a_source() -> None:
    assert all(isinstance(row, VariantRow) and row.source.strip() for row in variant_table())


def test_no_variant_maps_to_itself() -> None:
    assert [row for row in variant_table() if row.variant == row.standard] == []


def test_variants_are_unique() -> None:
    variants = [row.variant for row in variant_table()]
    assert len(variants) == len(set(variants))


def test_no_chains() -> None:
    variants = {row.variant for row in variant_table()}
    assert [row for row in variant_table() if row.standard in variants] == []


def test_rows_are_not_dead_after_nfkc() -> None:
    # Folding runs after NFKC: a variant NFKC rewrites would never be seen,
    # and a standard form NFKC rewrites would make keys unstable.
    for row in variant_table():
        assert unicodedata.normalize("NFKC", row.variant) == row.variant, row
        assert unicodedata.normalize("NFKC", row.standard) == row.standard, row


def test_listed_compatibility_ideographs_are_not_folded_by_nfkc() -> None:
    compat = [row for row in variant_table() if row.source == COMPAT_SOURCE]
    assert compat, "the table should cover the compatibility ideographs NFKC leaves alone"
    for row in compat:
        assert unicodedata.name(row.variant).startswith("CJK COMPATIBILITY IDEOGRAPH"), row
        assert unicodedata.normalize("NFKC", row.variant) == row.variant, row


def test_every_row_is_applied_by_name_key() -> None:
    for row in variant_table():
        assert name_key(row.variant) == row.standard, row


def test_brief_pairs_present() -> None:
    table = {row.variant: row.standard for row in variant_table()}
    # fmt: off
    expected = {
        "國": "国", "澤": "沢", "邊": "辺", "邉": "辺", "齋": "斎", "齊": "斎",
        "髙": "高", "﨑": "崎", "嵜": "崎", "碕": "崎", "嶋": "島", "𠮷": "吉",
        "冨": "富", "濱": "浜", "廣": "広", "櫻": "桜", "曾": "曽", "瀨": "瀬",
        "德": "徳", "惠": "恵", "龍": "竜", "槇": "槙", "藪": "薮", "峯": "峰",
        "淵": "渕",
    }
    # fmt: on
    assert {k: table.get(k) for k in expected} == expected
