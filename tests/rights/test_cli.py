"""``tsunagu requests``, ``retention`` and ``registers`` (on a local app: cli.py wires them for real)."""

from __future__ import annotations

import csv
import json
import stat
from datetime import timedelta
from pathlib import Path

import typer
from sqlalchemy import select
from typer.testing import CliRunner, Result

from rights.conftest import Town
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.commands import registers as registers_cmd
from tsunagu.commands import requests as requests_cmd
from tsunagu.commands import retention as retention_cmd
from tsunagu.errors import ExitCode
from tsunagu.link.models import PersonLink
from tsunagu.work.rights.requests import jst_today

app = typer.Typer()
requests_cmd.register(app)
retention_cmd.register(app)
registers_cmd.register(app)
runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def test_requests_from_receipt_to_disclosure_and_correction(town: Town, tmp_path: Path) -> None:
    where = str(town.home)
    # Received yesterday: a period can only be extended before it ends (a fixed date expires).
    received = jst_today() - timedelta(days=1)
    added = run("requests", "add", town.child, "--kind", "disclosure", "--requester", "legal_representative",
                "--note", "母（親権者）", "--received", received.isoformat(), "--home", where, "--json")
    assert added.exit_code == 0, added.output
    number = str(json.loads(added.stdout)["id"])
    assert json.loads(added.stdout)["due_on"] == (received + timedelta(days=30)).isoformat()
    extended = run("requests", "extend", number, "--reason", "照会先の部署が多く時間を要するため", "--home", where,
                   "--json")
    assert extended.exit_code == 0, extended.output
    assert json.loads(extended.stdout)["effective_due_on"] == (received + timedelta(days=60)).isoformat()
    out = tmp_path / "out"
    made = run("requests", "disclosure", number, "--out", str(out), "--home", where)
    assert made.exit_code == 0, made.output
    pdf = out / f"disclosure-{number}-{town.child}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and stat.S_IMODE(pdf.stat().st_mode) == 0o600
    assert json.loads((out / f"disclosure-{number}-{town.child}.json").read_text("utf-8"))["person_id"] == town.child
    assert run("requests", "complete", number, "--note", "全部開示", "--home", where).exit_code == 0
    listed = json.loads(run("requests", "list", "--home", where, "--json").stdout)
    assert [(r["id"], r["status"]) for r in listed] == [(int(number), "completed")]

    with town.factory() as session:
        aza = session.scalars(select(PersonLink.local_id).where(PersonLink.person_id == town.child,
                                                                PersonLink.source == "juki_jumin")).one()
    correction = run("requests", "add", town.child, "--kind", "correction", "--received", "2026-11-02", "--source",
                     "juki_jumin", "--local-id", aza, "--field", "full_name", "--value", "髙橋　蒼空", "--home", where,
                     "--json")
    assert correction.exit_code == 0, correction.output
    steward = ("--as-role", "data_steward", "--organisation", "resident_registry")
    notices = json.loads(run("requests", "notices", "--home", where, "--json", *steward).stdout)
    assert [(n["field"], n["claimed_value"]) for n in notices] == [("full_name", "髙橋　蒼空")]
    answered = run("requests", "resolve", str(notices[0]["id"]), "--rejected", "--reason",
                   "住民票は届出のとおりで誤りはありません", "--home", where, *steward)
    assert answered.exit_code == 0, answered.output
    shown = json.loads(run("requests", "show", str(json.loads(correction.stdout)["id"]), "--home", where,
                           "--json").stdout)
    assert shown["notices"][0]["status"] == "rejected"
    refused = run("requests", "list", "--home", where, "--as-role", "teacher")
    assert refused.exit_code == ExitCode.REFUSED and "拒否" in refused.output


def test_retention_and_registers_commands(town: Town, tmp_path: Path) -> None:
    where = str(town.home)
    dry = run("retention", "run", "--dry-run", "--today", "2040-04-01", "--home", where, "--json")
    assert dry.exit_code == 0, dry.output
    counted = json.loads(dry.stdout)
    real = run("retention", "run", "--today", "2040-04-01", "--home", where, "--json")
    assert real.exit_code == 0, real.output
    removed = json.loads(real.stdout)
    assert (removed["hub"], removed["vaults"]) == (counted["hub"], counted["vaults"]) and not removed["dry_run"]
    table = run("retention", "run", "--dry-run", "--today", "2040-04-01", "--home", where)
    assert table.exit_code == 0 and "アクセス記録" in table.output
    register = tmp_path / "files.csv"
    assert run("registers", "files", "--home", where, "--out", str(register)).exit_code == 0
    with register.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert set(packaged_manifests().manifests) <= {r["識別子"] for r in rows}
    bases = json.loads(run("registers", "legal-basis", "--home", where, "--json").stdout)
    handover = {"handover:case_transfer", "handover:information_provision"}  # the two hand-over acts (tsunagu.handover)
    assert {b["source"] for b in bases} == set(packaged_manifests().manifests) | handover
