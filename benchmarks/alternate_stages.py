"""Two code versions' stage times side by side: ingest, link and screen, alternated, medians.

    python benchmarks/alternate_stages.py --before /path/to/old/.venv/bin/tsunagu \
        --after .venv/bin/tsunagu --work /tmp/alt --children 100000 [--runs 3] \
        [--stages ingest,link,screen] [--linked HOME (with --stages screen)]

The BEFORE version synthesises one municipality. Each turn then runs, for each version in
alternating order (BEFORE first on odd turns, AFTER first on even ones): an ingest into a fresh home,
a link of a copy of one ingested home, and a screen of a copy of one linked home — the same input for
both versions at every stage, so only the code differs. Each stage runs under
``tsunagu.bench.wrapper``: wall seconds, CPU seconds (user + system) and peak RSS. The homes of the
last turn are kept, so ``benchmarks/result_digests.py`` can compare the results. ``--stages`` runs
only some stages; with ``--stages screen --linked HOME`` the screens run on copies of that linked
home and nothing is synthesised, ingested or linked. Each run records the 1-minute load average at
its start. Writes ``benchmarks/results/alternate-<N>.json`` (some stages only:
``alternate-<stages>-<N>.json``) and prints the medians. Give the load average and the CPU with the
figures: the two versions share whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
MARKER = "BENCH-USAGE "
AS_OF = "2026-10-31"  # the default profile's export date


def _run(tsunagu: str, args: list[str]) -> dict[str, float]:
    """One stage of one version, under that version's wrapper."""
    python = str(Path(tsunagu).with_name("python"))
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run([python, "-m", "tsunagu.bench.wrapper", "--", tsunagu, *args],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{tsunagu} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    usage = json.loads(next(line for line in reversed(done.stderr.splitlines()) if line.startswith(MARKER))[len(MARKER):])
    return {"wall_s": round(wall, 2), "cpu_s": round(usage["user_seconds"] + usage["system_seconds"], 2),
            "peak_mb": round(usage["maxrss_kb"] / 1024), "load_1min": round(load, 2)}


def _fresh(path: Path, source: Path | None = None) -> Path:
    if path.exists():
        shutil.rmtree(path)
    if source is not None:
        shutil.copytree(source, path, symlinks=True)
    return path


def _init(tsunagu: str, home: Path, synth: Path) -> None:
    subprocess.run([tsunagu, "init", "--home", str(home), "--name", "つなぐ市（ベンチマーク）", "--code", "272205"],
                   check=True, capture_output=True)
    schools = synth / "schools.yaml"
    if schools.exists():
        subprocess.run([tsunagu, "schools", "load", str(schools), "--home", str(home)], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stages", default="ingest,link,screen",
                        help="the stages to time, of ingest, link and screen (comma-separated)")
    parser.add_argument("--linked", type=Path, help="a linked home to screen copies of (with --stages screen)")
    args = parser.parse_args()
    timed = [stage for stage in ("ingest", "link", "screen") if stage in args.stages.split(",")]
    if args.linked is not None and timed != ["screen"]:
        parser.error("--linked goes with --stages screen")
    versions = {"before": args.before, "after": args.after}
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    synth = work / "synth"
    if args.linked is None and not (synth / "exports").exists():
        subprocess.run([args.before, "synth", "--children", str(args.children), "--seed", "1", "--out", str(synth),
                        "--json"], check=True, capture_output=True)
    # One ingested and one linked home (by BEFORE) are the common inputs of link and screen.
    base, linked = work / "base", args.linked
    if linked is None:
        done = work / "base.ingested"  # a later call with the same --work reuses the ingested home
        if not done.exists():
            _fresh(base)
            _init(args.before, base, synth)
            _run(args.before, ["ingest", str(synth / "exports"), "--home", str(base), "--json"])
            done.touch()
        linked = _fresh(work / "linked", base)
        if "screen" in timed:
            _run(args.before, ["link", "--home", str(linked), "--json"])
    figures: dict[str, dict[str, list[dict[str, float]]]] = {v: {stage: [] for stage in timed} for v in versions}
    for turn in range(args.runs):
        order = ["before", "after"] if turn % 2 == 0 else ["after", "before"]
        for stage in timed:
            for version in order:
                tsunagu = versions[version]
                home = work / f"{stage}_{version}"
                if stage == "ingest":
                    _fresh(home)
                    _init(tsunagu, home, synth)
                    stage_args = ["ingest", str(synth / "exports"), "--home", str(home), "--json"]
                elif stage == "link":
                    _fresh(home, base)
                    stage_args = ["link", "--home", str(home), "--json"]
                else:
                    _fresh(home, linked)
                    stage_args = ["screen", "--home", str(home), "--as-of", AS_OF, "--json"]
                figures[version][stage].append(_run(tsunagu, stage_args))
                print(turn, stage, version, figures[version][stage][-1], flush=True)
    medians = {v: {s: {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "cpu_s", "peak_mb")}
                   for s, runs in per_stage.items()} for v, per_stage in figures.items()}
    result: dict[str, Any] = {"children": args.children, "runs": args.runs, "versions": versions, "stages": timed,
                              "load_average": os.getloadavg(), "medians": medians, "runs_detail": figures}
    RESULTS.mkdir(exist_ok=True)
    # Some stages only: a file of their own, beside the whole comparison's.
    part = "" if len(timed) == 3 else "-".join(timed) + "-"
    out = RESULTS / f"alternate-{part}{args.children}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(medians, indent=2))


if __name__ == "__main__":
    main()
