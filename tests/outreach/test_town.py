"""Push-type support on a linked synthetic town: run, the department's list, letters, opt-out, outcomes."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from support.hubs import copy_home, hub_of
from support.municipality import SmallTown
from support.postgres import fresh_database
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.cli import app
from tsunagu.config import load_settings
from tsunagu.home import init_home
from tsunagu.hub import Hub
from tsunagu.ingest.load import Ingestor
from tsunagu.link.models import PersonLink
from tsunagu.link.run import run_linkage
from tsunagu.municipality import Municipality
from tsunagu.outreach.lists import gap_list, outcomes_summary
from tsunagu.outreach.models import OutreachNotice, OutreachResult
from tsunagu.outreach.notices import make_wave, record_opt_out
from tsunagu.outreach.programmes import ProgrammeSet, load_programmes
from tsunagu.outreach.run import OutreachReport, run_outreach
from tsunagu.privacy import AuditEntry, Subject
from tsunagu.vault.node import Node
from tsunagu.work.errors import Refused

AS_OF = date(2026, 10, 31)
OFFICER = Subject("officer1", "programme_officer", "board_of_education")


@dataclass
class Town:
    home: Path
    hub: Hub
    sessions: sessionmaker[Session]
    nodes: dict[str, Node]
    programmes: ProgrammeSet
    report: OutreachReport
    truth: Path
    exports: Path


@pytest.fixture(scope="module")
def town(linked_town: Path, small_town: SmallTown, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Town]:
    home = tmp_path_factory.mktemp("outreach") / "home"
    copy_home(linked_town, home, scope="session")
    with hub_of(home, migrate_store=True) as hub:
        programmes = load_programmes(hub.rules_path, hub.settings.municipality_code)
        with hub.sessions.begin() as session:
            report = run_outreach(session, hub.nodes(), hub.manifests, hub.catalog, programmes, AS_OF)
        yield Town(home, hub, hub.sessions, hub.nodes(), programmes, report, small_town.truth, small_town.exports)


def test_a_run_counts_every_programme_and_keeps_the_conditions(town: Town) -> None:
    counts = town.report.programmes
    assert counts["school_aid"]["gap"] > 0 and counts["vaccination"]["gap"] > 0
    assert counts["child_allowance"]["eligible"] > 1000
    with town.sessions() as session:
        row = session.scalars(select(OutreachResult).where(OutreachResult.programme == "school_aid",
                                                           OutreachResult.gap.is_(True)).limit(1)).one()
        held = [c for c in json.loads(row.conditions) if c["held"]]
        assert held and all(e["department"] and e["observed_on"] for c in held for e in c["evidence"])


def test_the_list_shows_only_the_departments_programmes_without_other_departments_values(town: Town) -> None:
    with town.sessions.begin() as session:
        listing = gap_list(session, OFFICER, town.programmes, town.nodes, per_page=400)
    assert listing.total > 0 and {p["id"] for p in listing.programmes} == {"school_aid"}
    text = json.dumps([h.__dict__ for h in listing.households], default=lambda o: o.__dict__, ensure_ascii=False)
    for secret in ("税務課", "生活福祉課", "非課税", "生活保護を受けている", "合計所得金額"):
        assert secret not in text, secret
    assert "経済的な事情による要件に当たる" in text or "所得が市の基準以下" in text
    assert all(c.name and "（氏名" not in c.name for h in listing.households for c in h.children)
    with town.sessions() as session:
        entries = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "outreach.list", AuditEntry.person_id.is_not(None)))
    assert entries and entries >= sum(len(h.children) for h in listing.households)


def test_another_departments_officer_is_refused_on_the_record(town: Town) -> None:
    other = Subject("officer2", "programme_officer", "childcare")
    with town.sessions.begin() as session:
        listing = gap_list(session, other, town.programmes, town.nodes)
    assert {p["id"] for p in listing.programmes} == {"nursery", "temporary_care"}
    with town.sessions.begin() as session, pytest.raises(Refused):
        gap_list(session, other, town.programmes, town.nodes, department="board_of_education")
    teacher = Subject("t1", "teacher", "board_of_education")
    with town.sessions.begin() as session, pytest.raises(Refused):
        gap_list(session, teacher, town.programmes, town.nodes)
    with town.sessions() as session:
        refused = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "outreach.list", AuditEntry.outcome == "denied"))
    assert refused and refused >= 2


def _new_aid_export(town: Town, people: list[str]) -> Path:
    """The board's next export: everyone certified before, and the noticed children who applied."""
    original = next(town.exports.glob("shugaku_enjo_*.csv"))
    lines = original.read_bytes().decode("cp932").splitlines()
    with town.sessions() as session:
        aza = dict(session.execute(select(PersonLink.person_id, PersonLink.local_id).where(
            PersonLink.source == "juki_jumin", PersonLink.person_id.in_(people))).all())
    new = [f"{aza[p]},準要保護,令和8年11月20日" for p in people if p in aza]
    path = town.home / "later" / "shugaku_enjo_20261130.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join([*lines, *new]) + "\r\n").encode("cp932"))
    return path


def test_letters_skip_the_opted_out_and_the_next_run_shows_who_applied(town: Town, tmp_path: Path) -> None:
    with town.sessions() as session:
        gaps = session.execute(select(OutreachResult.person_id, OutreachResult.household_id).where(
            OutreachResult.programme == "school_aid", OutreachResult.gap.is_(True))).all()
    households = sorted({h for _, h in gaps})
    quiet = households[0]
    quiet_person = next(p for p, h in gaps if h == quiet)
    with town.sessions.begin() as session:
        record_opt_out(session, OFFICER, quiet_person, "電話で案内は不要との申出（11/5）")
    seen: list[tuple[int, int]] = []
    with town.sessions.begin() as session:
        wave = make_wave(session, OFFICER, town.programmes, town.nodes, tmp_path, sent_on=date(2026, 11, 10),
                         progress=lambda done, total: seen.append((done, total)))
    assert wave.letters == len(households) - 1 - wave.skipped_no_address and wave.skipped_opt_out == 1
    assert seen and seen[-1] == (wave.letters, wave.letters)
    with town.sessions() as session:
        noticed = session.scalars(select(OutreachNotice).where(OutreachNotice.wave_id == wave.wave_id)).all()
    assert quiet not in {n.household_id for n in noticed}
    mailing = Path(wave.folder) / "mailing.csv"
    raw = mailing.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0][0] == "通知番号" and len(rows) == wave.letters + 1
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows[1:] for cell in row)
    # the board's next export: the first ten noticed children were certified on 2026-11-20
    applied = [p for n in noticed[:10] for p in json.loads(n.person_ids)["school_aid"]]
    settings = town.hub.settings
    ingestor = Ingestor(town.hub.manifests, settings.vault_dir, settings.hub_url)
    try:
        ingestor.ingest_file(_new_aid_export(town, applied))
    finally:
        ingestor.close()
    with town.sessions.begin() as session:  # as in operation: ingest, link, then the run
        run_linkage(session, town.nodes, town.hub.manifests)
    with town.sessions.begin() as session:
        second = run_outreach(session, town.nodes, town.hub.manifests, town.hub.catalog, town.programmes,
                              date(2026, 11, 30))
    outcome = second.outcomes[wave.wave_id]["school_aid"]
    assert outcome["in_window"] == len(applied) and outcome["noticed"] >= len(applied)
    with town.sessions.begin() as session:
        summary = outcomes_summary(session, OFFICER, town.programmes)
    shown = next(w for w in summary["waves"] if w["wave_id"] == wave.wave_id)["programmes"][0]
    assert shown["in_window"] == len(applied) and shown["rate"] == pytest.approx(len(applied) / shown["settled"], abs=1e-4)


def test_evaluate_prints_recall_and_precision_per_programme(town: Town) -> None:
    result = CliRunner().invoke(app, ["outreach", "evaluate", "--truth", str(town.truth), "--home", str(town.home),
                                      "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    school = report["programmes"]["school_aid"]
    assert set(school) >= {"recall", "precision", "eligible", "not_receiving"}
    assert school["recall"] is not None and school["recall"] > 0.8 and school["precision"] > 0.8


def test_the_cli_lists_and_reports_outcomes_as_json(town: Town) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["outreach", "list", "--department", "childcare", "--home", str(town.home), "--json"])
    assert listed.exit_code == 0, listed.output
    listing = json.loads(listed.output)
    assert listing["department_label"] == "保育課" and listing["total"] == len(listing["households"]) > 0
    assert {p["id"] for p in listing["programmes"]} == {"nursery", "temporary_care"}
    outcomes = runner.invoke(app, ["outreach", "outcomes", "--department", "childcare", "--home", str(town.home),
                                   "--json"])
    assert outcomes.exit_code == 0, outcomes.output
    assert json.loads(outcomes.output)["department"] == "childcare"
    refused = runner.invoke(app, ["outreach", "list", "--department", "childcare", "--as-role", "teacher",
                                  "--home", str(town.home)])
    assert refused.exit_code != 0 and "拒否" in refused.output


@pytest.mark.postgres
def test_a_run_on_postgres_counts_as_on_the_embedded_store(town: Town, small_town: SmallTown, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Hub and vaults on PostgreSQL (the vaults one schema each): the same town gives the same counts."""
    with fresh_database("tsunagu_outreach") as url:
        monkeypatch.setenv("TSUNAGU_DATABASE_URL", url)
        home = tmp_path / "home"
        init_home(home, Municipality("272205", "つなぐ市"))
        settings = load_settings(home)
        assert settings.uses_postgres
        ingestor = Ingestor(packaged_manifests(), settings.vault_dir, settings.hub_url)
        try:
            ingestor.ingest([small_town.exports])
        finally:
            ingestor.close()
        with Hub.open(settings) as hub:
            with hub.sessions.begin() as session:
                run_linkage(session, hub.nodes(), hub.manifests)
            with hub.sessions.begin() as session:
                report = run_outreach(session, hub.nodes(), hub.manifests, hub.catalog, town.programmes, AS_OF)
    assert report.programmes == town.report.programmes
