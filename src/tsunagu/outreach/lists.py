"""Take-up gap lists (未利用の対象世帯一覧) for the department that runs the programmes.

Only the running department's own programmes are listed, under purpose ``outreach``, after the
policy and the officer's own organisation allow it (both recorded). A condition that rests on
another department's sensitive item shows only that it held (its ``shown_as`` sentence), never
the value, the department or the date; the department's own items and ordinary ones (世帯人員)
are shown with their source and date. Households with several gaps come as one entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog, catalog_of
from tsunagu.outreach.access import decide_department
from tsunagu.outreach.errors import UnknownProgrammeError
from tsunagu.outreach.evaluate import (
    DERIVED_DEPARTMENT,
    RECEIVING,
    RESIDENCE,
    UNDETERMINED,
    UNREADABLE_DATA,
    UNREADABLE_RECEIPT,
    UNREADABLE_RESIDENCE,
)
from tsunagu.outreach.identity import Identity, identities
from tsunagu.outreach.models import (
    OutreachLanguage,
    OutreachNotice,
    OutreachOptOut,
    OutreachOutcome,
    OutreachResult,
    OutreachWave,
)
from tsunagu.outreach.programmes import DEFAULT_SHOWN_AS, ProgrammeDef, ProgrammeSet
from tsunagu.outreach.truth import latest_run
from tsunagu.privacy import Subject
from tsunagu.vault.node import Node
from tsunagu.work.access import record_listed, suspended_persons

PER_PAGE = 50
LIST_ACTION = "outreach.list"


@dataclass
class Reason:
    text: str
    source: str = ""  # 部署・日付 where they may be shown


@dataclass
class GapEntry:
    programme: str
    label: str
    status: str  # 未利用 / 受給状況を確認できない / 要件の一部を確認できない
    reasons: list[Reason]
    unchecked: list[str]
    unreadable: list[str] = field(default_factory=list)  # 「…：確認できない（受給データに読めない行があります）」


@dataclass
class GapChild:
    person_id: str
    name: str
    age: int | None
    entries: list[GapEntry]


@dataclass
class GapHousehold:
    household_id: str
    guardian_name: str
    address: str
    children: list[GapChild]
    programme_labels: list[str]
    opted_out: bool
    language: str | None = None  # the letter language the family asked for (recorded by staff)


@dataclass
class GapList:
    department: str
    department_label: str
    run_id: str | None
    as_of: str | None
    programmes: list[dict[str, Any]]
    households: list[GapHousehold]
    total: int
    page: int = 1
    pages: int = 1
    several_gaps: int = 0
    notes: list[str] = field(default_factory=list)


def department_programmes(programmes: ProgrammeSet, department: str, programme: str | None = None) -> list[ProgrammeDef]:
    chosen = [p for p in programmes.programmes.values() if p.department == department]
    if programme is not None:
        chosen = [p for p in chosen if p.id == programme]
        if not chosen:
            raise UnknownProgrammeError(f"この部署が実施する制度に「{programme}」はありません")
    return chosen


def _visible_to(item: str, department: str, catalog: Catalog) -> bool:
    if item in DERIVED_DEPARTMENT:
        return True  # household size, children, single parent: the register's ordinary facts
    spec = catalog.items.get(item)
    return spec is not None and (spec.department == department or spec.sensitivity <= 1)


def _reasons(prog: ProgrammeDef, conditions: list[dict[str, Any]], department: str, catalog: Catalog) -> list[Reason]:
    by_id = {c.id: c for c in prog.all_conditions}
    labels = catalog.departments
    out = []
    for cond in conditions:
        spec = by_id.get(cond["id"])
        if spec is None or cond["held"] is not True:
            continue
        if all(_visible_to(i, department, catalog) for i in spec.items):
            sources = sorted({f"{labels[e['department']].name if e['department'] in labels else e['department']}"
                              f"（{e['observed_on']}）" for e in cond["evidence"] if e.get("department")})
            out.append(Reason(spec.label, "、".join(sources)))
        else:
            out.append(Reason(spec.shown_as or DEFAULT_SHOWN_AS))
    return out


def _unchecked(prog: ProgrammeDef, ids: list[str], department: str, catalog: Catalog,
               conditions: list[dict[str, Any]] | None = None) -> tuple[list[str], list[str]]:
    """The conditions that could not be checked for lack of data, and those whose data has a row
    that did not load (with why: the department clears its quarantine; another department's
    condition is named by no detail)."""
    by_id = {c.id: c for c in prog.all_conditions}
    unreadable = {c["id"] for c in conditions or () if c.get("unreadable")}
    missing, unread = [], []
    for cid in ids:
        if cid == RECEIVING and prog.receiving is not None:
            unread.append(f"{prog.receiving.label}：{UNREADABLE_RECEIPT}")
            continue
        if cid == RESIDENCE:
            unread.append(f"市内に住んでいること：{UNREADABLE_RESIDENCE}")
            continue
        spec = by_id.get(cid)
        if spec is None:
            continue
        own = all(_visible_to(i, department, catalog) for i in spec.items)
        if cid in unreadable:
            unread.append(f"{spec.label}：{UNREADABLE_DATA}" if own else f"他の部署が保有する要件：{UNREADABLE_DATA}")
        else:
            missing.append(spec.label if own else "他の部署が保有する要件（記録がないため確認できない）")
    return missing, unread


def _status(row: OutreachResult) -> str:
    if row.status == UNDETERMINED:
        return "要件の一部を確認できない"
    return "未利用" if row.receiving is False else "受給・利用の状況を確認できない"


def listed_rows(session: Session, run_id: str, chosen: list[ProgrammeDef]) -> list[OutreachResult]:
    """The rows a department works from: gaps, eligible with receipt unrecorded, and undetermined not receiving."""
    rows = session.scalars(select(OutreachResult).where(
        OutreachResult.run_id == run_id, OutreachResult.programme.in_([p.id for p in chosen]))
        .order_by(OutreachResult.household_id, OutreachResult.person_id)).all()
    hidden = suspended_persons(session)
    return [r for r in rows if r.person_id not in hidden and r.receiving is not True]


def opted_out(session: Session) -> dict[str, set[str | None]]:
    """household -> programmes it asked not to be written to about (None: every programme)."""
    out: dict[str, set[str | None]] = {}
    for household, programme in session.execute(select(OutreachOptOut.household_id, OutreachOptOut.programme)
                                                .where(OutreachOptOut.withdrawn_at.is_(None))).all():
        out.setdefault(household, set()).add(programme)
    return out


def _age(birth: date | None, as_of: date) -> int | None:
    if birth is None:
        return None
    return as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))


def gap_list(session: Session, subject: Subject, programmes: ProgrammeSet, nodes: Mapping[str, Node], *,
             department: str | None = None, programme: str | None = None, page: int = 1, per_page: int = PER_PAGE,
             catalog: Catalog | None = None, key: Ed25519PrivateKey | None = None) -> GapList:
    """``department``: the running department asked for (default: the officer's own; another is refused)."""
    catalog = catalog or catalog_of(session)
    department = department or subject.organisation
    decision = decide_department(session, subject, LIST_ACTION, department, key=key)
    chosen = department_programmes(programmes, department, programme)
    label = catalog.departments[department].name if department in catalog.departments else department
    run = latest_run(session)
    summary = [{"id": p.id, "label": p.label, "reference": p.reference} for p in chosen]
    if run is None:
        return GapList(department, label, None, None, summary, [], 0)
    counts = json.loads(run.counts_json)
    for entry in summary:
        entry["counts"] = counts.get(entry["id"], {})
    by_programme = {p.id: p for p in chosen}
    rows = listed_rows(session, run.run_id, chosen)
    households: dict[str, list[OutreachResult]] = {}
    for r in rows:
        households.setdefault(r.household_id or f"?{r.person_id}", []).append(r)
    order = sorted(households, key=lambda h: (-len({r.programme for r in households[h]}), h))
    pages = max(1, -(-len(order) // per_page))
    page = min(max(page, 1), pages)
    shown = order[(page - 1) * per_page: page * per_page]
    people = {r.person_id for h in shown for r in households[h]}
    who = identities(session, nodes, subject, people, households=set(shown))
    stops = opted_out(session)
    asked = dict(session.execute(select(OutreachLanguage.household_id, OutreachLanguage.language)
                                 .where(OutreachLanguage.household_id.in_(shown))).all())
    out = []
    for household in shown:
        card = _household(household, households[household], by_programme, who, stops, department, catalog, run.as_of)
        card.language = asked.get(household)
        out.append(card)
    record_listed(session, subject, decision, LIST_ACTION, "outreach", sorted(people), key=key)
    several = sum(1 for h in order if len({r.programme for r in households[h]}) > 1)
    return GapList(department, label, run.run_id, run.as_of.isoformat(), summary, out, len(order), page, pages, several)


def _household(household: str, rows: list[OutreachResult], by_programme: Mapping[str, ProgrammeDef],
               who: Mapping[str, Identity], stops: Mapping[str, set[str | None]], department: str, catalog: Catalog,
               as_of: date) -> GapHousehold:
    children: dict[str, GapChild] = {}
    for r in rows:
        prog = by_programme[r.programme]
        person = who.get(r.person_id)
        child = children.setdefault(r.person_id, GapChild(
            r.person_id, person.name if person else "（氏名を取得できません）",
            _age(person.birth_date if person else None, as_of), []))
        conditions = json.loads(r.conditions)
        missing, unread = _unchecked(prog, json.loads(r.unchecked), department, catalog, conditions)
        child.entries.append(GapEntry(prog.id, prog.label, _status(r), _reasons(prog, conditions, department, catalog),
                                      missing, unread))
    guardian = who.get(f"guardian:{household}")
    labels = list(dict.fromkeys(by_programme[r.programme].label for r in rows))
    return GapHousehold(household, guardian.name if guardian else "", guardian.address if guardian else "",
                        list(children.values()), labels, household in stops)


def outcomes_summary(session: Session, subject: Subject, programmes: ProgrammeSet, *,
                     key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    """Per wave of the officer's department and per programme: noticed, applied or used within the window."""
    department = subject.organisation
    decide_department(session, subject, "outreach.outcomes", department, key=key)
    waves = session.scalars(select(OutreachWave).where(OutreachWave.department == department)
                            .order_by(OutreachWave.sent_on, OutreachWave.created_at)).all()
    out = []
    for wave in waves:
        noticed: dict[str, int] = {}
        for (programmes_json, people_json) in session.execute(select(OutreachNotice.programmes, OutreachNotice.person_ids)
                                                              .where(OutreachNotice.wave_id == wave.wave_id)).all():
            people = json.loads(people_json)
            for pid in json.loads(programmes_json):
                noticed[pid] = noticed.get(pid, 0) + len(people.get(pid, []))
        settled: dict[str, tuple[int, int, int]] = {}
        for o in session.scalars(select(OutreachOutcome).where(OutreachOutcome.wave_id == wave.wave_id)).all():
            n, took, inside = settled.get(o.programme, (0, 0, 0))
            settled[o.programme] = (n + 1, took + int(o.took_up), inside + int(o.in_window))
        per = []
        for pid, count in noticed.items():
            prog = programmes.programmes.get(pid)
            n, took, inside = settled.get(pid, (0, 0, 0))
            per.append({"programme": pid, "label": prog.label if prog else pid, "noticed": count,
                        "settled": n, "took_up": took, "in_window": inside,
                        "rate": round(inside / n, 4) if n else None,
                        "window_days": prog.outcome_window_days if prog else None,
                        "receipt_in_data": bool(prog and prog.receiving)})
        out.append({"wave_id": wave.wave_id, "sent_on": wave.sent_on.isoformat(), "letters": wave.letters,
                    "skipped_opt_out": wave.skipped_opt_out, "programmes": per})
    return {"department": department, "waves": out}
