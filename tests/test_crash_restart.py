"""Crash safety (issue 18): ``kill -9`` during ingest, linkage and screening of a tiny town, then the
same command again — the home ends in the same state as one that was never interrupted, and its
audit chain still verifies."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tsunagu.synth import generate

RULES = Path(__file__).resolve().parents[1] / "rules"
STAGES = (("ingest", "{exports}"), ("link",), ("screen", "--as-of", "2026-11-30"))


def _tsunagu(home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TSUNAGU_RULES_DIR": str(RULES), "NO_COLOR": "1"}
    env.pop("TSUNAGU_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-c", "from tsunagu.cli import main; main()", *args, "--home", str(home)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _run(home: Path, *args: str) -> float:
    started = time.monotonic()
    process = _tsunagu(home, *args)
    _out, err = process.communicate(timeout=300)
    assert process.returncode == 0, (args, err.decode(errors="replace")[-2000:])
    return time.monotonic() - started


def _digest(rows: list[tuple[object, ...]]) -> str:
    return hashlib.sha256(json.dumps(sorted(rows, key=repr), default=str, ensure_ascii=False).encode()).hexdigest()


def _state(home: Path) -> dict[str, object]:
    """What must not depend on an interruption: the vaults' current records, observations and
    quarantine; who is linked with whom; each linked person's screening tier. Not run ids or times."""
    state: dict[str, object] = {}
    for vault in sorted((home / "vaults").glob("*.sqlite3")):
        with sqlite3.connect(vault) as db:
            state[vault.stem] = {
                "loads": db.execute("select count(*) from loads").fetchone()[0],
                "records": _digest(db.execute("select source, local_id, full_name, birth_date, address from records "
                                              "where valid_to is null").fetchall()),
                "observations": _digest(db.execute(
                    "select source, local_id, item_id, value_text, value_num, value_bool, observed_on "
                    "from observations where valid_to is null").fetchall()),
                "quarantine": db.execute("select count(*) from quarantine").fetchone()[0],
            }
    with sqlite3.connect(home / "hub.sqlite3") as db:
        clusters: dict[str, list[str]] = {}
        for person, source, local_id in db.execute("select person_id, source, local_id from person_links"):
            clusters.setdefault(person, []).append(f"{source}:{local_id}")
        key = {person: min(keys) for person, keys in clusters.items()}
        state["links"] = _digest([tuple(sorted(keys)) for keys in clusters.values()])
        latest = db.execute("select run_id from screening_runs where finished_at is not null "
                            "order by started_at desc limit 1").fetchone()
        tiers = db.execute("select person_id, tier from screening_results where run_id = ?", latest).fetchall() \
            if latest else []
        state["tiers"] = _digest([(key.get(p, p), tier) for p, tier in tiers])
        # Every finished run is whole: a run the kill interrupted is never marked finished with part of
        # its results. (How many finished runs there are depends on when the kill lands: one that comes
        # after the run's commit, during the process's exit, leaves a whole run, and the rerun adds a second.)
        state["runs"] = sorted({n for (n,) in db.execute(
            "select count(r.person_id) from screening_runs s left join screening_results r on r.run_id = s.run_id"
            " where s.finished_at is not null group by s.run_id")})
    return state


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash")
    generate(150, 3, "default", root / "synthetic")
    return root


def _init(home: Path) -> None:
    _run(home, "init", "--name", "つなぐ市", "--code", "272205")


def test_kill_9_during_each_stage_then_the_rerun_gives_the_same_state(town: Path) -> None:
    exports = str(town / "synthetic" / "exports")
    reference, crashed = town / "reference", town / "crashed"
    _init(reference)
    durations = [_run(reference, *(a.format(exports=exports) for a in stage)) for stage in STAGES]
    _init(crashed)
    killed = 0
    for stage, duration in zip(STAGES, durations, strict=True):
        args = [a.format(exports=exports) for a in stage]
        process = _tsunagu(crashed, *args)
        try:
            process.wait(timeout=duration * 0.6)  # past start-up, into the stage's reads and writes
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            killed += process.wait(timeout=30) == -signal.SIGKILL
        if process.stderr:
            process.stderr.close()
        _run(crashed, *args)  # the same command again, as an operator would after the crash
    assert killed >= 2, "the kills came too late to interrupt anything"
    assert _state(crashed) == _state(reference)
    _run(crashed, "audit", "verify")  # the chain survived the kills
