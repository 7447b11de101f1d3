"""What statistics read: the hub's own derived results and work records, and the departments'
items released for the statistics purpose — never a vault directly.

Person ids are used here only to join a child's result with the work done for them; no id,
name or single child's row leaves this module (the aggregates take counts).
Children whose families asked for suspension of use are left out of every figure.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.link.models import HouseholdMember, PersonLink
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest
from tsunagu.work.access import suspended_persons
from tsunagu.work.models import Referral, Review, SupportPlan, SupportResource

REQUESTER = "tsunagu-statistics"
# Items the departments release for the statistics purpose that the figures use.
ABSENCE_ITEM = "absence_days"
CHECKUP_ITEMS = ("checkup_4m", "checkup_18m", "checkup_3y")


@dataclass(frozen=True)
class Run:
    run_id: str
    as_of: date
    finished_at: datetime | None


@dataclass(frozen=True)
class ChildResult:
    person_id: str
    tier: str
    domains: tuple[str, ...]
    no_mark: bool
    school: str | None
    age: float | None
    household: str


@dataclass(frozen=True)
class ReviewFact:
    person_id: str
    tier: str | None
    decision: str
    at: datetime


@dataclass(frozen=True)
class ReferralFact:
    person_id: str
    resource: str
    category: str
    status: str
    outcome: str | None
    at: datetime


@dataclass
class StatsData:
    runs: list[Run]
    results: dict[str, list[ChildResult]]  # run id -> children
    reviews: list[ReviewFact] = field(default_factory=list)
    referrals: list[ReferralFact] = field(default_factory=list)
    contacts: dict[str, datetime] = field(default_factory=dict)  # person -> first review / plan / referral
    absence: dict[str, dict[str, float]] = field(default_factory=dict)  # run id -> pupil record -> days in year
    checkups: dict[str, Counter[str]] = field(default_factory=dict)  # item -> value -> records
    refused: list[str] = field(default_factory=list)  # departments that did not answer

    @property
    def latest(self) -> Run | None:
        return self.runs[-1] if self.runs else None


def household_types(session: Session) -> dict[str, str]:
    """Each child's household type from the hub's households: guardians counted in the child's household."""
    rows = session.execute(select(HouseholdMember.person_id, HouseholdMember.household_id, HouseholdMember.role)
                           .where(HouseholdMember.valid_to.is_(None))).all()
    guardians: Counter[str] = Counter(h for _p, h, role in rows if role == "guardian")
    kinds = {0: "保護者の記録なし", 1: "ひとり親世帯"}
    return {p: kinds.get(guardians[h], "ふたり親等世帯") for p, h, role in rows if role == "child"}


def _results(session: Session, runs: list[Run], excluded: set[str]) -> dict[str, list[ChildResult]]:
    households = household_types(session)
    out: dict[str, list[ChildResult]] = defaultdict(list)
    rows = session.execute(select(
        ScreeningResult.run_id, ScreeningResult.person_id, ScreeningResult.tier, ScreeningResult.domains,
        ScreeningResult.no_mark, ScreeningResult.school_code, ScreeningResult.age,
    ).where(ScreeningResult.run_id.in_([r.run_id for r in runs]))).all()
    for run_id, person, tier, domains, no_mark, school, age in rows:
        if person in excluded:
            continue
        out[run_id].append(ChildResult(person, tier, tuple(json.loads(domains or "[]")), bool(no_mark), school or None,
                                       age, households.get(person, "世帯情報なし")))
    return dict(out)


def _work(session: Session, data: StatsData, excluded: set[str]) -> None:
    for person, tier, decision, at in session.execute(select(
            Review.person_id, Review.screening_tier, Review.decision, Review.created_at)
            .where(Review.kind == "review", Review.decision.is_not(None)).order_by(Review.created_at, Review.id)):
        if person not in excluded and decision is not None:
            data.reviews.append(ReviewFact(person, tier, decision, at))
    for person, name, category, status, outcome, at in session.execute(select(
            SupportPlan.person_id, SupportResource.name, SupportResource.category, Referral.status, Referral.outcome,
            Referral.created_at)
            .join(SupportPlan, SupportPlan.id == Referral.plan_id)
            .join(SupportResource, SupportResource.id == Referral.resource_id).order_by(Referral.created_at, Referral.id)):
        if person not in excluded:
            data.referrals.append(ReferralFact(person, name, category, status, outcome, at))
    firsts: list[tuple[str, datetime]] = [(r.person_id, r.at) for r in data.reviews]
    firsts += [(r.person_id, r.at) for r in data.referrals]
    firsts += [(p, at) for p, at in session.execute(select(SupportPlan.person_id, SupportPlan.created_at)) if p not in excluded]
    for person, at in firsts:
        if person not in data.contacts or at < data.contacts[person]:
            data.contacts[person] = at


def _ask(nodes: Mapping[str, Node], data: StatsData, role: str, items: tuple[str, ...], as_of: date,
         excluded: set[tuple[str, str]]) -> pl.DataFrame:
    """The observations the departments holding ``items`` release for statistics (columns record,
    item_id, value_num, value_text, observed_on); records linked to a suspended child are left out."""
    frames = []
    for department, node in sorted(nodes.items()):
        # An in-process node's manifests say what it releases for statistics: ask only for that. A
        # remote node is asked for every item and answers for what it releases (or refuses).
        manifests = getattr(node, "manifests", None)
        held = [i for i in items if any(i in m.released_items("statistics") for m in manifests)] \
            if manifests is not None else list(items)
        if not held:
            continue
        try:
            answer = node.items(NodeRequest(REQUESTER, role, "statistics", tuple(held)), as_of)
        except (NodeRefusedError, OSError):
            data.refused.append(department)
            continue
        frame = answer.data.select("source", pl.col("local_id").cast(pl.Utf8), "item_id", "value_num", "value_text",
                                   "observed_on")
        gone = [local for dept, local in excluded if dept == department]
        if gone:
            frame = frame.filter(~pl.col("local_id").is_in(gone))
        frames.append(frame.select(pl.concat_str("source", pl.lit(":"), "local_id").alias("record"), "item_id",
                                   "value_num", "value_text", "observed_on"))
    if not frames:
        return pl.DataFrame(schema={"record": pl.Utf8, "item_id": pl.Utf8, "value_num": pl.Float64,
                                    "value_text": pl.Utf8, "observed_on": pl.Date})
    return pl.concat(frames)


def school_year_start(on: date) -> date:
    """4月1日 of the school year ``on`` falls in (学校教育法施行規則第59条)."""
    return date(on.year if on.month >= 4 else on.year - 1, 4, 1)


def _indicators(nodes: Mapping[str, Node], data: StatsData, role: str, excluded: set[tuple[str, str]]) -> None:
    for run in data.runs:
        frame = _ask(nodes, data, role, (ABSENCE_ITEM,), run.as_of, excluded)
        # Monthly counts of this school year add up to the year's absence (年間欠席日数).
        year = (frame.filter((pl.col("observed_on") >= school_year_start(run.as_of)) & pl.col("value_num").is_not_null())
                .group_by("record").agg(pl.col("value_num").sum()))
        data.absence[run.run_id] = dict(zip(year["record"].to_list(), year["value_num"].to_list(), strict=True))
    latest = data.latest
    if latest is not None:
        frame = _ask(nodes, data, role, CHECKUP_ITEMS, latest.as_of, excluded)
        counts = frame.filter(pl.col("value_text").is_not_null()).group_by("item_id", "value_text").len()
        for item, value, n in counts.iter_rows():
            data.checkups.setdefault(str(item), Counter())[str(value)] += int(n)


def _excluded_records(session: Session, excluded: set[str]) -> set[tuple[str, str]]:
    if not excluded:
        return set()
    rows = session.execute(select(PersonLink.department, PersonLink.local_id)
                           .where(PersonLink.person_id.in_(sorted(excluded)))).all()
    return {(d, str(local)) for d, local in rows}


def gather(session: Session, nodes: Mapping[str, Node], role: str, *, max_runs: int = 6) -> StatsData:
    """Everything the figures are computed from (the caller has authorised ``statistics.read``)."""
    excluded = suspended_persons(session)
    recent = session.execute(select(ScreeningRun.run_id, ScreeningRun.as_of, ScreeningRun.finished_at)
                             .order_by(ScreeningRun.as_of.desc(), ScreeningRun.started_at.desc()).limit(max_runs)).all()
    runs = [Run(r, a, f) for r, a, f in reversed(recent)]
    data = StatsData(runs, _results(session, runs, excluded))
    _work(session, data, excluded)
    _indicators(nodes, data, role, _excluded_records(session, excluded))
    return data
