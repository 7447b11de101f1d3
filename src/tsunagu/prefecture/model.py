"""The prefecture's linkage model: the municipal comparisons where they apply, one settings for both engines.

Names, birth date, sex and postcode are compared as the municipal linkage compares them (link/model.py
builds the levels; nothing is copied). The address is compared differently: the same child is at a
new address in the new municipality, so what agrees is the old municipality's address and the new
one's 転入前住所 (its 異動履歴), either way round. Each municipality's register holds a child once,
so pairs are only ever across municipalities (Splink's ``link_only`` over one table per municipality).

The settings are written in DuckDB's SQL; ``for_spark`` rewrites them for Spark SQL (Splink's Spark
back-end reads Spark SQL): sqlglot translates, Splink's own Spark functions stand in for DuckDB's.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import polars as pl

from tsunagu.link import model as link_model
from tsunagu.link.probabilistic import DERIVED_COLUMNS
from tsunagu.link.romaji import latin_key

# Blockings, each reaching what the others miss, all cheap at a million children (a birth date alone
# would put every child born on one day in one block, ~150 children a day at a million): a surname
# changed at the move (birth date with the given name, in kana or kanji), a mistyped birth date (both
# names in kana, or in kanji), a mistyped given name (birth date with the surname's reading).
BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("birth_date", "given_reading_key"),
    ("birth_date", "given_key"),
    ("given_reading_key", "family_reading_key"),
    ("given_key", "family_key"),
    ("birth_date", "family_reading_key"),
)
# Training: the prior from pairs agreeing on everything a clerk types; m by EM on three blockings,
# so that every comparison is free to vary in at least one (a comparison a blocking fixes is not trained there).
PRIOR_RULE = ("given_key", "family_key", "birth_date")
EM_BLOCKS: tuple[tuple[str, ...], ...] = (("birth_date", "family_reading_key"), ("given_reading_key", "family_reading_key"),
                                          ("birth_date", "given_reading_key"))
U_PAIRS = 1_000_000
# After training each level's m is floored as the municipal model's is (link/model.py: floored, M_FLOOR).


def address() -> dict[str, Any]:
    return {
        "output_column_name": "address",
        "comparison_description": "住所（現住所・転入前住所）",
        "comparison_levels": [
            {"sql_condition": "address_key_l IS NULL OR address_key_r IS NULL", "label_for_charts": "欠損 / null",
             "is_null_level": True},
            {"sql_condition": "address_key_l = address_key_r", "label_for_charts": "住所 一致"},
            {"sql_condition": "list_contains(previous_address_keys_l, address_key_r)"
                              " OR list_contains(previous_address_keys_r, address_key_l)",
             "label_for_charts": "転入前の住所と一致"},
            {"sql_condition": "ELSE", "label_for_charts": "不一致 / else"},
        ],
    }


def settings() -> dict[str, Any]:
    comparisons = [link_model.given_name(), link_model.family_name(), link_model.birth_date(), link_model.sex(),
                   address(), link_model.postcode()]
    return {
        "link_type": "link_only",
        "unique_id_column_name": "key",
        "source_dataset_column_name": "municipality",
        "probability_two_random_records_match": 1e-6,
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": [{"blocking_rule": link_model.blocking_sql(r)} for r in BLOCKING_RULES],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "em_convergence": 0.001,
        "max_iterations": 20,
    }


_SPARK_FUNCTIONS = (
    (re.compile(r"JAROWINKLER_SIMILARITY\(", re.IGNORECASE), "jaro_winkler("),  # Splink's Scala function
    # birth_text is always YYYY-MM-DD: on strings of one length an edit distance of 1 is one digit changed.
    (re.compile(r"HAMMING\(", re.IGNORECASE), "LEVENSHTEIN("),
)


def spark_sql(condition: str) -> str:
    import sqlglot

    if condition == "ELSE":
        return condition
    text = sqlglot.transpile(condition, read="duckdb", write="spark")[0]
    for pattern, replacement in _SPARK_FUNCTIONS:
        text = pattern.sub(replacement, text)
    return text


def for_spark(model: dict[str, Any]) -> dict[str, Any]:
    """The same settings (or a trained model) in Spark SQL."""
    out = copy.deepcopy(model)
    if "sql_dialect" in out:  # a model Splink saved names the dialect it was trained in
        out["sql_dialect"] = "spark"
    out.pop("linker_uid", None)
    for rule in out["blocking_rules_to_generate_predictions"]:
        if isinstance(rule, dict) and "sql_dialect" in rule:
            rule["sql_dialect"] = "spark"
    for comparison in out["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = spark_sql(level["sql_condition"])
    return out


def with_columns(children: pl.DataFrame) -> pl.DataFrame:
    """The columns the comparisons and blockings read, made once per child (as the municipal linkage does)."""
    side = children.with_columns(*[expr.alias(name) for name, expr in DERIVED_COLUMNS.items()])
    return side.with_columns(
        pl.coalesce(_latin(side["given_key"]), _latin(side["given_reading_key"])).alias("latin_given"),
        pl.coalesce(_latin(side["family_key"]), _latin(side["family_reading_key"])).alias("latin_family"),
    )


def _latin(names: pl.Series) -> pl.Series:
    distinct = names.drop_nulls().unique().to_list()
    if not distinct:
        return pl.Series(names.name, [None] * names.len(), dtype=pl.Utf8)
    return names.replace_strict({name: latin_key(name) for name in distinct}, default=None, return_dtype=pl.Utf8)
