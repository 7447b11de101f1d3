"""Retention: a dry run counts, a real run removes exactly that; audit entries are never removed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from rights.conftest import OFFICER, Town
from tsunagu.privacy import AuditEntry, Subject, verify
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.vault import schema
from tsunagu.vault.node import LocalNode
from tsunagu.work.errors import Refused
from tsunagu.work.rights.models import DeletionRecord
from tsunagu.work.rights.retention import packaged_periods, run_retention

FAR = date(2040, 4, 1)


def _vault_rows(town: Town, table: str, **where: str) -> int:
    total = 0
    for node in town.nodes.values():
        assert isinstance(node, LocalNode)
        t = schema.metadata.tables[table]
        query = select(func.count()).select_from(t).where(*[t.c[k] == v for k, v in where.items()])
        with node.vault.reading() as conn:
            total += int(conn.execute(query).scalar_one())
    return total


def _hub(town: Town, model: type[object]) -> int:
    with town.factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


def test_dry_run_reports_and_the_real_run_deletes_exactly_that(town: Town) -> None:
    observations, results = _vault_rows(town, "observations"), _hub(town, ScreeningResult)
    audit = _hub(town, AuditEntry)
    dry = run_retention(town.settings, OFFICER, sessions=town.factory, nodes=town.nodes, today=FAR, dry_run=True)
    assert dry.total > 0 and dry.hub["screening_results"] == results
    assert set(dry.vaults) >= {"resident_registry", "schools", "family_centre"}
    assert _vault_rows(town, "observations") == observations and _hub(town, ScreeningResult) == results
    real = run_retention(town.settings, OFFICER, sessions=town.factory, nodes=town.nodes, today=FAR)
    assert (real.hub, real.vaults) == (dry.hub, dry.vaults)
    removed = sum(t["observations"] for d in real.vaults.values() for t in d.values())
    assert _vault_rows(town, "observations") == observations - removed
    assert _hub(town, ScreeningResult) == 0
    # 児童相談所 keeps its records for 25 years: still there in 2040.
    assert _vault_rows(town, "records", source="jisou") > 0
    assert run_retention(town.settings, OFFICER, sessions=town.factory, nodes=town.nodes, today=FAR, dry_run=True).total == 0
    # Audit entries: never removed; each run (dry ones too) added one; the chain still verifies.
    audit_now = _hub(town, AuditEntry)  # read before opening the session below: one hub transaction at a time
    with town.factory() as session:
        runs = session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.run")).all()
        # dry run, real run (its start, then its result), dry run
        assert [r.rule for r in runs] == ["rights.retention", "rights.retention_start", "rights.retention",
                                          "rights.retention"]
        assert all(r.outcome == "allowed" for r in runs) and "アクセス記録は削除しません" in runs[0].reason
        assert audit_now >= audit + 4
        targets = {r.target for r in session.scalars(select(DeletionRecord).where(DeletionRecord.cause == "retention"))}
        assert "screening_results" in targets and any(t.startswith("vault:schools:") for t in targets)
        assert verify(session, town.key().public_key()).ok
    assert real.audit is not None and real.audit.years == packaged_periods().audit.years


def test_an_item_with_a_shorter_period_loses_its_values_first(town: Town) -> None:
    # こども家庭センター: exports kept 10 years, 家庭児童相談 (family_consultation) only 5.
    day = date(2033, 4, 1)
    before_abuse = _vault_rows(town, "observations", item_id="abuse_consultation")
    before_family = _vault_rows(town, "observations", item_id="family_consultation")
    assert before_family > 0
    report = run_retention(town.settings, OFFICER, sessions=town.factory, nodes=town.nodes, today=day)
    assert report.expired_exports["kodomo_center"] == 0  # the exports themselves are within their 10 years
    assert report.vaults["family_centre"]["kodomo_center"]["records"] == 0
    assert report.vaults["family_centre"]["kodomo_center"]["observations"] == before_family
    assert _vault_rows(town, "observations", item_id="family_consultation") == 0
    assert _vault_rows(town, "observations", item_id="abuse_consultation") == before_abuse


def test_only_governance_roles_run_retention_and_a_refusal_is_recorded(town: Town) -> None:
    teacher = Subject("t1", "teacher", "C000000")
    try:
        run_retention(town.settings, teacher, sessions=town.factory, nodes=town.nodes, today=FAR)
        raise AssertionError("a teacher ran the retention job")
    except Refused:
        pass
    with town.factory() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.run")).one()
    assert entry.outcome == "denied" and entry.role == "teacher"
    assert _hub(town, ScreeningResult) > 0
