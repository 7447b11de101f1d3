"""The probabilistic linkage model: Splink settings built from the identifiers the sources carry.

Comparisons are named building blocks; the model uses only those whose columns some source
without 宛名番号 actually declares in its manifest, so another municipality's (or another
country's) sources link without code changes. The settings are plain JSON: saved with every run.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

MODEL_FORMAT = 1

Level = dict[str, Any]


def _null(*columns: str) -> Level:
    condition = " OR ".join(f"({c}_l IS NULL OR {c}_r IS NULL)" for c in columns)
    if len(columns) > 1:
        condition = " AND ".join(f"({c}_l IS NULL OR {c}_r IS NULL)" for c in columns)
    return {"sql_condition": condition, "label_for_charts": "欠損 / null", "is_null_level": True}


def _level(sql: str, label: str, **extra: Any) -> Level:
    return {"sql_condition": sql, "label_for_charts": label, **extra}


_ELSE: Level = {"sql_condition": "ELSE", "label_for_charts": "不一致 / else"}


# latin_given / latin_family: the name in Latin letters, as written or romanised from its kana
# reading (link/romaji.py), folded so that passport and school spellings agree (ユウキ, Yuki, Yuuki).
# They let a record with a Latin name meet its register record written in kana. Spelling slips and
# swapped names in Latin letters are compared by the generic profile's latin_name, where they are
# common; here the reading's own similarity level serves, and every level costs time on each pair.
# Surname written in the given name's column and the other way round (forms filled in Western
# order, or a system that swapped them): both names agree crosswise.
SWAPPED = "latin_given_l = latin_family_r AND latin_family_l = latin_given_r"


def given_name() -> dict[str, Any]:
    return {
        "output_column_name": "given_name",
        "comparison_description": "名（漢字・読み・ローマ字）",
        "comparison_levels": [
            _null("given_key", "given_reading_key", "latin_given"),
            _level("given_key_l = given_key_r", "名 漢字一致", tf_adjustment_column="given_key", tf_adjustment_weight=1.0),
            _level("given_reading_key_l = given_reading_key_r", "名 読み一致",
                   tf_adjustment_column="given_reading_key", tf_adjustment_weight=1.0),
            _level("latin_given_l = latin_given_r", "名 ローマ字一致"),
            _level("jaro_winkler_similarity(given_reading_key_l, given_reading_key_r) >= 0.9", "名 読み類似"),
            _ELSE,
        ],
    }


def family_name() -> dict[str, Any]:
    return {
        "output_column_name": "family_name",
        "comparison_description": "姓（漢字・読み・ローマ字・旧姓）",
        "comparison_levels": [
            _null("family_key", "family_reading_key", "latin_family"),
            _level("family_key_l = family_key_r", "姓 漢字一致", tf_adjustment_column="family_key", tf_adjustment_weight=1.0),
            _level("family_reading_key_l = family_reading_key_r", "姓 読み一致"),
            _level("latin_family_l = latin_family_r", "姓 ローマ字一致"),
            _level("list_contains(previous_family_keys_l, family_key_r)", "旧姓と一致"),
            _level("jaro_winkler_similarity(family_reading_key_l, family_reading_key_r) >= 0.9", "姓 読み類似"),
            _ELSE,
        ],
    }


def latin_name(part: str, label: str) -> Callable[[], dict[str, Any]]:
    """A name in Latin letters only (generic profile): no kanji or kana levels to evaluate."""

    def build() -> dict[str, Any]:
        return {
            "output_column_name": f"{part}_name",
            "comparison_description": f"{label}（ローマ字）",
            "comparison_levels": [
                _null(f"latin_{part}"),
                _level(f"latin_{part}_l = latin_{part}_r", f"{label} 一致", tf_adjustment_column=f"latin_{part}",
                       tf_adjustment_weight=1.0),
                _level(f"jaro_winkler_similarity(latin_{part}_l, latin_{part}_r) >= 0.9", f"{label} 類似"),
                _level(SWAPPED, "姓と名の入れ替わり"),
                _ELSE,
            ],
        }

    return build


def birth_date() -> dict[str, Any]:
    # birth_text is the date as ISO text, made once per record (see probabilistic.DERIVED_COLUMNS).
    return {
        "output_column_name": "birth_date",
        "comparison_description": "生年月日（完全一致・1桁違い・数字の入れ替わり・月日入れ替わり）",
        "comparison_levels": [
            _null("birth_date"),
            _level("birth_date_l = birth_date_r", "生年月日 一致"),
            # birth_text is always YYYY-MM-DD (ingest refuses dates before Meiji), so one wrong digit
            # is a Hamming distance of 1: ten times cheaper than Levenshtein on every pair.
            _level("hamming(birth_text_l, birth_text_r) = 1", "1桁違い"),
            # The day's two digits swapped (12 typed as 21), or the year's last two (1985 as 1958);
            # birth_year, birth_month, birth_day are made once per record (probabilistic.DERIVED_COLUMNS).
            _level("(birth_year_l = birth_year_r AND birth_month_l = birth_month_r"
                   " AND birth_day_l = birth_day_r % 10 * 10 + birth_day_r // 10)"
                   " OR (birth_month_l = birth_month_r AND birth_day_l = birth_day_r"
                   " AND birth_year_l // 100 = birth_year_r // 100"
                   " AND birth_year_l % 100 = birth_year_r % 10 * 10 + birth_year_r % 100 // 10)",
                   "隣り合う数字の入れ替わり"),
            _level("birth_year_l = birth_year_r AND birth_month_l = birth_day_r AND birth_day_l = birth_month_r",
                   "月日の入れ替わり"),
            _ELSE,
        ],
    }


def sex() -> dict[str, Any]:
    return {
        "output_column_name": "sex",
        "comparison_description": "性別",
        "comparison_levels": [_null("sex"), _level("sex_l = sex_r", "性別 一致"), _ELSE],
    }


def address() -> dict[str, Any]:
    # town_key is the address without its block numbers, made once per record rather than by a
    # regular expression on both sides of every pair (most of the model's time when it was).
    return {
        "output_column_name": "address",
        "comparison_description": "住所（現住所・旧住所・同じ町）",
        "comparison_levels": [
            _null("address_key"),
            _level("address_key_l = address_key_r", "住所 一致"),
            _level("list_contains(previous_address_keys_l, address_key_r)", "旧住所と一致"),
            _level("town_key_l = town_key_r", "同じ町・丁目"),
            _ELSE,
        ],
    }


def street_address() -> dict[str, Any]:
    """A street address in Latin letters (generic profile): typos are common, blocks are not."""
    return {
        "output_column_name": "address",
        "comparison_description": "住所（番地と通り名）",
        "comparison_levels": [
            _null("address_key"),
            _level("address_key_l = address_key_r", "住所 一致"),
            _level("jaro_winkler_similarity(address_key_l, address_key_r) >= 0.9", "住所 類似"),
            _ELSE,
        ],
    }


def guardian() -> dict[str, Any]:
    return {
        "output_column_name": "guardian",
        "comparison_description": "保護者（氏名・読み）",
        "comparison_levels": [
            {"sql_condition": "guardian_names_l IS NULL OR (guardian_name_key_r IS NULL AND guardian_reading_key_r IS NULL)",
             "label_for_charts": "欠損 / null", "is_null_level": True},
            _level("list_contains(guardian_names_l, guardian_name_key_r)", "保護者 氏名一致"),
            _level("list_contains(guardian_readings_l, guardian_reading_key_r)", "保護者 読み一致"),
            _level("list_contains(guardian_givens_l, guardian_given_key_r)", "保護者 名一致（姓の変更）"),
            _ELSE,
        ],
    }


def postcode() -> dict[str, Any]:
    return {
        "output_column_name": "postcode",
        "comparison_description": "郵便番号",
        "comparison_levels": [
            _null("postal_code"),
            _level("postal_code_l = postal_code_r", "郵便番号 一致", tf_adjustment_column="postal_code", tf_adjustment_weight=1.0),
            _level("damerau_levenshtein(postal_code_l, postal_code_r) = 1", "郵便番号 1桁違い"),
            _ELSE,
        ],
    }


def locality() -> dict[str, Any]:
    return {
        "output_column_name": "locality",
        "comparison_description": "町名・地域（locality）",
        "comparison_levels": [
            _null("locality"),
            _level("locality_l = locality_r", "地域 一致", tf_adjustment_column="locality", tf_adjustment_weight=1.0),
            _level("jaro_winkler_similarity(locality_l, locality_r) >= 0.9", "地域 類似"),
            _ELSE,
        ],
    }


def region() -> dict[str, Any]:
    return {
        "output_column_name": "region",
        "comparison_description": "都道府県・州（region）",
        "comparison_levels": [_null("region"), _level("region_l = region_r", "州・県 一致"), _ELSE],
    }


def school() -> dict[str, Any]:
    return {
        "output_column_name": "school",
        "comparison_description": "在籍学校",
        "comparison_levels": [_null("school_code"), _level("school_code_l = school_code_r", "学校 一致"), _ELSE],
    }


@dataclass(frozen=True)
class ComparisonBlock:
    """A named comparison and the identifier fields (from manifests) it needs on the record side."""

    name: str
    needs: frozenset[str]
    build: Callable[[], dict[str, Any]]


COMPARISONS: tuple[ComparisonBlock, ...] = (
    ComparisonBlock("given_name", frozenset({"full_name", "given_name", "full_reading", "given_reading"}), given_name),
    ComparisonBlock("family_name", frozenset({"full_name", "family_name", "full_reading", "family_reading"}), family_name),
    ComparisonBlock("birth_date", frozenset({"birth_date"}), birth_date),
    ComparisonBlock("sex", frozenset({"sex"}), sex),
    ComparisonBlock("address", frozenset({"address"}), address),
    ComparisonBlock("postcode", frozenset({"postal_code"}), postcode),
    ComparisonBlock("locality", frozenset({"locality"}), locality),
    ComparisonBlock("region", frozenset({"region"}), region),
    ComparisonBlock("guardian", frozenset({"guardian_name", "guardian_reading"}), guardian),
    ComparisonBlock("school", frozenset({"school_code"}), school),
)

# Each rule is a list of columns joined by equality; counted before prediction. A pair is compared
# if any rule reaches it, so each rule covers what the others miss: the birth date reaches a surname
# change together with a move; the names in kanji reach a mistyped birth date in exports without
# kana; the romanised names (in either order) reach a Latin-letter record whose register record is
# in kana, and names written in each other's column; a street address or a locality with the
# postcode reaches records whose names are both mistyped. (The given name with the birth year
# reached the same cases at 20,000 children, and doubled Splink's time.)
BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("birth_date",),
    ("given_reading_key", "family_reading_key"),
    ("given_key", "address_key"),
    ("given_reading_key", "school_code"),
    ("given_key", "family_key"),
    ("name_pair",),
    ("latin_family", "postal_code"),
    ("latin_given", "locality"),
    ("address_key", "postal_code"),
    ("postal_code", "locality"),
)


def choose_comparisons(declared_fields: Iterable[str], profiles: Iterable[str] = ("jp",)) -> list[ComparisonBlock]:
    """The comparisons the declared identifier fields support; Latin street addresses (generic
    profile) are compared as text, Japanese ones by their parts."""
    declared = set(declared_fields)
    generic = set(profiles) == {"generic"}
    chosen = [c for c in COMPARISONS if c.needs & declared]
    if generic:
        latin = {"address": street_address, "given_name": latin_name("given", "名"), "family_name": latin_name("family", "姓")}
        chosen = [ComparisonBlock(c.name, c.needs, latin[c.name]) if c.name in latin else c for c in chosen]
    return chosen


# The columns holding each comparison's values on the spine's side and on the records' side.
COMPARISON_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "given_name": (("given_key", "given_reading_key"), ("given_key", "given_reading_key")),
    "family_name": (("family_key", "family_reading_key"), ("family_key", "family_reading_key")),
    "birth_date": (("birth_date",), ("birth_date",)),
    "sex": (("sex",), ("sex",)),
    "address": (("address_key",), ("address_key",)),
    "guardian": (("guardian_names",), ("guardian_name_key", "guardian_reading_key")),
    "school": (("school_code",), ("school_code",)),
    "postcode": (("postal_code",), ("postal_code",)),
    "locality": (("locality",), ("locality",)),
    "region": (("region",), ("region",)),
}


def with_values(comparisons: list[ComparisonBlock], left: Any, right: Any) -> tuple[list[ComparisonBlock], list[str]]:
    """The comparisons both sides hold some value for (polars frames ``left`` and ``right``), and a
    note naming each one left out: a register without 続柄 has no guardians to compare."""
    kept, notes = [], []
    for comparison in comparisons:
        left_columns, right_columns = COMPARISON_COLUMNS[comparison.name]
        present = all(
            any(c in frame.columns and frame.height and frame[c].null_count() < frame.height for c in columns)
            for frame, columns in ((left, left_columns), (right, right_columns))
        )
        if present:
            kept.append(comparison)
        else:
            label = comparison.build()["comparison_description"]
            notes.append(f"比較「{label}」は片側に値がないため使いません / comparison {comparison.name}: no values on one side, not used")
    return kept, notes


def settings_dict(comparisons: list[ComparisonBlock]) -> dict[str, Any]:
    """Splink settings for linking unkeyed records to the register's spine (link only)."""
    names = {c.name for c in comparisons}
    rules = [r for r in BLOCKING_RULES if _rule_usable(r, names)]
    return {
        "link_type": "link_only",
        "unique_id_column_name": "key",
        "source_dataset_column_name": "source_dataset",
        "probability_two_random_records_match": 1e-5,
        "comparisons": [c.build() for c in comparisons],
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": blocking_sql(rule)} for rule in rules
        ],
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": False,
        "additional_columns_to_retain": ["source", "school_code"],
        "em_convergence": 0.001,
        "max_iterations": 20,
    }


def blocking_sql(rule: tuple[str, ...]) -> str:
    return " AND ".join(f"l.{c} = r.{c}" for c in rule)


def _rule_usable(rule: tuple[str, ...], comparison_names: set[str]) -> bool:
    needs = {"birth_date": "birth_date", "given_reading_key": "given_name", "family_reading_key": "family_name",
             "given_key": "given_name", "family_key": "family_name", "address_key": "address", "school_code": "school",
             "birth_year": "birth_date", "latin_given": "given_name", "latin_family": "family_name", "name_pair": "family_name",
             "postal_code": "postcode", "locality": "locality"}
    return all(needs[c] in comparison_names for c in rule)


# A level EM saw no match in (a kind of typo rare in the training pairs, such as a day and month
# swapped) is left with m unobserved, which Splink scores as m = 1e-6, or with an m near 0: either
# vetoes every true pair showing it (at 100,000 children the prefecture's one-digit birth-date level
# did). Such a level gets this m instead: one match in a thousand shows it.
M_FLOOR = 0.001


def floored(trained: dict[str, Any]) -> dict[str, Any]:
    """The trained model with each non-null level's m at least M_FLOOR (the else levels excepted)."""
    out = copy.deepcopy(trained)
    for comparison in out["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level") or level["sql_condition"] == "ELSE":
                continue
            m = level.get("m_probability")
            if m is None or m < M_FLOOR:
                level["m_probability"] = M_FLOOR
    return out


def model_version(settings: dict[str, Any]) -> str:
    """A content hash: two runs with the same trained model share a version."""
    text = json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
