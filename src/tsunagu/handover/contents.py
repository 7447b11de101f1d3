"""What a package holds: read for one child, for one kind, under the ``handover`` purpose.

Only the sections the kind's legal ground allows are filled (``legal.yaml``): 情報提供 carries no
free text of assessments or plans. Department data comes from the nodes (each asked only for the
items the kind needs, each answer logged by the node), the human work from the hub. Names of
individual staff appear only as the package's contact person: the receiver must know whom to call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog, catalog_of
from tsunagu.handover import casework
from tsunagu.handover.legal import SECTION_LABELS, PackageKind, package_kinds
from tsunagu.link.models import PersonLink
from tsunagu.privacy import NoteCipher, Policy
from tsunagu.privacy.policy import policy_of
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest
from tsunagu.work.models import FollowUp, Referral, Review, SupportPlan, SupportResource
from tsunagu.work.notes import unseal
from tsunagu.work.plans import OUTCOMES, PLAN_STATUSES, REFERRAL_STATUSES
from tsunagu.work.reviews import ASPECTS, DECISIONS, LEVELS

FORMAT = "tsunagu.handover/1"
PURPOSE = "handover"
HEALTH_ITEMS = {"health_checkups": ("checkup_4m", "checkup_18m", "checkup_3y", "newborn_home_visit"),
                "vaccinations": ("vaccinations_missed",)}
IDENTITY_FIELDS = ("full_name", "reading", "birth_date", "sex", "address")
SPINE = "juki_jumin"


def items_for(kind: PackageKind) -> tuple[str, ...]:
    """Every catalogue item a package of this kind may carry (for the audit entry)."""
    health = [i for s in ("health_checkups", "vaccinations") if s in kind.sections for i in HEALTH_ITEMS[s]]
    cases = [casework.RECORD_ITEMS[s] for s in casework.CASE_SECTIONS if s in kind.sections]
    return (*kind.summary_items, *health, *cases)


def _links(session: Session, person_id: str) -> list[PersonLink]:
    return list(session.scalars(select(PersonLink).where(PersonLink.person_id == person_id)
                                .order_by(PersonLink.department, PersonLink.source, PersonLink.local_id)))


def _request(requester: tuple[str, str], items: tuple[str, ...] = ()) -> NodeRequest:
    """``requester``: (who, their policy role) — the node checks that role may be given the items."""
    return NodeRequest(requester=requester[0], role=requester[1], purpose=PURPOSE, items=items)


def _child(links: list[PersonLink], nodes: Mapping[str, Node], requester: tuple[str, str],
           unavailable: dict[str, str]) -> dict[str, str]:
    spine = [(link.source, link.local_id) for link in links if link.source == SPINE]
    node = nodes.get("resident_registry")
    if not spine or node is None:
        return {}
    try:
        frame = node.identifiers(
            NodeRequest(requester[0], requester[1], PURPOSE, fields=IDENTITY_FIELDS), local_ids=spine[:1]).data
    except NodeRefusedError as exc:
        unavailable["resident_registry"] = exc.reason
        return {}
    if frame.height == 0:
        return {}
    row = frame.row(0, named=True)
    return {f: ("" if row.get(f) is None else str(row[f])) for f in IDENTITY_FIELDS}


def _values(catalog: Catalog, links: list[PersonLink], nodes: Mapping[str, Node], department: str,
            items: tuple[str, ...], requester: tuple[str, str], unavailable: dict[str, str]) -> list[dict[str, Any]]:
    """The child's values of ``items`` held by ``department``, oldest first."""
    node = nodes.get(department)
    if node is None or not items:
        return []
    found: list[dict[str, Any]] = []
    # The node answers a record by its local id across the department's sources (the 母子健康手帳 and
    # the vaccinations share the 宛名番号): asked once per link, each checkup was carried twice.
    for link in {link.local_id: link for link in links if link.department == department}.values():
        try:
            frame = node.record(_request(requester, items), link.source, link.local_id).data
        except NodeRefusedError as exc:
            unavailable[department] = exc.reason
            continue
        for row in frame.filter(pl.col("item_id").is_in(list(items))).iter_rows(named=True):
            found.append({"item_id": row["item_id"], "label": catalog.items[row["item_id"]].label,
                          "value": _value(row), "observed_on": _day(row["observed_on"])})
    return sorted(found, key=lambda r: (r["observed_on"] or "", r["item_id"]))


def _value(row: Mapping[str, Any]) -> str:
    if row.get("value_text") is not None:
        return str(row["value_text"])
    if row.get("value_bool") is not None:
        return "はい" if row["value_bool"] else "いいえ"
    number = row.get("value_num")
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else str(number)


def _day(value: object) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def _text(cipher: NoteCipher, blob: bytes | None, free_text: bool) -> str | None:
    return unseal(cipher, blob) if free_text else None


def _assessments(session: Session, person_id: str, cipher: NoteCipher, free_text: bool) -> list[dict[str, Any]]:
    rows = session.scalars(select(Review).where(Review.person_id == person_id, Review.kind == "review")
                           .order_by(Review.created_at))
    policy = policy_of(session)
    return [{
        "date": r.created_at.date().isoformat(), "decision": DECISIONS.get(r.decision or "", r.decision or ""),
        "observations": [f"{ASPECTS.get(o['aspect'], o['aspect'])}: {LEVELS.get(o['level'], o['level'])}"
                         for o in json.loads(r.observations_json)],
        "rationale": _text(cipher, r.rationale_enc, free_text), "role": _role_label(policy, r.author_role),
    } for r in rows]


def _plans(session: Session, person_id: str) -> list[SupportPlan]:
    return list(session.scalars(select(SupportPlan).where(SupportPlan.person_id == person_id)
                                .order_by(SupportPlan.created_at)))


def _referrals(session: Session, plans: list[SupportPlan], cipher: NoteCipher, free_text: bool) -> list[dict[str, Any]]:
    if not plans:
        return []
    rows = session.execute(select(Referral, SupportResource.name).join(SupportResource,
                                                                       SupportResource.id == Referral.resource_id)
                           .where(Referral.plan_id.in_([p.id for p in plans])).order_by(Referral.created_at)).all()
    return [{"resource": name, "status": REFERRAL_STATUSES.get(r.status, r.status),
             "outcome": OUTCOMES.get(r.outcome or "", ""), "since": r.created_at.date().isoformat(),
             "note": _text(cipher, r.note_enc, free_text)} for r, name in rows]


def _follow_ups(session: Session, plans: list[SupportPlan], cipher: NoteCipher) -> list[dict[str, Any]]:
    if not plans:
        return []
    rows = session.scalars(select(FollowUp).where(FollowUp.plan_id.in_([p.id for p in plans]))
                           .order_by(FollowUp.due_on))
    return [{"due_on": f.due_on.isoformat(), "done": f.done, "note": unseal(cipher, f.note_enc)} for f in rows]


def build(session: Session, person_id: str, kind_id: str, *, nodes: Mapping[str, Node], cipher: NoteCipher,
          sender: Mapping[str, str], recipient: Mapping[str, str], prepared_by: Mapping[str, str],
          moved_on: date | None, reasons: list[str], role: str, now: datetime | None = None) -> dict[str, Any]:
    """The package's content (JSON-ready). The caller has decided and recorded the read; ``role`` is
    the sender's policy role, which the nodes check as well (a role never given an item is refused)."""
    kind = package_kinds().of(kind_id)
    requester = (f"hub:handover:{prepared_by.get('user_id', '')}", role)
    unavailable: dict[str, str] = {}
    links = _links(session, person_id)
    plans = _plans(session, person_id)
    sections: dict[str, Any] = {}
    for section in kind.sections:
        if section == "summary":
            sections[section] = {
                "items": _values(catalog_of(session), links, nodes, "family_centre", kind.summary_items, requester, unavailable),
                "active_plans": sum(1 for p in plans if p.status == "active"),
            }
        elif section == "assessments":
            sections[section] = _assessments(session, person_id, cipher, kind.free_text)
        elif section == "plans":
            sections[section] = [{
                "created_on": p.created_at.date().isoformat(), "status": PLAN_STATUSES.get(p.status, p.status),
                "responsible_body": p.responsible_body, "goals": unseal(cipher, p.goals_enc),
                "next_review_on": _day(p.next_review_on)} for p in plans]
        elif section == "referrals":
            sections[section] = _referrals(session, plans, cipher, kind.free_text)
        elif section == "follow_ups":
            sections[section] = _follow_ups(session, plans, cipher)
        elif section in casework.CASE_SECTIONS:
            sections[section] = casework.section(section, session, person_id, cipher, kind.free_text)
        else:
            sections[section] = _values(catalog_of(session), links, nodes, "maternal_child_health", HEALTH_ITEMS[section], requester,
                                        unavailable)
    return {
        "format": FORMAT, "kind": kind_id, "kind_label": kind.label, "from": dict(sender), "to": dict(recipient),
        "prepared_at": (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
        "prepared_by": dict(prepared_by),
        "legal": {"provision_basis": kind.provision_basis, "laws": list(kind.laws), "when": kind.when},
        "child": _child(links, nodes, requester, unavailable),
        "move": {"moved_on": _day(moved_on), "reasons": reasons},
        # A list, not a mapping: the canonical JSON sorts keys, and the sections have an order.
        "section_labels": [[s, SECTION_LABELS[s]] for s in kind.sections],
        "sections": sections, "unavailable": unavailable,
    }


def _role_label(policy: Policy, role: str) -> str:
    found = policy.roles.get(role)
    return found.label if found is not None else role
