"""こども詳細: one child's linked picture, asked of the departments' nodes for a stated purpose.

The hub keeps no department rows: the timeline is built from ``node.record`` answers for each
of the child's (source, local_id) links, asking each department only for the items this user
may read for this purpose (by role, relationship, sensitivity and holding department). Each
department asked gets its own audit entry naming the items.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog, catalog_of
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link.models import Person, PersonLink
from tsunagu.link.searchkeys import CLASS_ITEM
from tsunagu.privacy import (
    AuditEvent,
    BreakGlassRefused,
    Decision,
    Grant,
    NoteCipher,
    Subject,
    append,
    authorise,
    break_glass,
    decide_with_grants,
)
from tsunagu.privacy.policy import Policy, policy_of
from tsunagu.privacy.records import existence_sensitivity, record_item
from tsunagu.screen.model import DOMAINS
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest
from tsunagu.work.access import guard, latest_result, relationship
from tsunagu.work.candidates import TREND_LABELS, Reason, domains_for, reasons_for
from tsunagu.work.classes import latest_class
from tsunagu.work.errors import NotFound, Refused
from tsunagu.work.facesheet import FaceSheet, build_face_sheet
from tsunagu.work.plans import PlanView, plans_of
from tsunagu.work.reviews import ReviewView, reviews_of
from tsunagu.work.rights.corrections import DisputeView, disputes_of
from tsunagu.work.wording import with_unit
from tsunagu.yamlstrict import ConfigError

METHOD_LABELS = {
    "aza_number": "宛名番号で確定", "probabilistic": "確率的名寄せ", "clerical": "職員が確認",
    "spine": "住民記録（基準）", "singleton": "単独の記録",
}
SEX_LABELS = {"M": "男", "F": "女"}
IDENTITY_SHOWN = ("full_name", "reading", "birth_date", "sex", "address", "school_code")
IDENTITY_LABELS = {"full_name": "氏名", "reading": "よみ", "birth_date": "生年月日", "sex": "性別",
                   "address": "住所", "school_code": "学校"}


@dataclass(frozen=True)
class LinkView:
    source: str
    source_label: str
    department: str
    department_label: str
    local_id: str
    method: str
    method_label: str
    probability: float | None


@dataclass(frozen=True)
class IdentityRow:
    source_label: str
    values: dict[str, str]


@dataclass(frozen=True)
class TimelineEntry:
    observed_on: date | None
    department_label: str
    source_label: str
    item_id: str
    item_label: str
    value: str
    snapshot_date: date | None
    stale: bool
    number: float | None = None  # the value as a number, for the charts (None: not a number)


@dataclass(frozen=True)
class TrendPoint:
    as_of: date
    tier: str
    score: int


@dataclass
class ChildView:
    person_id: str
    purpose: str
    purpose_label: str
    relationship: str
    relationship_label: str
    decision_reason: str
    break_glass: bool
    links: list[LinkView] = field(default_factory=list)
    identity: list[IdentityRow] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    tier: str | None = None
    run_id: str | None = None
    domain_labels: list[str] = field(default_factory=list)
    trend_label: str = ""
    no_mark: bool = False
    reasons: list[Reason] = field(default_factory=list)
    hidden_reasons: int = 0
    trend: list[TrendPoint] = field(default_factory=list)
    reviews: list[ReviewView] = field(default_factory=list)
    plans: list[PlanView] = field(default_factory=list)
    notes_visible: bool = False
    disputes: list[DisputeView] = field(default_factory=list)
    face: FaceSheet = field(default_factory=FaceSheet)


def person_exists(session: Session, person_id: str) -> bool:
    if session.get(Person, person_id) is not None:
        return True
    return session.scalars(select(ScreeningResult.id).where(ScreeningResult.person_id == person_id).limit(1)).first() \
        is not None


def visibility(policy: Policy, subject: Subject, action: str, purpose: str, rel: str,
               break_glass: bool) -> Callable[..., bool]:
    """Whether a sensitivity level (from a holder) is visible: by policy, or by an active break-glass."""

    def visible(level: int, holder: str | None = None) -> bool:
        if policy.decide(subject, action, purpose, relationship=rel, sensitivity=level, holder=holder).allowed:
            return True
        return break_glass and policy.overridable(subject, action, purpose, sensitivity=level, holder=holder)

    return visible


def _value(row: dict[str, Any], unit: str | None) -> str:
    if row.get("value_bool") is not None:
        return "あり" if row["value_bool"] else "なし"
    if row.get("value_num") is not None:
        num = float(row["value_num"])
        text = str(int(num)) if num.is_integer() else f"{num:g}"
        return with_unit(text, unit)
    return str(row.get("value_text") or "")


def _source_label(manifests: ManifestSet, source: str) -> str:
    try:
        return manifests.get(source).label
    except (KeyError, ConfigError):
        return source


def _stale_after(manifests: ManifestSet, source: str) -> int | None:
    try:
        return manifests.get(source).stale_after_days
    except (KeyError, ConfigError):
        return None


def _pre_decision(session: Session, subject: Subject, purpose: str, person_id: str, rel: str) -> Decision:
    """``child.view`` as ``guard`` will decide it (grants included), without recording: what the page
    would show must be known before the one entry that records it is written."""
    return decide_with_grants(session, subject, "child.view", purpose, person_id=person_id, relationship=rel,
                              sensitivity=1)


def _shown_links(links: list[PersonLink], manifests: ManifestSet, catalog: Catalog,
                 read: Callable[..., bool]) -> list[PersonLink]:
    """The links this user may see, one by one: a link (and the identity rows behind it) tells that the
    department holds a record, as sensitive as the source (``existence_sensitivity``), held by that
    department — so it is decided as reading that department's items at that sensitivity."""
    shown = []
    for link in links:
        try:
            held = manifests.get(link.source).item_ids
        except (KeyError, ConfigError):
            held = frozenset(i.id for i in catalog.items_of(link.department))
        if link.department in catalog.departments and read(existence_sensitivity(held), link.department):
            shown.append(link)
    return shown


def open_child(
    session: Session, subject: Subject, purpose: str, person_id: str, *, nodes: Mapping[str, Node],
    manifests: ManifestSet, cipher: NoteCipher, key: Ed25519PrivateKey | None = None, today: date | None = None,
) -> ChildView:
    """The child's page for ``purpose``; Refused (recorded) when the policy says no.

    Every link, identity row and department name on the page is decided item by item: a source is
    shown only when the user may read that department's items at the source's own sensitivity, and
    the ``child.view`` entry lists the records shown (``record:<department>:<source>``).
    """
    if not person_exists(session, person_id):
        raise NotFound(f"個人ID {person_id} の子どもはいません。")
    rel = relationship(session, subject, person_id)
    links = list(session.scalars(select(PersonLink).where(PersonLink.person_id == person_id)
                                 .order_by(PersonLink.department, PersonLink.source)))
    pre = _pre_decision(session, subject, purpose, person_id, rel)
    policy = policy_of(session)
    catalog = catalog_of(session)
    shown = _shown_links(links, manifests, catalog,
                         visibility(policy, subject, "child.items.read", purpose, rel, pre.break_glass)) \
        if pre.allowed else []
    shown_items = list(dict.fromkeys(record_item(link.department, link.source) for link in shown))
    decision = guard(session, subject, "child.view", purpose, person_id, items=shown_items, sensitivity=1, key=key)
    view = ChildView(person_id, purpose, policy.purpose_label(purpose), rel, policy.relationship_label(rel),
                     decision.reason, decision.break_glass)
    see = visibility(policy, subject, "child.view", purpose, rel, decision.break_glass)
    read = visibility(policy, subject, "child.items.read", purpose, rel, decision.break_glass)
    view.disputes = disputes_of(session, person_id, active_only=True)
    view.links = [LinkView(
        link.source, _source_label(manifests, link.source), link.department,
        catalog.departments[link.department].name, link.local_id, link.method,
        METHOD_LABELS.get(link.method, link.method), link.match_probability,
    ) for link in shown]
    by_department: dict[str, list[PersonLink]] = {}
    for link in shown:
        by_department.setdefault(link.department, []).append(link)
    # Only the identity fields the page shows are asked for (data minimisation, and a smaller answer).
    request = NodeRequest(requester=subject.user_id, role=subject.role, purpose=purpose, fields=IDENTITY_SHOWN)
    day = today or datetime.now(UTC).date()
    for department, dept_links in sorted(by_department.items()):
        label = catalog.departments[department].name
        node = nodes.get(department)
        if node is None:
            view.unavailable[label] = "この部署のノードに接続できません（保管庫がないか、設定されていません）。"
            continue
        _identity(view, node, request, dept_links, manifests, label)
        items = [i.id for i in catalog.items_of(department) if read(i.sensitivity, department)]
        if not items:
            continue
        allowed = authorise(
            session, subject, "child.items.read", purpose, person_id=person_id, items=items, relationship=rel,
            sensitivity=max(catalog.items[i].sensitivity for i in items), holder=department, key=key,
        )
        if not allowed.allowed:
            view.unavailable[label] = allowed.reason
            continue
        item_request = NodeRequest(requester=subject.user_id, role=subject.role, purpose=purpose, items=tuple(items))
        # The node answers a record by its local id across the department's sources (the 母子健康手帳
        # and the vaccinations share the 宛名番号): asking once per link showed those rows twice.
        for link in {link.local_id: link for link in dept_links}.values():
            try:
                answer = node.record(item_request, link.source, link.local_id)
            except NodeRefusedError as exc:
                view.unavailable[label] = exc.reason
                continue
            except Exception as exc:  # a node that is down must not take the page with it
                view.unavailable[label] = f"部署のノードから応答がありません（{type(exc).__name__}）。"
                continue
            view.timeline.extend(_timeline(answer.data, manifests, catalog, label, day))
    view.timeline = _school_grades(view.timeline)
    view.timeline.sort(key=lambda e: (e.observed_on or date.min, e.item_label), reverse=True)
    _screening(session, view, subject, purpose, rel, see)
    view.notes_visible = see(3)
    view.reviews = reviews_of(session, person_id, cipher, notes=view.notes_visible)
    view.plans = plans_of(session, person_id, cipher, notes=view.notes_visible)
    view.face = build_face_sheet(session, subject, purpose, person_id, rel, identity=_own_identity(view, manifests),
                                 reasons=view.reasons, plans=view.plans, nodes=nodes, manifests=manifests, read=read,
                                 today=day, key=key, school_class=_latest_class(view.timeline))
    return view


def _latest_class(timeline: list[TimelineEntry]) -> str:
    """The class (組) of the latest roster the page read, when the purpose released it to this user:
    the face sheet reads it from what the page was already allowed to ask for, not a second request."""
    return latest_class((e.value, e.snapshot_date, e.observed_on) for e in timeline if e.item_id == CLASS_ITEM)


# The 学校コード's first letter is the kind of school (B 小学校, C 中学校): a grade of 1 read 「1年」
# on the timeline where the list said 「7年」 for the same child. Both now say 中学1年.
SCHOOL_KINDS = {"B": "小学", "C": "中学"}


def _school_grades(timeline: list[TimelineEntry]) -> list[TimelineEntry]:
    """Grades written with the kind of school of the same export's school code (中学1年); a grade
    counted through compulsory school (7–9) is a junior-high grade whatever the code says."""
    kinds = {(e.department_label, e.snapshot_date): SCHOOL_KINDS.get(e.value[:1], "") for e in timeline
             if e.item_id == "school_code" and e.value}

    def label(e: TimelineEntry) -> str:
        n = int(e.number) if e.number is not None and e.number.is_integer() else None
        if n is None:
            return e.value
        if 7 <= n <= 9:
            return f"中学{n - 6}年"
        kind = kinds.get((e.department_label, e.snapshot_date), "")
        return f"{kind}{n}年" if kind else e.value

    return [replace(e, value=label(e)) if e.item_id == "grade" else e for e in timeline]


def _own_identity(view: ChildView, manifests: ManifestSet) -> dict[str, str]:
    """The register's identity row of the child (else the first that names it), as the page shows it."""
    register = manifests.register()
    label = _source_label(manifests, register.source) if register is not None else None
    named = [row for row in view.identity if IDENTITY_LABELS["full_name"] in row.values]
    for row in named:
        if row.source_label == label:
            return row.values
    return named[0].values if named else {}


def _identity(view: ChildView, node: Node, request: NodeRequest, links: list[PersonLink], manifests: ManifestSet,
              label: str) -> None:
    try:
        answer = node.identifiers(request, local_ids=[(link.source, link.local_id) for link in links])
    except NodeRefusedError:
        return  # this purpose releases no identity from this department; the items may still come
    except Exception as exc:
        view.unavailable[label] = f"部署のノードから応答がありません（{type(exc).__name__}）。"
        return
    for row in answer.data.iter_rows(named=True):
        values = {}
        for name in IDENTITY_SHOWN:
            value = row.get(name)
            if value is None or value == "":
                continue
            values[IDENTITY_LABELS[name]] = SEX_LABELS.get(str(value), str(value)) if name == "sex" else \
                (value.isoformat() if isinstance(value, date) else str(value))
        if values:
            view.identity.append(IdentityRow(_source_label(manifests, str(row["source"])), values))


def _timeline(frame: pl.DataFrame, manifests: ManifestSet, catalog: Catalog, label: str,
              day: date) -> list[TimelineEntry]:
    entries = []
    for row in frame.iter_rows(named=True):
        item = catalog.items.get(str(row["item_id"]))
        snapshot = row.get("snapshot_date")
        limit = _stale_after(manifests, str(row["source"]))
        stale = snapshot is not None and limit is not None and (day - snapshot).days > limit
        entries.append(TimelineEntry(
            row.get("observed_on"), label, _source_label(manifests, str(row["source"])), str(row["item_id"]),
            item.label if item else str(row["item_id"]), _value(row, item.unit if item else None), snapshot, stale,
            float(row["value_num"]) if row.get("value_num") is not None else None,
        ))
    return entries


def _screening(session: Session, view: ChildView, subject: Subject, purpose: str, rel: str,
               see: Callable[..., bool]) -> None:
    result = latest_result(session, view.person_id)
    if result is not None:
        view.tier, view.run_id, view.no_mark = result.tier, result.run_id, result.no_mark
        view.trend_label = TREND_LABELS.get(result.trend, result.trend)
        reasons, hidden = reasons_for(policy_of(session), subject, "child.view", purpose, rel, result.reasons,
                                      visible=see)
        view.reasons, view.hidden_reasons = reasons, hidden
        domains = domains_for(policy_of(session), subject, "child.view", purpose, rel, result.domains, visible=see)
        view.domain_labels = [DOMAINS.get(d, d) for d in domains]
    history = session.execute(
        select(ScreeningRun.as_of, ScreeningResult.tier, ScreeningResult.domain_scores)
        .join(ScreeningRun, ScreeningRun.run_id == ScreeningResult.run_id)
        .where(ScreeningResult.person_id == view.person_id).order_by(ScreeningRun.as_of)
    ).all()
    view.trend = [TrendPoint(as_of, tier, int(sum(json.loads(scores or "{}").values()))) for as_of, tier, scores in
                  history]


def summary(
    session: Session, subject: Subject, purpose: str, person_id: str, *, cipher: NoteCipher,
    key: Ed25519PrivateKey | None = None,
) -> ChildView:
    """The hub's own part of the page (screening result, reviews, plans) without asking the nodes:
    for the assessment form and the support page, which need no department records."""
    if not person_exists(session, person_id):
        raise NotFound(f"個人ID {person_id} の子どもはいません。")
    decision = guard(session, subject, "child.view", purpose, person_id, sensitivity=1, key=key)
    policy = policy_of(session)
    rel = relationship(session, subject, person_id)
    view = ChildView(person_id, purpose, policy.purpose_label(purpose), rel, policy.relationship_label(rel),
                     decision.reason, decision.break_glass)
    see = visibility(policy, subject, "child.view", purpose, rel, decision.break_glass)
    _screening(session, view, subject, purpose, rel, see)
    view.notes_visible = see(3)
    view.reviews = reviews_of(session, person_id, cipher, notes=view.notes_visible)
    view.plans = plans_of(session, person_id, cipher, notes=view.notes_visible)
    return view


def open_break_glass(
    session: Session, subject: Subject, purpose: str, person_id: str, justification: str, minutes: int, *,
    key: Ed25519PrivateKey | None = None,
) -> Grant:
    """緊急閲覧: unlock a relationship refusal for a while, loudly (audit entry and a notice)."""
    if not person_exists(session, person_id):
        raise NotFound(f"個人ID {person_id} の子どもはいません。")
    try:
        return break_glass(session, subject, "child.view", purpose, person_id, justification, minutes,
                           relationship=relationship(session, subject, person_id), sensitivity=1, key=key)
    except BreakGlassRefused as exc:
        # privacy writes nothing for a refused break-glass; an attempt to break the glass on a
        # child is worth a line in the log all the same.
        append(session, AuditEvent(
            actor=subject.user_id, role=subject.role, organisation=subject.organisation, purpose=purpose,
            action="break_glass.open", outcome="denied", reason=exc.reason, rule="break_glass.refused",
            person_id=person_id, items=("child.view",),
        ), key=key)
        raise Refused(exc.reason) from exc
