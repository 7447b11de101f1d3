"""The offline dependency audit (issue 18): pip-audit against the repository's vulnerability file,
served locally as the OSV API. A hand-made advisory proves that a finding is reported and fails."""

from __future__ import annotations

import json
import os
import subprocess
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _advisory(vuln_id: str, package: str, events: list[dict[str, str]]) -> dict[str, object]:
    return {"id": vuln_id, "summary": "test advisory", "modified": "2026-12-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": package},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}]}


def _audit(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / "scripts" / "audit-deps")], env={**os.environ, "VULNDB": str(db)},
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_audit_reports_an_advisory_from_the_local_file_and_only_for_affected_versions(tmp_path: Path) -> None:
    installed = metadata.version("jinja2")
    db = tmp_path / "osv.json"
    db.write_text(json.dumps({"updated": "2026-12-07", "vulns": [
        _advisory("TEST-AFFECTED", "Jinja2", [{"introduced": "0"}, {"fixed": "9999"}]),
        _advisory("TEST-FIXED-LONG-AGO", "jinja2", [{"introduced": "0"}, {"fixed": "0.1"}]),
    ]}), encoding="utf-8")
    found = _audit(db)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "TEST-AFFECTED" in found.stdout and installed in found.stdout
    assert "TEST-FIXED-LONG-AGO" not in found.stdout


def test_the_repository_file_is_readable_and_dated() -> None:
    data = json.loads((ROOT / "scripts" / "vulndb" / "osv-pypi.json").read_text("utf-8"))
    assert data["updated"] and isinstance(data["vulns"], list)
