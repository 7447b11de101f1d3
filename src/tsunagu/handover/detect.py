"""転出・転入の検知: moves in the resident register that need a hand-over, as tasks with due dates.

A move matters when the child is in this municipality's support: an open case (an active
support plan, an assigned duty-bound worker, or the family centre's 支援中), a 要対協 registration,
a recent screening tier of 重点支援, or referrals not yet closed. A move-out gets a task to send a
package (ケース移管 when the case is in continuing support, else 情報提供); a move-in of a child
already known here gets a task to ask the previous municipality (照会) — it closes when a package
for the child is accepted. A detection run is a system read, audited once per task it opens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.handover.legal import send_due
from tsunagu.handover.models import HandoverEvent, HandoverTask, TrustedMunicipality
from tsunagu.link.models import PersonLink
from tsunagu.privacy import AuditEvent, append
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest
from tsunagu.work.models import CaseAssignment, Referral, SupportPlan, User

PURPOSE = "handover"
LOOKBACK_DAYS = 60  # moves older than this were someone else's run to find
TIER_RECENT_DAYS = 180
PRIORITY_TIER = "重点支援"
REGISTERED = ("要保護児童", "要支援児童", "特定妊婦")  # 要対協 registrations still open (終結 is not)
OWNER_ROLES = ("centre_caseworker", "public_health_nurse", "school_social_worker", "child_guidance_caseworker")
INQUIRY_DAYS = 14
REASON_LABELS = {
    "open_case": "支援中のケース", "yotaikyo": "要対協に登録", "priority_tier": "最近の一次スクリーニングで重点支援",
    "open_referrals": "完了していないつなぎ",
}
TASK_STATUS_LABELS = {"open": "未送付", "sent": "送付済み・受領待ち", "escalated": "期限超過（督促）", "closed": "完了"}


@dataclass(frozen=True)
class Move:
    person_id: str
    direction: str  # out / in
    moved_on: date
    destination: str | None = None  # the register's 転出先 address, read to suggest a municipality, never stored


@dataclass(frozen=True)
class DetectReport:
    moves: int
    opened: list[int]
    skipped_existing: int
    unavailable: dict[str, str]


def _request(items: tuple[str, ...]) -> NodeRequest:
    return NodeRequest(requester="hub:handover:detect", role="system", purpose=PURPOSE, items=items)


def _to_people(session: Session, frame: pl.DataFrame, manifests: ManifestSet) -> pl.DataFrame:
    """(source, local_id) rows with the person each belongs to (sources keyed by another's ids too)."""
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias("person_id"))
    identity_of = {m.source: (m.identity_of or m.source) for m in manifests.manifests.values()}
    links = session.execute(select(PersonLink.source, PersonLink.local_id, PersonLink.person_id)
                            .where(PersonLink.source.in_(set(identity_of.values())))).all()
    table = pl.DataFrame(links, schema={"identity_source": pl.Utf8, "local_id": pl.Utf8, "person_id": pl.Utf8},
                         orient="row")
    keyed = frame.with_columns(pl.col("source").replace_strict(identity_of, default=pl.col("source"))
                               .alias("identity_source"))
    return keyed.join(table, on=["identity_source", "local_id"], how="inner")


def _items(node: Node | None, items: tuple[str, ...], today: date, unavailable: dict[str, str]) -> pl.DataFrame:
    if node is None:
        return pl.DataFrame()
    try:
        return node.items(_request(items), today).data
    except NodeRefusedError as exc:
        unavailable[node.department] = exc.reason
        return pl.DataFrame()


def moves(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, today: date,
          unavailable: dict[str, str]) -> list[Move]:
    if "resident_registry" not in nodes:
        unavailable["resident_registry"] = "住民記録のノードがありません（異動を確認できません） / no resident register node"
    frame = _items(nodes.get("resident_registry"), ("move_out_date", "move_in_date", "move_destination"), today,
                   unavailable)
    if frame.height == 0:
        return []
    since = today - timedelta(days=LOOKBACK_DAYS)
    found: dict[tuple[str, str, date], Move] = {}
    people = _to_people(session, frame, manifests)
    destinations = {row["person_id"]: row["value_text"] for row in people.filter(pl.col("item_id") == "move_destination")
                    .sort("observed_on", nulls_last=False).iter_rows(named=True)}
    for row in people.filter(pl.col("item_id") != "move_destination").iter_rows(named=True):
        # The item's value is the day of the move; the observation's day is the export's.
        moved_on = _as_date(row["value_text"]) or row["observed_on"]
        if moved_on is None or not since <= moved_on <= today:
            continue
        direction = "out" if row["item_id"] == "move_out_date" else "in"
        destination = destinations.get(row["person_id"]) if direction == "out" else None
        found[(row["person_id"], direction, moved_on)] = Move(row["person_id"], direction, moved_on, destination)
    return sorted(found.values(), key=lambda m: (m.moved_on, m.person_id, m.direction))


def _as_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _centre_facts(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, today: date,
                  unavailable: dict[str, str]) -> dict[str, dict[str, object]]:
    """The family centre's latest 要対協 registration and 支援中 flag per person."""
    frame = _items(nodes.get("family_centre"), ("yotaikyo_registration", "centre_case_open"), today, unavailable)
    facts: dict[str, dict[str, object]] = {}
    if frame.height == 0:
        return facts
    for row in _to_people(session, frame, manifests).sort("observed_on", nulls_last=False).iter_rows(named=True):
        value = row["value_bool"] if row["item_id"] == "centre_case_open" else row["value_text"]
        facts.setdefault(row["person_id"], {})[row["item_id"]] = value
    return facts


def reasons_for(session: Session, person_id: str, moved_on: date, centre: Mapping[str, object]) -> list[str]:
    found = []
    plans = list(session.scalars(select(SupportPlan).where(SupportPlan.person_id == person_id)))
    active = [p for p in plans if p.status == "active"]
    duty_assigned = session.scalars(
        select(CaseAssignment.id).join(User, User.user_id == CaseAssignment.user_id)
        .where(CaseAssignment.person_id == person_id, CaseAssignment.ended_at.is_(None), User.role.in_(OWNER_ROLES))
    ).first()
    if active or duty_assigned is not None or centre.get("centre_case_open") is True:
        found.append("open_case")
    if centre.get("yotaikyo_registration") in REGISTERED:
        found.append("yotaikyo")
    result = session.execute(
        select(ScreeningResult.tier, ScreeningRun.as_of).join(ScreeningRun, ScreeningRun.run_id == ScreeningResult.run_id)
        .where(ScreeningResult.person_id == person_id).order_by(ScreeningRun.as_of.desc()).limit(1)
    ).first()
    if result is not None and result[0] == PRIORITY_TIER and result[1] >= moved_on - timedelta(days=TIER_RECENT_DAYS):
        found.append("priority_tier")
    if plans and session.scalars(select(Referral.id).where(Referral.plan_id.in_([p.id for p in plans]),
                                                           Referral.status != "closed")).first() is not None:
        found.append("open_referrals")
    return found


def owner_of(session: Session, person_id: str) -> str | None:
    """The worker who holds the case: an assigned duty-bound worker, else whoever wrote the active plan."""
    assigned = session.scalars(
        select(CaseAssignment.user_id).join(User, User.user_id == CaseAssignment.user_id)
        .where(CaseAssignment.person_id == person_id, CaseAssignment.ended_at.is_(None), User.role.in_(OWNER_ROLES))
        .order_by(CaseAssignment.assigned_at)
    ).first()
    if assigned is not None:
        return assigned
    return session.scalars(select(SupportPlan.created_by).where(SupportPlan.person_id == person_id,
                                                                SupportPlan.status == "active")
                           .order_by(SupportPlan.created_at)).first()


def suggested_peer(session: Session, destination: str | None) -> str | None:
    """The one active trusted municipality whose name the 転出先 address contains (e.g. 「大阪府みらい市本町…」)."""
    if not destination:
        return None
    named = [m.code for m in session.scalars(select(TrustedMunicipality).where(TrustedMunicipality.active.is_(True)))
             if m.name and m.name in destination]
    return named[0] if len(named) == 1 else None


def suggested_kind(reasons: list[str]) -> str:
    return "case_transfer" if "open_case" in reasons else "information_provision"


def detect(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, *, today: date,
           key: Ed25519PrivateKey | None = None, now: datetime | None = None) -> DetectReport:
    """Open a task for every move that needs one and has none yet (idempotent)."""
    at = now or datetime.now(UTC)
    unavailable: dict[str, str] = {}
    found = moves(session, nodes, manifests, today, unavailable)
    centre = _centre_facts(session, nodes, manifests, today, unavailable) if found else {}
    opened: list[int] = []
    existing = 0
    for move in found:
        reasons = reasons_for(session, move.person_id, move.moved_on, centre.get(move.person_id, {}))
        if not reasons:
            continue
        if session.scalars(select(HandoverTask.id).where(
                HandoverTask.person_id == move.person_id, HandoverTask.direction == move.direction,
                HandoverTask.moved_on == move.moved_on)).first() is not None:
            existing += 1
            continue
        kind = suggested_kind(reasons) if move.direction == "out" else "inquiry"
        due = send_due(move.moved_on, kind) if move.direction == "out" else move.moved_on + timedelta(days=INQUIRY_DAYS)
        task = HandoverTask(person_id=move.person_id, direction=move.direction, moved_on=move.moved_on,
                            reasons_json=json.dumps(reasons), kind=kind, due_on=due,
                            owner=owner_of(session, move.person_id), status="open", detected_at=at,
                            suggested_peer=suggested_peer(session, move.destination))
        session.add(task)
        session.flush()
        opened.append(task.id)
        labels = "、".join(REASON_LABELS[r] for r in reasons)
        what = "転出" if move.direction == "out" else "転入"
        session.add(HandoverEvent(at=at, task_id=task.id, event="detected", outcome="ok", actor="hub:handover:detect",
                                  detail=f"{what}（{move.moved_on.isoformat()}）: {labels}。期限 {due.isoformat()}"))
        append(session, AuditEvent(
            actor="hub:handover:detect", role="system", organisation="hub", purpose=PURPOSE, action="handover.detect",
            outcome="allowed", reason=f"{what}の検知（引継ぎの課題 {task.id}）: {labels}", person_id=move.person_id,
            items=("move_out_date",) if move.direction == "out" else ("move_in_date",), at=at,
        ), key=key)
    append(session, AuditEvent(
        actor="hub:handover:detect", role="system", organisation="hub", purpose=PURPOSE, action="handover.detect_run",
        outcome="allowed", reason=f"転出・転入の検知（{today.isoformat()}時点、異動{len(found)}件、新しい課題{len(opened)}件）",
        items=("move_out_date", "move_in_date", "move_destination", "yotaikyo_registration", "centre_case_open"), at=at,
    ), key=key)
    return DetectReport(len(found), opened, existing, unavailable)
