"""Retention: a dry run counts, a real run removes exactly that; audit entries are never removed."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rights.conftest import OFFICER, Town
from tsunagu.privacy import AuditEntry, Subject, verify
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.vault import schema
from tsunagu.vault.node import LocalNode
from tsunagu.work.cases.models import Case, CaseContact, CaseEvent, CaseMeeting, LedgerEntry
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


def _case_records(session: Session, person: str, status: str, closed: datetime | None) -> None:
    at = closed or datetime(2026, 11, 1, tzinfo=UTC)
    session.add(Case(person_id=person, status=status, owner=None, team="", opened_at=datetime(2026, 6, 1, tzinfo=UTC),
                     updated_at=at))
    session.add(CaseEvent(person_id=person, at=at, actor="cw", kind="status", from_status="支援中", to_status=status,
                          from_owner=None, to_owner=None, reason_enc=None))
    session.add(CaseContact(person_id=person, contact_on=date(2026, 12, 1), kind="電話", staff="cw",
                            counterpart_enc=b"x", summary_enc=b"x", created_by="cw", created_at=at))
    session.add(CaseMeeting(person_id=person, held_on=date(2026, 12, 5), attendees_enc=b"x", decisions_enc=b"x",
                            next_review_on=None, created_by="cw", created_at=at))
    session.add(LedgerEntry(person_id=person, category="要支援児童", lead_agency="こども家庭センター",
                            registered_on=date(2026, 6, 1), last_reviewed_on=date(2026, 12, 5),
                            next_review_on=date(2027, 3, 5), closed_on=closed.date() if closed else None,
                            updated_by="cw", updated_at=at))


def test_case_records_expire_together_ten_years_after_closing_and_not_before_the_child_is_25(town: Town) -> None:
    closed = datetime(2027, 1, 10, tzinfo=UTC)
    with town.factory.begin() as session:
        age, as_of = session.execute(
            select(ScreeningResult.age, ScreeningRun.as_of).join(ScreeningRun, ScreeningRun.run_id == ScreeningResult.run_id)
            .where(ScreeningResult.person_id == town.child).order_by(ScreeningRun.as_of.desc()).limit(1)).one()
        _case_records(session, town.child, "終結", closed)        # closed; the hub knows the child's age
        _case_records(session, "P-no-result", "終結", closed)     # closed; no screening result: years alone
        _case_records(session, "P-open", "支援中", None)          # open: never expired
    assert age is not None and age + (2037 - as_of.year) < 25  # the child is under 25 ten years after closing
    periods = packaged_periods().records["case_records"]
    assert (periods.years, periods.until_age) == (10, 25) and "25歳" in periods.reference

    def planned(day: date) -> dict[str, int]:
        report = run_retention(town.settings, OFFICER, sessions=town.factory, nodes=town.nodes, today=day,
                               vaults=False, dry_run=True)
        return {t: report.hub[t] for t in ("cases", "case_events", "case_contacts", "case_meetings", "ledger_entries")}

    assert set(planned(date(2037, 1, 9)).values()) == {0}          # within ten years of closing
    assert set(planned(date(2037, 2, 1)).values()) == {1}          # P-no-result only: the child is not 25 yet
    twenty_five = as_of.year + math.ceil(25 - age) + 1
    run_retention(town.settings, OFFICER, sessions=town.factory, nodes=town.nodes, today=date(twenty_five, 1, 1),
                  vaults=False)
    with town.factory() as session:
        left = {model.__tablename__: set(session.scalars(select(model.person_id)))  # type: ignore[attr-defined]
                for model in (Case, CaseEvent, CaseContact, CaseMeeting, LedgerEntry)}
        targets = {r.target for r in session.scalars(select(DeletionRecord).where(DeletionRecord.cause == "retention"))}
    assert all(people == {"P-open"} for people in left.values()), left
    assert {"cases", "case_events", "case_contacts", "case_meetings", "ledger_entries"} <= targets
