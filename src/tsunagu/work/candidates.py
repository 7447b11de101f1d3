"""候補一覧 and the dashboard: the latest screening run, seen through the user's scope.

The list shows only children the policy lets the user list (their class, their schools, or the
municipality), never a suspended child, and only the reasons whose data items the user may
see. Each child shown gets its own audit entry, so a family's access history names the list
views their child appeared in, not only the record views.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import overload

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import Subject
from tsunagu.privacy.policy import Policy, policy_of
from tsunagu.screen.model import DOMAINS
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.work.access import Scope, list_scope, record_listed, suspended_persons
from tsunagu.work.cases.status import STATUS_SENSITIVITY, STATUSES, UNCHECKED, names, statuses
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.listing import LISTED_TIERS as LISTED_TIERS
from tsunagu.work.listing import Listed, run_listing
from tsunagu.work.wording import reason_item_label, reason_value

ACTION = "candidates.list"
TREND_LABELS = {"worse": "悪化", "better": "改善", "same": "変化なし", "new": "初回"}
# A domain is itself information: 虐待リスク tells a reader as much as the abuse record behind it.
DOMAIN_SENSITIVITY = {"abuse_risk": 3}
SORTS = {"tier": "区分順", "school": "学校・学年順", "stale": "古いデータが多い順", "person": "個人ID順"}
PER_PAGE = 25
OWNER_FILTERS = {"me": "自分の担当", "none": "未割当"}
# What a row says when case columns are shown, recorded with each child's list entry.
CASE_ITEM = "case:status_owner"


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    as_of: date
    started_at: datetime
    finished_at: datetime | None
    children: int
    missing_sources: tuple[str, ...]
    snapshots: dict[str, list[str]]
    rule_set_hash: str


@dataclass(frozen=True)
class Reason:
    rule: str
    label: str
    item_id: str | None
    item_label: str
    value: str | None
    department: str | None
    observed_on: str | None
    stale: bool
    score: int | None


@dataclass(frozen=True)
class CandidateRow:
    person_id: str
    tier: str
    domains: tuple[str, ...]
    domain_labels: tuple[str, ...]
    reasons: tuple[Reason, ...]
    hidden_reasons: int
    no_mark: bool
    first_flag: bool
    trend: str
    trend_label: str
    school_code: str | None
    grade: int | None
    stale_reasons: int
    case_status: str = ""  # empty: the reader may not see case status (``CandidatePage.cases_visible``)
    case_owner: str = ""

    @property
    def case_known(self) -> bool:
        """A body has taken the child up since the listing: no-mark then means "no-mark when listed"."""
        return self.case_status not in ("", UNCHECKED)


@dataclass
class CandidateFilter:
    school: str | None = None
    grade: int | None = None
    tier: str | None = None
    domain: str | None = None
    first_only: bool = False
    worsened_only: bool = False
    no_mark_only: bool = False
    status: str | None = None
    owner: str | None = None
    sort: str = "tier"
    page: int = 1
    per_page: int = PER_PAGE

    def check(self) -> None:
        if self.tier is not None and self.tier not in LISTED_TIERS:
            raise Invalid(f"区分は {'・'.join(LISTED_TIERS)} のいずれかです。")
        if self.domain is not None and self.domain not in DOMAINS:
            raise Invalid("領域の指定が正しくありません。")
        if self.status is not None and self.status not in STATUSES:
            raise Invalid(f"状況は {'・'.join(STATUSES)} のいずれかです。")
        if self.owner is not None and self.owner not in OWNER_FILTERS:
            raise Invalid("担当の指定が正しくありません。")
        if self.sort not in SORTS:
            raise Invalid("並べ替えの指定が正しくありません。")
        if self.page < 1 or not 1 <= self.per_page <= 500:
            raise Invalid("ページの指定が正しくありません。")


@dataclass
class CandidatePage:
    run: RunInfo | None
    rows: list[CandidateRow]
    total: int
    page: int
    pages: int
    scope: str
    schools: list[str] = field(default_factory=list)
    grades: list[int] = field(default_factory=list)
    cases_visible: bool = False


@overload
def _utc(moment: datetime) -> datetime: ...
@overload
def _utc(moment: None) -> None: ...
def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def latest_run(session: Session) -> RunInfo | None:
    run = session.scalars(select(ScreeningRun).where(ScreeningRun.finished_at.is_not(None))
                          .order_by(ScreeningRun.as_of.desc(), ScreeningRun.started_at.desc()).limit(1)).first()
    if run is None:
        return None
    # SQLite hands timestamps back without a zone; they are UTC (the API's date-time needs the offset).
    return RunInfo(run.run_id, run.as_of, _utc(run.started_at), _utc(run.finished_at), run.children,
                   tuple(json.loads(run.missing_sources or "[]")), json.loads(run.snapshots_json or "{}"),
                   run.rule_set_hash)


def _policy_visible(policy: Policy, subject: Subject, action: str, purpose: str,
                    relationship: str) -> Callable[..., bool]:
    def visible(level: int, holder: str | None = None) -> bool:
        return policy.decide(subject, action, purpose, relationship=relationship, sensitivity=level,
                             holder=holder).allowed

    return visible


class _Visibility:
    """The policy's answers for one user, action and purpose, by relationship, sensitivity and holder.

    They do not depend on the child, so a list asks the policy a handful of times, not once per
    reason and domain of every row shown (or, for the dashboard, of every listed child).
    """

    def __init__(self, policy: Policy, subject: Subject, action: str, purpose: str) -> None:
        self.policy = policy
        self._ask = (policy, subject, action, purpose)
        self._by_relationship: dict[str, Callable[..., bool]] = {}

    def __call__(self, relationship: str) -> Callable[..., bool]:
        found = self._by_relationship.get(relationship)
        if found is None:
            ask = _policy_visible(*self._ask, relationship)
            answers: dict[tuple[int, str | None], bool] = {}

            def found(level: int, holder: str | None = None) -> bool:
                if (level, holder) not in answers:
                    answers[level, holder] = ask(level, holder)
                return answers[level, holder]

            self._by_relationship[relationship] = found
        return found


def reasons_for(policy: Policy, subject: Subject, action: str, purpose: str, relationship: str, raw: str, *,
                visible: Callable[..., bool] | None = None) -> tuple[list[Reason], int]:
    """The reasons the user may see (by the sensitivity of each reason's item), and how many are hidden."""
    catalog = policy.catalog
    check = visible or _policy_visible(policy, subject, action, purpose, relationship)
    shown: list[Reason] = []
    hidden = 0
    for r in json.loads(raw or "[]"):
        item = catalog.items.get(r.get("item_id") or "")
        if not check(item.sensitivity if item is not None else 2):
            hidden += 1
            continue
        shown.append(Reason(
            r.get("rule", ""), r.get("label", ""), r.get("item_id"), reason_item_label(item),
            reason_value(r.get("value"), item), r.get("department"),
            None if r.get("observed_on") is None else str(r.get("observed_on")), bool(r.get("stale")),
            r.get("score"),
        ))
    return shown, hidden


def domains_for(policy: Policy, subject: Subject, action: str, purpose: str, relationship: str, raw: str, *,
                visible: Callable[..., bool] | None = None) -> tuple[str, ...]:
    check = visible or _policy_visible(policy, subject, action, purpose, relationship)
    return tuple(d for d in json.loads(raw or "[]") if check(DOMAIN_SENSITIVITY.get(d, 2)))


def _row(subject: Subject, purpose: str, scope: Scope, result: ScreeningResult, visibility: _Visibility) -> CandidateRow:
    rel = scope.relationship_to(result.person_id, result.school_code)
    visible = visibility(rel)
    policy = visibility.policy
    reasons, hidden = reasons_for(policy, subject, ACTION, purpose, rel, result.reasons, visible=visible)
    domains = domains_for(policy, subject, ACTION, purpose, rel, result.domains, visible=visible)
    return CandidateRow(
        result.person_id, result.tier, domains, tuple(DOMAINS.get(d, d) for d in domains), tuple(reasons), hidden,
        result.no_mark, result.first_flag, result.trend, TREND_LABELS.get(result.trend, result.trend),
        result.school_code, result.grade, result.stale_reasons,
    )


def _covered(scope: Scope, hidden: frozenset[str]) -> Callable[[Listed], bool] | None:
    """Whether a row is in the user's scope and not suspended; None when every row is."""
    if "municipality" in scope.relationships and not hidden:
        return None
    return lambda r: r.person_id not in hidden and scope.covers(r.person_id, r.school_code)


def _filter_key(f: CandidateFilter) -> tuple[object, ...]:
    return f.school, f.grade, f.tier, f.domain, f.first_only, f.worsened_only, f.no_mark_only


def _matcher(f: CandidateFilter) -> Callable[[Listed], bool] | None:
    """The filter as one test built once per request (None: no filter), not re-read per row."""
    tests: list[Callable[[Listed], bool]] = []
    if f.school is not None:
        tests.append(lambda r: r.school_code == f.school)
    if f.grade is not None:
        tests.append(lambda r: r.grade == f.grade)
    if f.tier is not None:
        tests.append(lambda r: r.tier == f.tier)
    if f.domain is not None:
        tests.append(lambda r: f.domain in r.domains)
    if f.first_only:
        tests.append(lambda r: r.first_flag)
    if f.worsened_only:
        tests.append(lambda r: r.trend == "worse")
    if f.no_mark_only:
        tests.append(lambda r: r.no_mark)
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    return lambda r: all(test(r) for test in tests)


def _full(session: Session, chosen: Sequence[Listed]) -> list[ScreeningResult]:
    """The complete results of one page, in the page's order."""
    by_id = {r.id: r for r in session.scalars(select(ScreeningResult).where(
        ScreeningResult.id.in_([c.id for c in chosen])))}
    return [by_id[c.id] for c in chosen]


def list_candidates(
    session: Session, subject: Subject, purpose: str, filters: CandidateFilter, *, paginate: bool = True,
    key: Ed25519PrivateKey | None = None,
) -> CandidatePage:
    """The candidates of the latest run in the user's scope, filtered, sorted and (by default) one page."""
    filters.check()
    scope, decision = list_scope(session, subject, ACTION, purpose, key=key)
    run = latest_run(session)
    if run is None:
        return CandidatePage(None, [], 0, 1, 1, scope.broadest)
    listing = run_listing(session, run.run_id)
    hidden = frozenset(suspended_persons(session))
    covered = _covered(scope, hidden)
    matches = _matcher(filters)
    ordered = listing.orders[filters.sort]
    scope_key = (scope.relationships, scope.schools, scope.assigned, hidden)
    in_scope = ordered if covered is None else listing.selection(
        ("scope", filters.sort, scope_key), lambda: tuple(r for r in ordered if covered(r)))
    chosen = in_scope if matches is None else listing.selection(
        ("filter", filters.sort, scope_key, _filter_key(filters)), lambda: tuple(r for r in in_scope if matches(r)))
    cases_visible = policy_of(session).allows(subject, "case.read", purpose, relationship=scope.broadest, sensitivity=STATUS_SENSITIVITY)
    cases = statuses(session) if cases_visible else {}
    if cases_visible and (filters.status is not None or filters.owner is not None):
        chosen = tuple(r for r in chosen if _case_matches(cases.get(r.person_id), filters, subject.user_id))
    total = len(chosen)
    pages = max(1, math.ceil(total / filters.per_page)) if paginate else 1
    page = min(filters.page, pages)
    shown = chosen[(page - 1) * filters.per_page: page * filters.per_page] if paginate else chosen
    visibility = _Visibility(policy_of(session), subject, ACTION, purpose)
    rows = [_row(subject, purpose, scope, r, visibility) for r in _full(session, shown)]
    if cases_visible:
        who = names(session, [cases[r.person_id][1] for r in rows if r.person_id in cases])
        rows = [replace(r, case_status=cases.get(r.person_id, (UNCHECKED, None))[0],
                        case_owner=who.get(cases.get(r.person_id, (UNCHECKED, None))[1] or "", "")) for r in rows]
    record_listed(session, subject, decision, ACTION, purpose, [r.person_id for r in rows], key=key,
                  items=(CASE_ITEM,) if cases_visible else ())
    return CandidatePage(
        run, rows, total, page, pages, scope.broadest, cases_visible=cases_visible,
        schools=list(listing.schools) if covered is None else sorted({r.school_code for r in in_scope if r.school_code}),
        grades=list(listing.grades) if covered is None else sorted({r.grade for r in in_scope if r.grade is not None}),
    )


def _case_matches(case: tuple[str, str | None] | None, filters: CandidateFilter, user_id: str) -> bool:
    status, owner = case if case is not None else (UNCHECKED, None)
    if filters.status is not None and status != filters.status:
        return False
    if filters.owner == "me" and owner != user_id:
        return False
    return not (filters.owner == "none" and owner is not None)


@dataclass
class Dashboard:
    run: RunInfo | None
    allowed: bool
    scope: str = "none"
    listed: int = 0
    by_tier: dict[str, int] = field(default_factory=dict)
    by_domain: dict[str, int] = field(default_factory=dict)
    no_mark: int = 0
    first_time: int = 0
    worsened: int = 0
    stale_children: int = 0


def dashboard(session: Session, subject: Subject, purpose: str = "screening", *,
              key: Ed25519PrivateKey | None = None) -> Dashboard:
    """Counts over the user's scope (aggregates: one audit entry, not one per child).

    Roles that may not list children get the run's facts only; their page view is not recorded
    as a refused list (nothing of a child was asked for).
    """
    run = latest_run(session)
    if not _may_list(policy_of(session), subject, purpose):
        return Dashboard(run, False)
    try:
        scope, _decision = list_scope(session, subject, ACTION, purpose, key=key)
    except Refused:
        return Dashboard(run, False)  # the refusal is recorded; the page still shows the run
    board = Dashboard(run, True, scope.broadest)
    if run is None:
        return board
    listing = run_listing(session, run.run_id)
    covered = _covered(scope, frozenset(suspended_persons(session)))
    rows = listing.rows if covered is None else [r for r in listing.rows if covered(r)]
    board.listed = len(rows)
    board.by_tier = {t: n for t, n in Counter(r.tier for r in rows).items()}
    visibility = _Visibility(policy_of(session), subject, ACTION, purpose)
    domains: Counter[str] = Counter()
    for r in rows:
        visible = visibility(scope.relationship_to(r.person_id, r.school_code))
        domains.update(d for d in r.domains if visible(DOMAIN_SENSITIVITY.get(d, 2)))
    board.by_domain = {DOMAINS.get(d, d): n for d, n in domains.most_common()}
    board.no_mark = sum(r.no_mark for r in rows)
    board.first_time = sum(r.first_flag for r in rows)
    board.worsened = sum(r.trend == "worse" for r in rows)
    board.stale_children = sum(r.stale_reasons > 0 for r in rows)
    return board


def _may_list(policy: Policy, subject: Subject, purpose: str) -> bool:
    return any(policy.allows(subject, ACTION, purpose, relationship=r, sensitivity=2)
               for r in ("assigned_case", "same_school", "municipality"))
