"""The synthetic exports go through the real ingest: only deliberately broken rows are quarantined."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tsunagu.synth import SOURCES, generate

pytestmark = pytest.mark.slow


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from tsunagu.cli import main; sys.argv = ['tsunagu', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, check=False)


def test_ingest_quarantines_only_broken_rows(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    generate(1200, 99, "noisy", out)
    home = tmp_path / "home"
    init = _cli("init", "--home", str(home), "--name", "つなぐ市", "--code", "999997")
    assert init.returncode == 0, init.stderr[-300:]
    ingest = _cli("ingest", "--home", str(home), str(out / "exports"), "--json")
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    report = json.loads(ingest.stdout)
    assert report["refused"] == []
    loaded = {s["source"]: s for s in report["sources"]}
    assert set(loaded) == set(SOURCES)

    found: set[tuple[str, int]] = set()
    for name, extra in (("q.csv", ()), ("flagged.csv", ("--flagged",))):
        exported = _cli("quarantine", "export", "--home", str(home), "--out", str(tmp_path / name), *extra)
        assert exported.returncode == 0, exported.stderr[-2000:]
        held = pl.read_csv(tmp_path / name, infer_schema=False)
        found |= set(zip(held["file_name"].to_list(), held["row_number"].cast(pl.Int64).to_list(), strict=True))
    broken = pl.read_csv(out / "truth" / "broken_rows.csv", infer_schema=False)
    listed = set(zip(broken["file"].to_list(), broken["row"].cast(pl.Int64).to_list(), strict=True))
    # every quarantined row and flagged value was broken on purpose: the noise itself is all readable
    assert found <= listed, sorted(found - listed)[:10]
    assert len(found) >= 0.6 * len(listed)
    rows = pl.read_csv(out / "truth" / "records.csv", infer_schema=False).height
    assert sum(s["rows_in"] for s in report["sources"]) == rows
