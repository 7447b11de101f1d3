"""保存期間: removing what has outlived its period, in the vaults and in the hub.

Periods come from three places: each source's manifest (``retention_years``, for the exports
in the department's vault), the catalogue (``retention_years`` per item, when shorter than its
source's) and ``hub_retention.yaml`` (what the hub derives or records; a home may override it
with ``<home>/retention.yaml``). Audit entries keep their own, longer period and are never
removed here: the run only reports up to which signed checkpoint an operator may purge them.

Every run — a dry run too — writes an audit entry with what it counted or removed; a real run
also records its start before the vaults are touched, and adds a ``deletion_records`` row per
table and source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import and_, delete, exists, select
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.catalog import Catalog, catalog_of
from tsunagu.catalog.manifest import ManifestSet, manifests_for_home
from tsunagu.config import Settings
from tsunagu.link.models import HouseholdMember, LinkDecision, PersonLink
from tsunagu.privacy import AuditCheckpoint, AuditEntry, AuditEvent, Subject, append, authorise, registered_actions
from tsunagu.privacy.policy import JST
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.vault.node import LocalNode, Node
from tsunagu.vault.retention import SourcePeriod, purge_vault, years_before
from tsunagu.work.cases.models import Case, CaseContact, CaseEvent, CaseMeeting, LedgerEntry
from tsunagu.work.cases.retention import plan_cases
from tsunagu.work.errors import Refused
from tsunagu.work.models import FollowUp, Referral, Review, SupportPlan
from tsunagu.work.rights.models import (
    CorrectionNotice,
    DataRequest,
    DataRequestEvent,
    DeletionRecord,
    DisputedItem,
)
from tsunagu.work.voice.models import KokoroCheckIn, VoiceAlert, VoiceMessage, VoiceThread
from tsunagu.yamlstrict import load_model

HOME_FILE = "retention.yaml"
# The policy has no action for the retention job yet: until it does (``retention.run``, kind
# system), the two roles that may use the CLI for governance run it, and the run is recorded.
ACTION = "retention.run"
PURPOSE = "administration"
ROLES = ("privacy_officer", "administrator")
RECORD_TYPES = ("screening_results", "household_members", "link_decisions", "work_records", "case_records",
                "data_requests", "consultation_threads", "kokoro_checkins")


class AuditPeriod(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    years: int = Field(ge=1, le=100)
    reference: str = Field(min_length=1)


class HubRecordType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    years: int = Field(ge=1, le=100)
    counted_from: str = Field(min_length=1)
    reference: str = Field(min_length=1)
    purpose: str = Field(min_length=1)
    items: list[str] = Field(min_length=1)
    collection: str = Field(min_length=1)
    sensitive: bool
    # Kept at least until the child reaches this age, where the hub knows it (case records: 25).
    until_age: int | None = Field(default=None, ge=1, le=100)


class HubPeriods(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    audit: AuditPeriod
    records: dict[str, HubRecordType]

    @model_validator(mode="after")
    def _every_type(self) -> HubPeriods:
        missing = [t for t in RECORD_TYPES if t not in self.records]
        unknown = [t for t in self.records if t not in RECORD_TYPES]
        if missing or unknown:
            raise ValueError(
                f"records must be exactly {', '.join(RECORD_TYPES)} (missing {missing}, unknown {unknown})")
        return self


@lru_cache(maxsize=1)
def packaged_periods() -> HubPeriods:
    return load_model(Path(str(resources.files("tsunagu.work.rights") / "hub_retention.yaml")), HubPeriods)


def hub_periods(home: Path) -> HubPeriods:
    own = home / HOME_FILE
    return load_model(own, HubPeriods) if own.is_file() else packaged_periods()


def source_periods(catalog: Catalog, manifests: ManifestSet) -> list[SourcePeriod]:
    return [SourcePeriod(m.source, m.retention_years,
                         {i: catalog.items[i].retention_years for i in sorted(m.item_ids) if i in catalog.items})
            for m in sorted(manifests.manifests.values(), key=lambda m: m.source)]


def _moment(day: date) -> datetime:
    """The start of ``day`` in Japan, as the UTC moment the hub stores."""
    return datetime.combine(day, time(), tzinfo=JST).astimezone(UTC)


@dataclass
class HubPlan:
    """Ids of the hub rows past their period, table by table, in deletion order."""

    ids: dict[str, list[int]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {table: len(ids) for table, ids in self.ids.items()}


def plan_hub(session: Session, periods: HubPeriods, today: date) -> HubPlan:
    def cutoff(kind: str) -> datetime:
        return _moment(years_before(today, periods.records[kind].years))

    plan = HubPlan()
    work = cutoff("work_records")
    expired_plans = set(session.scalars(select(SupportPlan.id).where(
        SupportPlan.status == "closed", SupportPlan.closed_at < work)))
    kept_reviews = set(session.scalars(select(SupportPlan.review_id).where(
        SupportPlan.review_id.is_not(None), SupportPlan.id.not_in(expired_plans))))
    plan.ids["follow_ups"] = sorted(session.scalars(select(FollowUp.id).where(FollowUp.plan_id.in_(expired_plans))))
    plan.ids["referrals"] = sorted(session.scalars(select(Referral.id).where(Referral.plan_id.in_(expired_plans))))
    plan.ids["support_plans"] = sorted(expired_plans)
    # A review still behind a plan in use stays as long as that plan.
    plan.ids["reviews"] = sorted(r for r in session.scalars(select(Review.id).where(Review.created_at < work))
                                 if r not in kept_reviews)
    closed = set(session.scalars(select(DataRequest.id).where(
        DataRequest.status.in_(("completed", "refused")), DataRequest.closed_at < cutoff("data_requests"))))
    notices = set(session.scalars(select(CorrectionNotice.id).where(CorrectionNotice.request_id.in_(closed))))
    plan.ids["disputed_items"] = sorted(session.scalars(select(DisputedItem.id).where(
        DisputedItem.notice_id.in_(notices))))
    plan.ids["correction_notices"] = sorted(notices)
    plan.ids["data_request_events"] = sorted(session.scalars(select(DataRequestEvent.id).where(
        DataRequestEvent.request_id.in_(closed))))
    plan.ids["data_requests"] = sorted(closed)
    screening_cutoff = years_before(today, periods.records["screening_results"].years)
    plan.ids["screening_results"] = sorted(session.scalars(
        select(ScreeningResult.id).join(ScreeningRun, ScreeningRun.run_id == ScreeningResult.run_id)
        .where(ScreeningRun.as_of < screening_cutoff)))
    plan.ids["household_members"] = sorted(session.scalars(select(HouseholdMember.id).where(
        HouseholdMember.valid_to.is_not(None), HouseholdMember.valid_to < cutoff("household_members"))))
    # A decision is kept while either of its records is still in the link index: a later run
    # must not merge twins again because the decision that kept them apart expired.
    linked = select(PersonLink.id).where(
        (PersonLink.source + ":" + PersonLink.local_id).in_([LinkDecision.left_key, LinkDecision.right_key]))
    plan.ids["link_decisions"] = sorted(session.scalars(select(LinkDecision.id).where(
        and_(LinkDecision.decided_at < cutoff("link_decisions"), ~exists(linked)))))
    _plan_voice(session, plan, cutoff("consultation_threads"), years_before(today, periods.records["kokoro_checkins"].years))
    # Case records are planned before the screening results go: a child's age is read from them.
    cases = periods.records["case_records"]
    plan.ids.update(plan_cases(session, cutoff("case_records"), today, cases.until_age))
    return plan


def _plan_voice(session: Session, plan: HubPlan, threads_before: datetime, checkins_before: date) -> None:
    """Threads whose last message is past the period, with their messages and alerts; old check-ins."""
    old = sorted(session.scalars(select(VoiceThread.id).where(VoiceThread.last_message_at < threads_before)))
    plan.ids["voice_alerts"] = sorted(session.scalars(select(VoiceAlert.id).where(
        VoiceAlert.thread_id.in_(old) | ((VoiceAlert.kind == "streak") & (VoiceAlert.created_at < _moment(checkins_before))))))
    plan.ids["voice_messages"] = sorted(session.scalars(select(VoiceMessage.id).where(VoiceMessage.thread_id.in_(old))))
    plan.ids["voice_threads"] = old
    plan.ids["kokoro_checkins"] = sorted(session.scalars(select(KokoroCheckIn.id).where(
        KokoroCheckIn.day < checkins_before)))


_MODELS: dict[str, Any] = {
    "follow_ups": FollowUp, "referrals": Referral, "support_plans": SupportPlan, "reviews": Review,
    "disputed_items": DisputedItem, "correction_notices": CorrectionNotice, "data_request_events": DataRequestEvent,
    "data_requests": DataRequest, "screening_results": ScreeningResult, "household_members": HouseholdMember,
    "link_decisions": LinkDecision, "voice_alerts": VoiceAlert, "voice_messages": VoiceMessage,
    "voice_threads": VoiceThread, "kokoro_checkins": KokoroCheckIn, "case_events": CaseEvent,
    "case_contacts": CaseContact, "case_meetings": CaseMeeting, "ledger_entries": LedgerEntry, "cases": Case,
}
_BATCH = 500


def delete_planned(session: Session, plan: HubPlan) -> None:
    for table, ids in plan.ids.items():
        model = _MODELS[table]
        for start in range(0, len(ids), _BATCH):
            session.execute(delete(model).where(model.id.in_(ids[start:start + _BATCH])))
    session.flush()


@dataclass
class AuditRetention:
    years: int
    older_than: date
    entries_past_period: int
    purge_upto_seq: int | None  # the last signed checkpoint whose entries are all past the period


def audit_retention(session: Session, periods: HubPeriods, today: date) -> AuditRetention:
    older_than = years_before(today, periods.audit.years)
    moment = _moment(older_than)
    past = session.scalars(select(AuditEntry.seq).where(AuditEntry.at < moment).order_by(AuditEntry.seq.desc())
                           .limit(1)).first()
    upto = None
    if past is not None:
        upto = session.scalars(select(AuditCheckpoint.upto_seq).where(AuditCheckpoint.upto_seq <= past)
                               .order_by(AuditCheckpoint.upto_seq.desc()).limit(1)).first()
    count = len(list(session.scalars(select(AuditEntry.seq).where(AuditEntry.at < moment))))
    return AuditRetention(periods.audit.years, older_than, count, upto)


@dataclass
class RetentionReport:
    today: date
    dry_run: bool
    hub: dict[str, int] = field(default_factory=dict)
    vaults: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # department -> source -> table
    expired_exports: dict[str, int] = field(default_factory=dict)  # source -> exports past their period
    remote: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    audit: AuditRetention | None = None

    @property
    def total(self) -> int:
        vault_rows = sum(n for d in self.vaults.values() for t in d.values() for n in t.values())
        return sum(self.hub.values()) + vault_rows


def _authorise(session: Session, subject: Subject, today: date, dry_run: bool, key: Ed25519PrivateKey | None) -> None:
    if ACTION in registered_actions():
        decision = authorise(session, subject, ACTION, PURPOSE, key=key)
        if not decision.allowed:
            raise Refused(decision.reason, decision)
        return
    if subject.role not in ROLES:
        reason = f"拒否（保存期間の処理）: 保存期間の処理は {'・'.join(ROLES)} だけが実行できます。"
        append(session, AuditEvent(actor=subject.user_id, role=subject.role, organisation=subject.organisation,
                                   purpose=PURPOSE, action=ACTION, outcome="denied", reason=reason,
                                   rule="rights.retention_roles"), key=key)
        raise Refused(reason)
    if not dry_run:
        # A real run deletes in the vaults before the hub's closing entry: its start is on record first,
        # so a run that dies half-way is still in the log.
        append(session, AuditEvent(actor=subject.user_id, role=subject.role, organisation=subject.organisation,
                                   purpose=PURPOSE, action=ACTION, outcome="allowed",
                                   reason=f"保存期間の処理を開始（{today.isoformat()}時点）",
                                   rule="rights.retention_start"), key=key)


def _vaults(catalog: Catalog, nodes: Mapping[str, Node], manifests: ManifestSet, report: RetentionReport) -> None:
    periods = {p.source: p for p in source_periods(catalog, manifests)}
    for department, node in sorted(nodes.items()):
        if not isinstance(node, LocalNode):
            report.remote.append(department)  # its own host runs the vault part
            continue
        own = [periods[m.source] for m in manifests.of_department(department) if m.source in periods]
        try:
            purge = purge_vault(node.vault, own, report.today, dry_run=report.dry_run)
        except Exception as exc:  # one department's failure must not hide the others' results
            report.errors[department] = f"{type(exc).__name__}: {exc}"
            continue
        report.vaults[department] = purge.rows
        report.expired_exports.update(purge.loads)


def _summary(report: RetentionReport) -> str:
    verb = "対象（試行・削除なし）" if report.dry_run else "削除"
    vault_rows = sum(n for d in report.vaults.values() for t in d.values() for n in t.values())
    text = (f"保存期間の処理（{report.today.isoformat()}）: {verb} ハブ {sum(report.hub.values())}件、"
            f"部署の保管庫 {vault_rows}件")
    if report.errors:
        text += f"。失敗: {', '.join(sorted(report.errors))}"
    return text + "。アクセス記録は削除しません"


def run_retention(
    settings: Settings, subject: Subject, *, today: date | None = None, dry_run: bool = False,
    vaults: bool = True, hub: bool = True, key: Ed25519PrivateKey | None = None, sessions: sessionmaker[Session],
    nodes: Mapping[str, Node],
) -> RetentionReport:
    """Count (dry run) or remove everything past its period; always one audit entry.

    ``sessions`` writes to the hub store of ``settings``' home and ``nodes`` are its departments' nodes
    (``tsunagu.hub.Hub.sessions`` and ``Hub.nodes()``).
    """
    report = RetentionReport(today or datetime.now(JST).date(), dry_run)
    periods = hub_periods(settings.home)
    manifests = manifests_for_home(settings.home)
    factory = sessions
    session = factory()
    catalog = catalog_of(session)
    try:
        # Decided and recorded before any vault is touched; a refusal is committed, then raised.
        _authorise(session, subject, report.today, dry_run, key)
        session.commit()
    except Refused:
        session.commit()
        raise
    finally:
        session.close()
    if vaults:
        _vaults(catalog, nodes, manifests, report)
    with factory.begin() as session:
        if hub:
            plan = plan_hub(session, periods, report.today)
            report.hub = plan.counts()
            if not dry_run:
                delete_planned(session, plan)
        report.audit = audit_retention(session, periods, report.today)
        _record(session, subject, report, key)
    return report


def _record(session: Session, subject: Subject, report: RetentionReport, key: Ed25519PrivateKey | None) -> None:
    now = datetime.now(UTC)
    if not report.dry_run:
        reason = f"保存期間の経過（{report.today.isoformat()}時点）"
        targets = [(table, n) for table, n in report.hub.items()]
        targets += [(f"vault:{d}:{s}:{t}", n) for d, sources in report.vaults.items()
                    for s, tables in sources.items() for t, n in tables.items()]
        for target, rows in targets:
            if rows:
                session.add(DeletionRecord(at=now, cause="retention", request_id=None, actor=subject.user_id,
                                           person_id=None, target=target, rows=rows, reason=reason))
    append(session, AuditEvent(
        actor=subject.user_id, role=subject.role, organisation=subject.organisation, purpose=PURPOSE, action=ACTION,
        outcome="error" if report.errors else "allowed", reason=_summary(report), rule="rights.retention",
    ), key=key)
