"""Plain Splink on the same exports: the baseline tsunagu's linkage is measured against.

What a careful analyst without Japanese-specific tooling would do: read each export (decoding is
unavoidable), split the name on whitespace, keep birth dates, readings and addresses as written,
and use Splink's own comparison library (Jaro-Winkler, Levenshtein, exact match; the finer NameComparison
leaves EM with empty levels on this data and fails) with EM
training, linking the records without 宛名番号 to the resident register and keeping each record's
best match at or above the same automatic threshold (0.99).

Usage: .venv/bin/python benchmarks/baseline_splink.py --exports DIR --truth DIR [--parse-dates] [--json]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

THRESHOLD = 0.99
UNKEYED = {"school_meibo": ("氏名", "ふりがな", "生年月日", "性別", "住所"), "jisou": ("氏名", "ふりがな", "生年月日", "性別", "住所"),
           "kodomo_center": ("氏名", "カナ氏名", "生年月日", None, None)}


def _read(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp932", errors="replace")
    lines = text.splitlines()[1:]  # the synthetic-data preamble line
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


PARSE_DATES = False


def _dob(text: str) -> str | None:
    """As written; with --parse-dates, through tsunagu's 和暦 parser (a fairer, second baseline)."""
    if not text or not PARSE_DATES:
        return text or None
    from tsunagu.ingest.dates import DateParseError, parse_date

    try:
        return parse_date(text).isoformat()
    except DateParseError:
        return None


def _person(name: str, reading: str, birth: str, sex: str | None, address: str | None) -> dict[str, str | None]:
    parts = name.split()
    surname, first = (parts[0], " ".join(parts[1:])) if len(parts) > 1 else (name, "")
    return {"surname": surname or None, "first_name": first or None, "reading": reading or None, "dob": _dob(birth),
            "sex": sex or None, "address": address or None}


def load_records(exports: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    left, right = [], []
    for row in _read(next(exports.glob("juki_jumin_*.csv"))):
        left.append({"unique_id": f"juki_jumin:{row['宛名番号']}",
                     **_person(row["氏名"], row["カナ氏名"], row["生年月日"], row["性別"], row["住所"])})
    for path in sorted(exports.glob("*.csv")):
        source = next((s for s in UNKEYED if path.name.startswith(s.split("_")[0]) and s.split("_")[-1] in path.name), None)
        if path.name.startswith("school_") and "_meibo_" in path.name:
            source = "school_meibo"
        if source is None:
            continue
        name, reading, birth, sex, address = UNKEYED[source]
        for row in _read(path):
            if source == "kodomo_center" and row.get("宛名番号"):
                continue
            local = {"school_meibo": lambda r: f"{r['学校コード']}:{r['児童生徒番号']}", "jisou": lambda r: r["ケース番号"],
                     "kodomo_center": lambda r: r["相談番号"]}[source](row)
            right.append({"unique_id": f"{source}:{local}", **_person(row[name], row[reading], row[birth],
                                                                        row[sex] if sex else None,
                                                                        row[address] if address else None)})
    schema = {c: pl.Utf8 for c in ("unique_id", "surname", "first_name", "reading", "dob", "sex", "address")}
    return (pl.DataFrame(left, schema=schema).unique("unique_id", keep="last"),
            pl.DataFrame(right, schema=schema).unique("unique_id", keep="last"))


def link(left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    db = DuckDBAPI(connection=duckdb.connect())
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[cl.JaroWinklerAtThresholds("surname", [0.9]), cl.JaroWinklerAtThresholds("first_name", [0.9]),
                     cl.JaroWinklerAtThresholds("reading", [0.9]), cl.LevenshteinAtThresholds("dob", [1]),
                     cl.ExactMatch("sex"), cl.LevenshteinAtThresholds("address", [3])],
        blocking_rules_to_generate_predictions=[block_on("dob"), block_on("surname", "first_name")],
    )
    linker = Linker([db.register(left.to_arrow(), table_name="register"), db.register(right.to_arrow(), table_name="unkeyed")],
                    settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match([block_on("surname", "first_name", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=42)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname", "first_name"))
    pairs = pl.from_arrow(linker.inference.predict(threshold_match_probability=THRESHOLD).as_pyarrow_table())
    assert isinstance(pairs, pl.DataFrame)
    left_is_register = pairs["unique_id_l"].str.starts_with("juki_jumin:")
    oriented = pairs.select(
        pl.when(left_is_register).then(pl.col("unique_id_r")).otherwise(pl.col("unique_id_l")).alias("record"),
        pl.when(left_is_register).then(pl.col("unique_id_l")).otherwise(pl.col("unique_id_r")).alias("register"),
        "match_probability")
    return oriented.sort("match_probability", descending=True).unique("record", keep="first")


def evaluate(links: pl.DataFrame, right: pl.DataFrame, truth: Path) -> dict[str, Any]:
    records = pl.read_csv(truth / "records.csv", schema_overrides={"local_key": pl.Utf8})
    school = pl.col("file").str.extract(r"^school_([^_]+)_", 1)
    local = pl.when(pl.col("source").str.starts_with("school")).then(school + ":" + pl.col("local_key")).otherwise(pl.col("local_key"))
    keyed = records.with_columns((pl.col("source") + ":" + local).alias("key")).unique("key").select("key", "person_id")
    true_of = dict(keyed.iter_rows())
    register_people = {v for k, v in true_of.items() if k.startswith("juki_jumin:")}
    correct = sum(1 for record, register in links.select("record", "register").iter_rows()
                  if true_of.get(record) is not None and true_of.get(record) == true_of.get(register))
    findable = sum(1 for key in right["unique_id"].to_list() if true_of.get(key) in register_people)
    precision = correct / links.height if links.height else 1.0
    recall = correct / findable if findable else 1.0
    return {"precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "automatic_links": links.height, "correct_automatic_links": correct, "true_links": findable}


def run(exports: Path, truth: Path, parse_dates: bool = False) -> dict[str, Any]:
    global PARSE_DATES
    PARSE_DATES = parse_dates
    started = time.perf_counter()
    left, right = load_records(exports)
    links = link(left, right)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "register": left.height, "unkeyed": right.height,
            **evaluate(links, right, truth)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--exports", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--parse-dates", action="store_true", help="parse 和暦 birth dates (the fairer baseline)")
    args = parser.parse_args()
    result = run(args.exports, args.truth, args.parse_dates)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else result)


if __name__ == "__main__":
    main()
