"""訂正: a value the family disputes goes back to the department that holds it.

tsunagu never edits a department's data: the vault is the department's, and a correction made
in the hub would be overwritten by the next export. A correction request therefore opens a
notice for the holding department's data steward and marks the value as disputed (係争中) on
every screen and in the disclosure pack, until the department confirms that a corrected export
was loaded, or rejects the claim with a reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog, catalog_of
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link.models import PersonLink
from tsunagu.privacy import AuditEvent, Decision, PrivacyNotification, Subject, append, authorise
from tsunagu.privacy.policy import JST, Policy, policy_of
from tsunagu.privacy.records import item_label
from tsunagu.work.access import organisation_schools
from tsunagu.work.errors import Invalid, NotFound, Refused
from tsunagu.work.rights.models import CorrectionNotice, DataRequest, DataRequestEvent, DisputedItem

REQUESTS_ACTION = "requests.handle"
REQUESTS_PURPOSE = "disclosure_handling"
# Confirming that a corrected export was loaded is the data steward's loading job.
STEWARD_ACTION = "sources.load"
STEWARD_PURPOSE = "administration"
OTHER_DEPARTMENT_RULE = "rights.other_department"

NOTICE_STATUSES = {"open": "対応待ち", "corrected": "訂正済み（訂正した出力を取込済み）", "rejected": "訂正しない（理由あり）"}
DISPUTE_STATUSES = {"disputed": "係争中（訂正請求あり）", "corrected": "訂正済み", "rejected": "訂正しない決定"}
MAX_CLAIM_CHARS = 500
MIN_REJECTION_CHARS = 10
IDENTITY_LABELS = {
    "aza_number": "宛名番号", "household_number": "世帯番号", "local_id": "記録番号", "full_name": "氏名",
    "family_name": "氏", "given_name": "名", "full_reading": "よみ", "family_reading": "氏のよみ",
    "given_reading": "名のよみ", "birth_date": "生年月日", "sex": "性別", "address": "住所", "postal_code": "郵便番号",
    "guardian_name": "保護者氏名", "guardian_reading": "保護者氏名のよみ", "guardian_aza_number": "保護者の宛名番号",
    "school_code": "学校コード", "previous_address": "前住所", "previous_name": "旧氏名",
}


@dataclass(frozen=True)
class CorrectionClaim:
    """What the family says is wrong and what they say is right."""

    source: str
    local_id: str
    field: str
    claimed_value: str


@dataclass(frozen=True)
class NoticeView:
    id: int
    request_id: int
    person_id: str
    department: str
    department_label: str
    source: str
    source_label: str
    local_id: str
    field: str
    field_kind: str
    field_label: str
    claimed_value: str
    status: str
    status_label: str
    created_at: datetime
    resolved_at: datetime | None
    resolution_note: str | None
    corrected_export_on: date | None


@dataclass(frozen=True)
class DisputeView:
    source: str
    local_id: str
    field: str
    field_label: str
    status: str
    status_label: str
    since: datetime
    notice_id: int
    request_id: int


def field_label(catalog: Catalog, field: str) -> str:
    item = catalog.items.get(field)
    return item.label if item is not None else IDENTITY_LABELS.get(field, field)


def _source_label(manifests: ManifestSet | None, source: str) -> str:
    if manifests is not None and source in manifests.manifests:
        return manifests.manifests[source].label
    return source


def check_claim(session: Session, person_id: str, claim: CorrectionClaim, manifests: ManifestSet) -> tuple[str, str]:
    """(department, field kind) of a claim about one of the child's records; Invalid otherwise."""
    manifest = manifests.manifests.get(claim.source)
    if manifest is None:
        raise Invalid("記録を持つ部署を一覧から選んでください。", field="source")
    if claim.field in manifest.item_ids:
        kind = "item"
    elif claim.field in manifest.identifiers:
        kind = "identity"
    else:
        choices = [IDENTITY_LABELS.get(k, k) for k in manifest.identifiers] + [
            item_label(i) for i in sorted(manifest.item_ids)]
        raise Invalid(f"{manifest.label} に選んだ項目はありません（この記録の項目: {'、'.join(choices) or 'なし'}）。",
                      field="field")
    value = claim.claimed_value.strip()
    if not value:
        raise Invalid("正しいとされる値（本人の主張）を入力してください。", field="claimed_value")
    if len(value) > MAX_CLAIM_CHARS:
        raise Invalid(f"本人の主張は{MAX_CLAIM_CHARS}文字以内で入力してください。", field="claimed_value")
    # A source keyed by another source's ids (school records by the roll's pupil numbers) is
    # linked through that source's record.
    keyed_by = {claim.source, manifest.identity_of or claim.source}
    linked = session.scalars(select(PersonLink.id).where(
        PersonLink.person_id == person_id, PersonLink.local_id == claim.local_id.strip(),
        PersonLink.source.in_(keyed_by)).limit(1)).first()
    if linked is None:
        raise Invalid(f"{manifest.label} の記録 {claim.local_id} は、この子どもに名寄せされた記録ではありません。")
    return manifest.department, kind


def open_notices(session: Session, request: DataRequest, claims: Sequence[CorrectionClaim],
                 manifests: ManifestSet) -> list[CorrectionNotice]:
    """One notice (and one disputed-item marker) per claim, for the holding department."""
    if not claims:
        raise Invalid("訂正を求める項目を1つ以上指定してください。", field="local_id")
    now = datetime.now(UTC)
    notices = []
    for claim in claims:
        department, kind = check_claim(session, request.person_id, claim, manifests)
        notice = CorrectionNotice(
            request_id=request.id, person_id=request.person_id, department=department, source=claim.source,
            local_id=claim.local_id.strip(), field=claim.field, field_kind=kind,
            claimed_value=claim.claimed_value.strip(),
            status="open", created_at=now,
        )
        session.add(notice)
        session.flush()
        session.add(DisputedItem(notice_id=notice.id, person_id=request.person_id, source=notice.source,
                                 local_id=notice.local_id, field=notice.field, since=now, status="disputed"))
        notices.append(notice)
    session.flush()
    return notices


def notice_view(catalog: Catalog, row: CorrectionNotice, manifests: ManifestSet | None = None) -> NoticeView:
    department = catalog.departments.get(row.department)
    return NoticeView(
        row.id, row.request_id, row.person_id, row.department, department.name if department else row.department,
        row.source, _source_label(manifests, row.source), row.local_id, row.field, row.field_kind,
        field_label(catalog, row.field), row.claimed_value, row.status, NOTICE_STATUSES.get(row.status, row.status),
        row.created_at, row.resolved_at, row.resolution_note, row.corrected_export_on,
    )


def notices_of_request(session: Session, request_id: int, manifests: ManifestSet | None = None) -> list[NoticeView]:
    rows = session.scalars(select(CorrectionNotice).where(CorrectionNotice.request_id == request_id)
                           .order_by(CorrectionNotice.id))
    return [notice_view(catalog_of(session), r, manifests) for r in rows]


def disputes_of(session: Session, person_id: str, *, active_only: bool = False) -> list[DisputeView]:
    """The child's disputed values (for the child page and the disclosure pack; callers guard the read)."""
    stmt = (select(DisputedItem, CorrectionNotice.request_id)
            .join(CorrectionNotice, CorrectionNotice.id == DisputedItem.notice_id)
            .where(DisputedItem.person_id == person_id).order_by(DisputedItem.id))
    if active_only:
        stmt = stmt.where(DisputedItem.status == "disputed")
    return [DisputeView(d.source, d.local_id, d.field, field_label(catalog_of(session), d.field), d.status,
                        DISPUTE_STATUSES.get(d.status, d.status), d.since, d.notice_id, request_id)
            for d, request_id in session.execute(stmt).all()]


def active_dispute_keys(disputes: Iterable[DisputeView]) -> set[tuple[str, str, str]]:
    return {(d.source, d.local_id, d.field) for d in disputes if d.status == "disputed"}


def _departments(subject: Subject) -> set[str]:
    # A data steward's organisation is its department id (several, comma-separated, like schools).
    return organisation_schools(subject.organisation)


def _sees_all(policy: Policy, subject: Subject) -> bool:
    return policy.allows(subject, REQUESTS_ACTION, REQUESTS_PURPOSE, relationship="municipality")


def list_notices(session: Session, subject: Subject, *, include_resolved: bool = False,
                 manifests: ManifestSet | None = None, key: Ed25519PrivateKey | None = None) -> list[NoticeView]:
    """The privacy officer sees every notice; a data steward those of their own department(s).

    Each notice shown names a child and the disputed value, so, as for every list, one audit
    entry per child shown is added after the list decision.
    """
    every = _sees_all(policy_of(session), subject)
    action, purpose = (REQUESTS_ACTION, REQUESTS_PURPOSE) if every else (STEWARD_ACTION, STEWARD_PURPOSE)
    decision = authorise(session, subject, action, purpose, relationship="municipality" if every else "none", key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    stmt = select(CorrectionNotice).order_by(CorrectionNotice.status != "open", CorrectionNotice.created_at)
    if not include_resolved:
        stmt = stmt.where(CorrectionNotice.status == "open")
    if not every:
        stmt = stmt.where(CorrectionNotice.department.in_(sorted(_departments(subject))))
    rows = list(session.scalars(stmt))
    at = datetime.now(UTC)
    for person_id in dict.fromkeys(r.person_id for r in rows):
        append(session, AuditEvent.from_decision(subject, decision, action, purpose, person_id=person_id, at=at),
               key=key)
    return [notice_view(catalog_of(session), r, manifests) for r in rows]


def _refuse_other_department(session: Session, subject: Subject, notice: CorrectionNotice,
                             key: Ed25519PrivateKey | None) -> None:
    reason = (f"拒否（他部署の訂正連絡）: この訂正の連絡は {notice_view(catalog_of(session), notice).department_label} 宛てです。"
              "保有部署のデータ担当だけが対応できます。")
    append(session, AuditEvent(
        actor=subject.user_id, role=subject.role, organisation=subject.organisation, purpose=STEWARD_PURPOSE,
        action=STEWARD_ACTION, outcome="denied", reason=reason, rule=OTHER_DEPARTMENT_RULE, person_id=notice.person_id,
    ), key=key)
    raise Refused(reason, Decision(False, reason, OTHER_DEPARTMENT_RULE))


def resolve_notice(
    session: Session, subject: Subject, notice_id: int, outcome: str, *, note: str = "",
    corrected_export_on: date | None = None, key: Ed25519PrivateKey | None = None,
) -> NoticeView:
    """The holding department answers: ``corrected`` (a corrected export was loaded) or ``rejected``."""
    notice = session.get(CorrectionNotice, notice_id)
    if notice is None:
        raise NotFound(f"訂正の連絡 {notice_id} はありません。")
    decision = authorise(session, subject, STEWARD_ACTION, STEWARD_PURPOSE, person_id=notice.person_id, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    if notice.department not in _departments(subject):
        _refuse_other_department(session, subject, notice, key)
    if notice.status != "open":
        raise Invalid("この訂正の連絡には既に回答しています。")
    noticed_on = (notice.created_at if notice.created_at.tzinfo else notice.created_at.replace(tzinfo=UTC)) \
        .astimezone(JST).date()
    if outcome == "corrected":
        if corrected_export_on is None:
            raise Invalid("訂正を反映した出力ファイルの出力日（取込済みのもの）を入力してください。", field="export_date")
        if corrected_export_on < noticed_on:
            # An export made before the notice cannot carry the correction.
            raise Invalid(f"訂正の連絡（{noticed_on.isoformat()}）より前の出力では訂正が反映されていません。")
    elif outcome == "rejected":
        if len(note.strip()) < MIN_REJECTION_CHARS:
            raise Invalid(f"訂正しない理由を{MIN_REJECTION_CHARS}文字以上で入力してください（本人に通知されます）。", field="note")
    else:
        raise Invalid("回答は「訂正済み」か「訂正しない」のいずれかです。")
    now = datetime.now(UTC)
    notice.status, notice.resolved_at, notice.resolved_by = outcome, now, subject.user_id
    notice.resolution_note, notice.corrected_export_on = note.strip() or None, corrected_export_on
    for dispute in session.scalars(select(DisputedItem).where(DisputedItem.notice_id == notice.id)):
        dispute.status, dispute.resolved_at = outcome, now
    request = session.get(DataRequest, notice.request_id)
    assert request is not None  # a foreign key
    view = notice_view(catalog_of(session), notice)
    text = (f"訂正の連絡 #{notice.id}（{view.department_label}・{view.field_label}）: {view.status_label}"
            + (f"（出力日 {corrected_export_on.isoformat()}）" if corrected_export_on else f"（理由: {note.strip()}）"))
    session.add(DataRequestEvent(request_id=request.id, at=now, actor=subject.user_id, role=subject.role,
                                 event="notice", from_status=request.status, to_status=request.status, note=text))
    session.add(PrivacyNotification(created_at=now, kind="correction_answered", subject=subject.user_id,
                                    person_id=notice.person_id, text=f"受付番号 {request.id}: {text}"))
    session.flush()
    return view
