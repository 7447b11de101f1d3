"""開示資料: everything tsunagu holds about a child, for the answer to a disclosure request.

The pack is built from the places the data lives, never from a copy: the link index and the
hub's derived data and human work, and — for each department holding linked records — that
department's node, asked for the purpose ``disclosure_handling``, so each department releases
only what its manifests release for disclosure. Every read is recorded (``requests.handle``),
and the access history, the pack's last section, is read after all of them, so the pack also
shows its own preparation.

What the handler's role may not read is withheld and named, not silently dropped: values and
screening reasons of sensitivity 3 and the free text of case records are, under the access
policy, prepared by the duty-bound holding body, which also judges the grounds for
non-disclosure (個人情報の保護に関する法律第78条). The individual staff members are not named
(as in the access history): the family learns which body and role did what.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog, catalog_of
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link.models import HouseholdMember, LinkDecision, PersonLink
from tsunagu.privacy import NoteCipher, Subject, access_history, authorise
from tsunagu.privacy.policy import JST, policy_of
from tsunagu.privacy.records import item_label, organisation_label
from tsunagu.screen.model import DOMAINS
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest
from tsunagu.work.access import relationship
from tsunagu.work.candidates import TREND_LABELS, domains_for, reasons_for
from tsunagu.work.cases.disclosure import disclosed_case
from tsunagu.work.child import IDENTITY_LABELS, IDENTITY_SHOWN, METHOD_LABELS, SEX_LABELS
from tsunagu.work.errors import Invalid
from tsunagu.work.models import UseSuspension
from tsunagu.work.plans import plans_of
from tsunagu.work.reviews import reviews_of
from tsunagu.work.rights.corrections import active_dispute_keys, disputes_of
from tsunagu.work.rights.requests import ACTION, OPEN_STATUSES, PURPOSE, handle, record_pack_issued, request_row, view

FORMAT = "tsunagu.disclosure/1"
SYSTEM_SCREENING = "一次スクリーニング（システム）"
HOUSEHOLD_ROLES = {"child": "子ども", "guardian": "保護者", "other": "その他の世帯員"}
NOTE_WITHHELD = "（記述あり。機微度3のため、記録した機関が不開示事由（法第78条）を確認して開示します）"
WITHHELD_REASON = ("機微度3の項目は、守秘義務のある保有部署が開示の可否（法第78条の不開示事由）を判断し、"
                   "別途回答します。")
_BOOL_TEXT = {"true": "あり", "false": "なし", "True": "あり", "False": "なし"}
# The identity columns of a vault are named a little differently from a manifest's identifiers.
_IDENTITY_ALIASES = {"full_reading": "reading"}


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(JST).isoformat(timespec="seconds")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _department_label(catalog: Catalog, department: str) -> str:
    found = catalog.departments.get(department)
    return found.name if found is not None else department


def _source_label(manifests: ManifestSet, source: str) -> str:
    found = manifests.manifests.get(source)
    return found.label if found is not None else source


def _value(row: Mapping[str, Any], unit: str | None) -> str:
    if row.get("value_bool") is not None:
        return "あり" if row["value_bool"] else "なし"
    if row.get("value_num") is not None:
        num = float(row["value_num"])
        return (str(int(num)) if num.is_integer() else f"{num:g}") + (unit or "")
    return str(row.get("value_text") or "")


class _Pack:
    """Collects the sections while the reads happen (each read decided and recorded)."""

    def __init__(self, session: Session, subject: Subject, person_id: str, manifests: ManifestSet,
                 key: Ed25519PrivateKey | None) -> None:
        self.session, self.subject, self.person_id = session, subject, person_id
        self.manifests, self.key = manifests, key
        self.rel = relationship(session, subject, person_id)
        self.policy = policy_of(session)
        self.catalog = catalog_of(session)
        self.disputes = disputes_of(session, person_id)
        self.disputed = active_dispute_keys(self.disputes)
        self.identities: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []
        self.withheld: list[dict[str, Any]] = []
        self.unavailable: list[dict[str, str]] = []

    def readable(self, level: int, holder: str | None = None) -> bool:
        return self.policy.decide(self.subject, ACTION, PURPOSE, relationship=self.rel, sensitivity=level,
                                  holder=holder).allowed

    def links(self) -> list[PersonLink]:
        return list(self.session.scalars(select(PersonLink).where(PersonLink.person_id == self.person_id)
                                         .order_by(PersonLink.department, PersonLink.source, PersonLink.local_id)))

    def department(self, department: str, links: list[PersonLink], node: Node | None) -> None:
        catalog = self.catalog
        label = _department_label(catalog, department)
        manifests = self.manifests.of_department(department)
        released = set().union(*(m.released_items(PURPOSE) for m in manifests)) if manifests else set()
        held = set().union(*(m.item_ids for m in manifests)) if manifests else set()
        items = sorted(i for i in released if i in catalog.items and self.readable(catalog.items[i].sensitivity,
                                                                                    department))
        hidden = sorted(i for i in held if i in catalog.items and not self.readable(catalog.items[i].sensitivity,
                                                                                     department))
        if hidden:
            self.withheld.append({"department": department, "department_label": label,
                                  "items": [catalog.items[i].label for i in hidden], "reason": WITHHELD_REASON})
        if node is None:
            self.unavailable.append({"department_label": label, "reason": "この部署のノードに接続できません。"})
            return
        decision = authorise(
            self.session, self.subject, ACTION, PURPOSE, person_id=self.person_id, items=items, relationship=self.rel,
            sensitivity=max((catalog.items[i].sensitivity for i in items), default=1), holder=department, key=self.key,
        )
        if not decision.allowed:
            self.unavailable.append({"department_label": label, "reason": decision.reason})
            return
        request = NodeRequest(requester=self.subject.user_id, role=self.subject.role, purpose=PURPOSE,
                              items=tuple(items))
        try:
            self._identity(node, request, links, label)
            # The node answers a record by its local id across the department's sources (a school's
            # roll and its monthly records share the pupil number): one question per local id.
            for link in {link.local_id: link for link in links}.values() if items else ():
                self._record(node, request, link, label)
        except NodeRefusedError as exc:
            self.unavailable.append({"department_label": label, "reason": exc.reason})
        except Exception as exc:  # a department that is down leaves a gap, named, not a failed pack
            self.unavailable.append({"department_label": label,
                                     "reason": f"部署のノードから応答がありません（{type(exc).__name__}）。"})

    def _identity(self, node: Node, request: NodeRequest, links: list[PersonLink], label: str) -> None:
        try:
            answer = node.identifiers(request, local_ids=[(link.source, link.local_id) for link in links])
        except NodeRefusedError:
            return  # this department releases no identity for disclosure; its items may still come
        for row in answer.data.iter_rows(named=True):
            source, local_id = str(row["source"]), str(row["local_id"])
            fields = []
            for name in IDENTITY_SHOWN:
                value = row.get(name)
                if value is None or value == "":
                    continue
                text = SEX_LABELS.get(str(value), str(value)) if name == "sex" else \
                    (value.isoformat() if isinstance(value, date) else str(value))
                disputed = any((source, local_id, f) in self.disputed
                               for f in (name, *[k for k, v in _IDENTITY_ALIASES.items() if v == name]))
                fields.append({"field": name, "label": IDENTITY_LABELS[name], "value": text, "disputed": disputed})
            self.identities.append({"department_label": label, "source": source,
                                    "source_label": _source_label(self.manifests, source), "local_id": local_id,
                                    "fields": fields})

    def _record(self, node: Node, request: NodeRequest, link: PersonLink, label: str) -> None:
        catalog = self.catalog
        answer = node.record(request, link.source, link.local_id)
        for row in answer.data.iter_rows(named=True):
            item = catalog.items.get(str(row["item_id"]))
            source = str(row["source"])
            self.items.append({
                "department_label": label, "source": source, "source_label": _source_label(self.manifests, source),
                "local_id": str(row["local_id"]), "item_id": str(row["item_id"]),
                "item_label": item.label if item else str(row["item_id"]),
                "value": _value(row, item.unit if item else None), "observed_on": _day(row.get("observed_on")),
                "export_date": _day(row.get("snapshot_date")),
                "disputed": (source, str(row["local_id"]), str(row["item_id"])) in self.disputed,
            })


def _links(pack: _Pack, links: list[PersonLink]) -> list[dict[str, Any]]:
    return [{"department": link.department, "department_label": _department_label(pack.catalog, link.department),
             "source": link.source, "source_label": _source_label(pack.manifests, link.source),
             "local_id": link.local_id, "method": link.method,
             "method_label": METHOD_LABELS.get(link.method, link.method),
             "probability": link.match_probability} for link in links]


def _screening(pack: _Pack) -> list[dict[str, Any]]:
    rows = pack.session.execute(
        select(ScreeningResult, ScreeningRun.as_of, ScreeningRun.started_at)
        .join(ScreeningRun, ScreeningRun.run_id == ScreeningResult.run_id)
        .where(ScreeningResult.person_id == pack.person_id).order_by(ScreeningRun.as_of, ScreeningRun.started_at)
    ).all()
    out = []
    for result, as_of, started_at in rows:
        reasons, hidden = reasons_for(pack.policy, pack.subject, ACTION, PURPOSE, pack.rel, result.reasons)
        domains = domains_for(pack.policy, pack.subject, ACTION, PURPOSE, pack.rel, result.domains)
        out.append({
            "run_id": result.run_id, "as_of": _day(as_of), "run_at": _iso(started_at), "tier": result.tier,
            "domains": [DOMAINS.get(d, d) for d in domains], "no_mark": result.no_mark,
            "trend": TREND_LABELS.get(result.trend, result.trend),
            "reasons": [{"label": r.label, "item_label": r.item_label, "value": _BOOL_TEXT.get(r.value or "", r.value),
                         "department_label": _department_label(pack.catalog, r.department) if r.department else "",
                         "observed_on": r.observed_on, "stale": r.stale} for r in reasons],
            "withheld_reasons": hidden,
        })
    return out


def _household(pack: _Pack) -> list[dict[str, Any]]:
    rows = list(pack.session.scalars(select(HouseholdMember).where(HouseholdMember.person_id == pack.person_id)
                                     .order_by(HouseholdMember.valid_from)))
    out = []
    for row in rows:
        # Other members are counted, not named: their data is theirs.
        members = pack.session.scalar(select(func.count()).select_from(HouseholdMember).where(
            HouseholdMember.household_id == row.household_id, HouseholdMember.valid_to.is_(None)))
        out.append({"household_id": row.household_id, "role": HOUSEHOLD_ROLES.get(row.role, row.role),
                    "relationship": row.relationship or "", "valid_from": _iso(row.valid_from),
                    "valid_to": _iso(row.valid_to), "current_members": int(members or 0)})
    return out


def _work(pack: _Pack, cipher: NoteCipher) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
    notes = pack.policy.allows(pack.subject, ACTION, PURPOSE, relationship=pack.rel, sensitivity=3)
    roles = pack.policy.roles

    def note(text: str | None, present: bool) -> str:
        if text is not None:
            return text
        return NOTE_WITHHELD if present else ""

    reviews = []
    for r in reviews_of(pack.session, pack.person_id, cipher, notes=notes):
        reviews.append({
            "created_at": _iso(r.created_at), "kind": "二次アセスメント" if r.kind == "review" else "観察記録",
            "decision": r.decision_label, "screening_tier": r.screening_tier or "",
            "observations": [f"{o.aspect_label}: {o.level_label}" for o in r.observations],
            "rationale": note(r.rationale, True), "override_reason": note(r.override_reason, r.overrides),
            "author_role": roles[r.author_role].label if r.author_role in roles else r.author_role,
        })
    plans = []
    for p in plans_of(pack.session, pack.person_id, cipher, notes=notes):
        plans.append({
            "created_at": _iso(p.created_at), "status": p.status_label, "goals": note(p.goals, True),
            "responsible_body": p.responsible_body, "next_review_on": _day(p.next_review_on),
            "closed_at": _iso(p.closed_at), "closure_note": note(p.closure_note, p.closed_at is not None),
            "referrals": [{"resource": r.resource_name, "status": r.status_label, "outcome": r.outcome_label,
                           "note": note(r.note, False)} for r in p.referrals],
            "follow_ups": [{"due_on": _day(f.due_on), "done": f.done, "note": note(f.note, False)}
                           for f in p.follow_ups],
        })
    return reviews, plans, notes


def _link_decisions(pack: _Pack, links: list[PersonLink]) -> list[dict[str, Any]]:
    keys = [f"{link.source}:{link.local_id}" for link in links]
    if not keys:
        return []
    rows = pack.session.scalars(select(LinkDecision).where(or_(LinkDecision.left_key.in_(keys),
                                                               LinkDecision.right_key.in_(keys)))
                                .order_by(LinkDecision.decided_at))
    labels = {"match": "同じ人", "non_match": "別の人"}
    return [{"left": d.left_key, "right": d.right_key, "decision": labels.get(d.decision, d.decision),
             "decided_at": _iso(d.decided_at), "reason": d.reason} for d in rows]


def _history(pack: _Pack) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = [{
        "at": _iso(r.at), "kind": "access", "role": r.role_label, "organisation": organisation_label(r.organisation),
        "purpose": r.purpose_label, "action": r.action_label, "outcome": r.outcome_label,
        "items": [item_label(i) for i in r.items], "break_glass": r.break_glass,
    } for r in access_history(pack.session, pack.person_id)]
    # A screening run reads every child's items in one request, recorded once without a person;
    # each run the child was part of is a read of their data all the same.
    runs = pack.session.execute(
        select(ScreeningRun.run_id, ScreeningRun.as_of, ScreeningRun.started_at)
        .join(ScreeningResult, ScreeningResult.run_id == ScreeningRun.run_id)
        .where(ScreeningResult.person_id == pack.person_id)
    ).all()
    purpose = pack.policy.purpose_label("screening")
    entries.extend({
        "at": _iso(started_at), "kind": "screening_run", "role": SYSTEM_SCREENING, "organisation": "ハブ（システム）",
        "purpose": purpose, "action": f"{SYSTEM_SCREENING}（{as_of.isoformat()}時点・実行 {run_id}）",
        "outcome": "実行", "items": [], "break_glass": False,
    } for run_id, as_of, started_at in runs)
    entries.sort(key=lambda e: str(e["at"]))
    return entries


def build_pack(
    session: Session, subject: Subject, request_id: int, *, nodes: Mapping[str, Node], manifests: ManifestSet,
    cipher: NoteCipher, formats: str = "JSON", key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """The disclosure pack of an open disclosure request, as JSON-ready data (the PDF renders it)."""
    row = request_row(session, request_id)
    handle(session, subject, row.person_id, key)
    if row.kind != "disclosure":
        raise Invalid("開示資料は開示請求についてだけ作成できます。")
    if row.status not in OPEN_STATUSES:
        raise Invalid("この請求は既に決定済みです。開示資料は対応中の請求についてだけ作成できます。")
    pack = _Pack(session, subject, row.person_id, manifests, key)
    links = pack.links()
    by_department: dict[str, list[PersonLink]] = {}
    for link in links:
        by_department.setdefault(link.department, []).append(link)
    for department, dept_links in sorted(by_department.items()):
        pack.department(department, dept_links, nodes.get(department))
    reviews, plans, notes = _work(pack, cipher)
    suspensions = [{"since": _iso(s.since), "active": s.active, "lifted_at": _iso(s.lifted_at), "reason": s.reason}
                   for s in session.scalars(select(UseSuspension).where(UseSuspension.person_id == row.person_id)
                                            .order_by(UseSuspension.since))]
    record_pack_issued(session, subject, row, formats)
    if row.status == "received":
        row.status = "in_progress"
    request = view(session, row, history=False)
    role = pack.policy.roles.get(subject.role)
    data: dict[str, Any] = {
        "format": FORMAT,
        "request": {"id": request.id, "kind": request.kind_label, "requester": request.requester_label,
                    "received_on": _day(request.received_on), "due_on": _day(request.effective_due_on),
                    "article": request.article},
        "person_id": row.person_id,
        "generated_at": _iso(datetime.now(UTC)),
        "prepared_by": {"role": role.label if role else "職員", "organisation": organisation_label(subject.organisation)},
        "links": _links(pack, links),
        "identities": pack.identities,
        "items": pack.items,
        "withheld": pack.withheld,
        "unavailable": pack.unavailable,
        "screening": _screening(pack),
        "household": _household(pack),
        "reviews": reviews,
        "plans": plans,
        "case": disclosed_case(session, row.person_id, cipher, notes=notes, withheld=NOTE_WITHHELD),
        "notes_included": notes,
        "link_decisions": _link_decisions(pack, links),
        "disputes": [{"source": d.source, "source_label": _source_label(manifests, d.source), "local_id": d.local_id,
                      "field_label": d.field_label, "status": d.status_label, "since": _iso(d.since),
                      "request_id": d.request_id} for d in pack.disputes],
        "suspensions": suspensions,
    }
    data["access_history"] = _history(pack)  # last: every read above is in it
    return data


def pack_json(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
