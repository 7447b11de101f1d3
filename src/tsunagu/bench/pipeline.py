"""``tsunagu bench``: synth → ingest → link → screen → plain-Splink baseline → web load, stage by stage.

Every stage is an ordinary ``tsunagu`` command (or the baseline script, or the web load module)
run in its own wrapper process, so the wall time, CPU time and peak memory recorded are that
stage's own. A stage that fails is recorded as failed, with the reason, and the stages that need
its output are recorded as skipped: a result file always says what happened.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tsunagu.bench import DEFAULT_THINK_MS
from tsunagu.bench.machine import describe_code, describe_machine
from tsunagu.bench.timing import StageRun, child_env, run_stage

ROOT = Path(__file__).resolve().parents[3]  # the checkout: benchmarks/, docs/ and rules/ live here
LINK_FIGURES = ("precision", "recall", "f1", "review_band_share", "recall_with_review_resolved")
SCREEN_FIGURES = ("recall", "precision", "listed_share", "no_mark_share", "single_department_recall",
                  "best_single_department", "children", "listed", "in_need")
BASELINE_FIGURES = ("precision", "recall", "f1", "automatic_links", "true_links", "register", "unkeyed", "seconds")
Say = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    children: int
    profile: str = "default"
    seed: int = 1
    work: Path | None = None
    skip_baseline: bool = False
    web_users: int = 20
    web_seconds: float = 30.0
    web_think_ms: float = DEFAULT_THINK_MS
    web_max_requests: int = 20_000
    memory_limit_mb: int | None = None

    @property
    def folder(self) -> Path:
        return self.work or ROOT / "benchmarks" / "work" / f"bench-{self.profile}-{self.children}"


def tsunagu_command() -> str:
    beside = Path(sys.executable).parent / "tsunagu"
    return str(beside) if beside.exists() else shutil.which("tsunagu") or "tsunagu"


class _Runner:
    """Runs the wrapped commands with the options' memory limit, from the checkout."""

    def __init__(self, options: BenchOptions, say: Say) -> None:
        self.options, self.say = options, say
        self.env = child_env(keep_database_url=True)
        self.load_before = 0.0

    @property
    def database_url(self) -> str | None:
        """The hub the stages use when it is not the home's own SQLite file (``TSUNAGU_DATABASE_URL``)."""
        return self.env.get("TSUNAGU_DATABASE_URL") or None

    @property
    def hub(self) -> str:
        """The hub's back-end, as recorded in the result (never the URL: it may carry a password)."""
        from tsunagu.store.dialects import dialect_for_url

        return dialect_for_url(self.database_url).name if self.database_url else "sqlite"

    def run(self, cmd: list[str]) -> StageRun:
        # Other work on a shared machine slows a stage down: the load average says how busy it was.
        self.load_before = round(os.getloadavg()[0], 2)
        return run_stage(cmd, limit_mb=self.options.memory_limit_mb, cwd=ROOT, env=self.env)

    def record(self, name: str, run: StageRun, figures: Callable[[Any], dict[str, Any]],
               parse_json: bool = True) -> dict[str, Any]:
        """A stage's entry: its costs, and either its figures or why it failed."""
        entry: dict[str, Any] = {"status": "ok", "wall_seconds": run.wall_seconds, "cpu_seconds": run.cpu_seconds,
                                 "peak_rss_mb": run.peak_rss_mb, "load_avg_1m_before": self.load_before}
        if run.ok:
            try:
                entry["figures"] = figures(json.loads(run.stdout) if parse_json else run.stdout)
            except (ValueError, KeyError, TypeError) as exc:
                entry.update(status="failed", error=f"unreadable output: {exc!r}: {run.stdout[-300:]!r}")
        else:
            entry.update(status="failed", error=run.failure(), stderr_tail=run.stderr_tail[-1500:])
        self.say(f"{name}: {entry['status']} in {run.wall_seconds} s, peak {run.peak_rss_mb} MB"
                 + (f" — {entry.get('error')}" if entry["status"] == "failed" else ""))
        return entry


def _skipped(because: str) -> dict[str, Any]:
    return {"status": "skipped", "error": f"not run: {because}"}


def _synth(r: _Runner, tsunagu: str, synth: Path) -> dict[str, Any]:
    o = r.options
    saved = synth.parent / "synth-stage.json"
    if (synth / "truth" / "manifest.json").is_file() and saved.is_file():
        entry: dict[str, Any] = json.loads(saved.read_text(encoding="utf-8"))
        if entry.get("key") == [o.children, o.seed, o.profile]:
            r.say("synth: reusing the generated exports (figures of the run that generated them)")
            return {**{k: v for k, v in entry.items() if k != "key"}, "status": "reused"}
    shutil.rmtree(synth, ignore_errors=True)
    r.say(f"synth: generating {o.children:,} children …")
    run = r.run([tsunagu, "synth", "--children", str(o.children), "--seed", str(o.seed), "--profile", o.profile,
                 "--out", str(synth), "--json"])
    entry = r.record("synth", run, lambda d: {
        "children": d["children"], "persons": d["persons"], "rows": sum(d["rows_per_source"].values()),
        "files": len(d["files"]), "export_date": d["export_date"], "generator_seconds": d["seconds"]})
    if entry["status"] == "ok":
        # Written last, so a half-generated folder is never taken for a finished one.
        saved.write_text(json.dumps({**entry, "key": [o.children, o.seed, o.profile]}, ensure_ascii=False, indent=2),
                         encoding="utf-8")
    return entry


def _ingest_figures(report: dict[str, Any], run: StageRun) -> dict[str, Any]:
    sources = report["sources"]
    rows = sum(int(s["rows_in"]) for s in sources)
    return {"rows_in": rows, "loaded": sum(int(s["loaded"]) for s in sources),
            "quarantined": sum(int(s["quarantined"]) for s in sources), "files_refused": len(report["refused"]),
            "rows_per_second": round(rows / run.wall_seconds) if run.wall_seconds else None,
            "rows_per_cpu_second": round(rows / run.cpu_seconds) if run.cpu_seconds else None}


def _ingest(r: _Runner, tsunagu: str, synth: Path, home: Path) -> dict[str, Any]:
    if r.database_url is not None:
        from tsunagu.store.db import current_revision

        # The fresh home below is a folder; a hub in the database would be the last run's, and ingesting
        # on top of its vaults would measure (and evaluate) a municipality twice the size.
        if current_revision(r.database_url) is not None:
            return {"status": "failed", "error": "the database at TSUNAGU_DATABASE_URL already holds a hub: "
                                                 "give each bench run an empty database"}
    shutil.rmtree(home, ignore_errors=True)
    init = r.run([tsunagu, "init", "--home", str(home), "--name", "つなぐ市（ベンチマーク）", "--code", "272205"])
    if not init.ok:
        return {"status": "failed", "error": f"init: {init.failure()}"}
    if (synth / "schools.yaml").is_file():  # the synthetic board of education's school names
        r.run([tsunagu, "schools", "load", str(synth / "schools.yaml"), "--home", str(home)])
    r.say("ingest: loading every export into a fresh home …")
    run = r.run([tsunagu, "ingest", str(synth / "exports"), "--home", str(home), "--json"])
    entry = r.record("ingest", run, lambda d: _ingest_figures(d, run))
    entry["init_seconds"] = init.wall_seconds
    return entry


def _evaluated(r: _Runner, name: str, main: list[str], evaluate: list[str],
               figures: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """A stage whose run is followed by an evaluation against the truth (timed apart from it)."""
    r.say(f"{name}: running …")
    run = r.run(main)
    entry = r.record(name, run, lambda d: d)
    if entry["status"] != "ok":
        return entry
    report = entry.pop("figures")
    check = r.run(evaluate)
    quality = r.record(f"{name} evaluate", check, lambda d: d)
    if quality["status"] != "ok":
        return {**entry, "status": "failed", "error": f"evaluation: {quality['error']}"}
    return {**entry, "evaluate_seconds": check.wall_seconds, "figures": figures(report, quality["figures"])}


def _baseline(r: _Runner, synth: Path, parse_dates: bool) -> dict[str, Any]:
    script = ROOT / "benchmarks" / "baseline_splink.py"
    if not script.is_file():
        return _skipped(f"{script} not found (the baseline lives in the checkout)")
    name = "plain Splink" + (" (dates parsed)" if parse_dates else "")
    r.say(f"{name}: running on the same exports …")
    cmd = [sys.executable, str(script), "--exports", str(synth / "exports"), "--truth", str(synth / "truth"), "--json"]
    run = r.run(cmd + (["--parse-dates"] if parse_dates else []))
    return r.record(name, run, lambda d: {k: d[k] for k in BASELINE_FIGURES})


def compare(link: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any] | None:
    """tsunagu's linkage against a baseline run: how many times its wall time, and the recall gained."""
    if link.get("status") != "ok" or baseline.get("status") != "ok":
        return None
    ours, theirs = link["figures"], baseline["figures"]
    return {
        "wall_ratio_tsunagu_to_splink": round(link["wall_seconds"] / baseline["wall_seconds"], 2)
        if baseline["wall_seconds"] else None,
        "recall_difference": round(ours["recall"] - theirs["recall"], 5),
        "precision_difference": round(ours["precision"] - theirs["precision"], 5),
    }


def _web(r: _Runner, home: Path) -> dict[str, Any]:
    o = r.options
    r.say(f"web: {o.web_users} users for {o.web_seconds:g} s (mean pause {o.web_think_ms:g} ms) against the staff app …")
    run = r.run([sys.executable, "-m", "tsunagu.bench.web", "--home", str(home), "--users", str(o.web_users),
                 "--seconds", str(o.web_seconds), "--max-requests", str(o.web_max_requests),
                 "--think-ms", str(o.web_think_ms), "--json",
                 "--log", str(home.parent / "web-server.log")])
    return r.record("web", run, lambda d: d)


def run_bench(options: BenchOptions, say: Say | None = None) -> dict[str, Any]:
    """Every stage on one synthetic municipality; the result as it goes into the result file."""
    r = _Runner(options, say or (lambda _line: None))
    code = describe_code(ROOT)  # before the stages: the tree may change while a long run goes on
    tsunagu = tsunagu_command()
    folder = options.folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    synth, home = folder / "synth", folder / "home"
    stages: dict[str, dict[str, Any]] = {"synth": _synth(r, tsunagu, synth)}
    have_exports = stages["synth"]["status"] in ("ok", "reused")
    stages["ingest"] = _ingest(r, tsunagu, synth, home) if have_exports else _skipped("synth failed")
    truth = ["--truth", str(synth / "truth"), "--home", str(home), "--json"]
    if stages["ingest"]["status"] == "ok":
        stages["link"] = _evaluated(r, "link", [tsunagu, "link", "--home", str(home), "--json"],
                                    [tsunagu, "link", "evaluate", *truth],
                                    lambda rep, q: {**{k: q[k] for k in LINK_FIGURES}, "records": rep["records"],
                                                    "persons": rep["persons"],
                                                    "probabilistic_links": rep["probabilistic_links"],
                                                    "review_pairs": rep["review_pairs"]})
    else:
        stages["link"] = _skipped("ingest did not finish")
    if stages["link"]["status"] == "ok":
        as_of = stages["synth"]["figures"]["export_date"]
        stages["screen"] = _evaluated(r, "screen", [tsunagu, "screen", "--as-of", as_of, "--home", str(home), "--json"],
                                      [tsunagu, "screen", "evaluate", *truth],
                                      lambda rep, q: {**{k: q[k] for k in SCREEN_FIGURES}, "as_of": rep["as_of"],
                                                      "by_tier": rep["by_tier"], "no_mark": rep["no_mark"]})
    else:
        stages["screen"] = _skipped("link did not finish")
    for key, parse_dates in (("baseline_splink", False), ("baseline_splink_dates_parsed", True)):
        if options.skip_baseline:
            stages[key] = _skipped("--skip-baseline")
        else:
            stages[key] = _baseline(r, synth, parse_dates) if have_exports else _skipped("synth failed")
    stages["web"] = _web(r, home) if stages["screen"]["status"] == "ok" else _skipped("screen did not finish")
    return {
        "benchmark": "bench", "children": options.children, "profile": options.profile, "seed": options.seed,
        "hub": r.hub,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": describe_machine(),
        "code": code, "memory_limit_mb": options.memory_limit_mb, "work": str(folder),
        "web_config": {"users": options.web_users, "seconds": options.web_seconds,
                       "max_requests": options.web_max_requests, "think_ms": options.web_think_ms},
        "stages": stages,
        "comparison": {"splink_as_written": compare(stages["link"], stages["baseline_splink"]),
                       "splink_dates_parsed": compare(stages["link"], stages["baseline_splink_dates_parsed"])},
    }
