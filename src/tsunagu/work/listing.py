"""A screening run's listed results, held in memory by the process that serves the candidate list.

Loading, parsing and sorting every listed result of the run on each request took most of the
list's time (0.13 s of 0.2 s at 100,000 children, 15,416 listed). A finished run is frozen: its
results are written in the run's own transaction, together with ``finished_at``, and never
updated; only deletions (a family's erasure request, retention) remove rows. So the listed rows
of a run are known by (hub, run id, number of the run's rows in the listed tiers), and that count —
one covering-index read of about a millisecond — is the only thing a request asks of the database
to know its copy is current. Per request only the user's scope, the suspensions and the filter
remain to apply, to rows already sorted in every order the page offers.
"""

from __future__ import annotations

import gc
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.screen.model import TIERS
from tsunagu.screen.runs.models import ScreeningResult

LISTED_TIERS = TIERS[:-1]
TIER_RANK = {tier: i for i, tier in enumerate(TIERS)}
# Selections (scope × suspensions × filter × order) kept per listing, bounded by the rows they hold
# (references to shared rows, 8 bytes each: 16 MB at most). Bounded by count (64) they were evicted
# before they were asked again: four orders × each tier, school, domain and mark filter are some
# hundreds of selections at 100,000 children, and rebuilding one (a pass over the 15,000 listed
# rows) was a tenth of a list request's CPU. Most are small (a school's, a domain's).
SELECTION_ROWS_KEPT = 2_000_000


@dataclass(frozen=True, slots=True)
class Listed:
    """What filtering, sorting and paging need of a listed result: the reasons (the bulk of a row)
    are read for the shown page only."""

    id: int
    person_id: str
    tier: str
    domains: tuple[str, ...]
    school_code: str | None
    grade: int | None
    first_flag: bool
    trend: str
    no_mark: bool
    stale_reasons: int


SORT_KEYS: dict[str, Callable[[Listed], Any]] = {
    "tier": lambda r: (TIER_RANK.get(r.tier, 9), -len(r.domains), not r.no_mark, r.person_id),
    "school": lambda r: (r.school_code or "", r.grade or 0, TIER_RANK.get(r.tier, 9), r.person_id),
    "stale": lambda r: (-r.stale_reasons, TIER_RANK.get(r.tier, 9), r.person_id),
    "person": lambda r: r.person_id,
}


class Selections:
    """Rows selected by a key, the least recently asked dropped first once more than ``rows_kept``
    rows are held (the newest is always kept)."""

    def __init__(self, rows_kept: int = SELECTION_ROWS_KEPT) -> None:
        self.rows_kept = rows_kept
        self._found: OrderedDict[Hashable, tuple[Listed, ...]] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._found)

    def get(self, key: Hashable, build: Callable[[], tuple[Listed, ...]]) -> tuple[Listed, ...]:
        with self._lock:
            found = self._found.get(key)
            if found is not None:
                self._found.move_to_end(key)
                return found
        rows = build()
        with self._lock:
            if key not in self._found:
                self._found[key] = rows
                self._held += len(rows)
            while self._held > self.rows_kept and len(self._found) > 1:
                self._held -= len(self._found.popitem(last=False)[1])
        return rows


@dataclass(frozen=True)
class RunListing:
    """Every listed result of one run, in each order the list offers."""

    run_id: str
    orders: Mapping[str, tuple[Listed, ...]]
    schools: tuple[str, ...]
    grades: tuple[int, ...]
    selections: Selections = field(default_factory=Selections, repr=False, compare=False)

    @property
    def rows(self) -> tuple[Listed, ...]:
        return self.orders["person"]

    def selection(self, key: Hashable, build: Callable[[], tuple[Listed, ...]]) -> tuple[Listed, ...]:
        """The rows ``build`` selects, remembered under ``key`` (which must say everything ``build``
        depends on): the next page of the same list, or another user's same list, is a look-up."""
        return self.selections.get(key, build)


def _listed_filter(run_id: str) -> Any:
    # tier IN (the listed tiers), not tier != 対象外: the run-and-tier index then reads only the
    # listed entries (about 1 ms at 100,000 children, against 7 ms for every result of the run).
    # in_list: children beyond the municipality's list size (掲載枠) keep their tier but are not on it.
    return (ScreeningResult.run_id == run_id) & ScreeningResult.tier.in_(LISTED_TIERS) & ScreeningResult.in_list


def listed_count(session: Session, run_id: str) -> int:
    """The run's results in the listed tiers, in or beyond the list (掲載枠): what tells a cached copy
    it is current (a deletion of a listed row lowers it).

    Not the listed rows themselves: ``in_list`` is not in the run-and-tier index, so counting by it
    read the 17,000 rows of the tiers from the table (20 ms of CPU per list at 100,000 children,
    a third of the request), where this count reads the index alone (about 1 ms)."""
    tiers = (ScreeningResult.run_id == run_id) & ScreeningResult.tier.in_(LISTED_TIERS)
    return int(session.scalar(select(func.count()).select_from(ScreeningResult).where(tiers)) or 0)


def load_listing(session: Session, run_id: str) -> RunListing:
    r = ScreeningResult
    rows = [
        Listed(row.id, row.person_id, row.tier, tuple(json.loads(row.domains or "[]")), row.school_code, row.grade,
               bool(row.first_flag), row.trend, bool(row.no_mark), int(row.stale_reasons or 0))
        for row in session.execute(select(r.id, r.person_id, r.tier, r.domains, r.school_code, r.grade, r.first_flag,
                                          r.trend, r.no_mark, r.stale_reasons).where(_listed_filter(run_id)))
    ]
    return RunListing(
        run_id, {name: tuple(sorted(rows, key=key)) for name, key in SORT_KEYS.items()},
        tuple(sorted({x.school_code for x in rows if x.school_code})),
        tuple(sorted({x.grade for x in rows if x.grade is not None})),
    )


def settle() -> None:
    """Leave what the process holds now out of the cycle collector's full passes (``gc.freeze``).

    A full pass walks every object the process holds; with a run's listing and the app's modules
    loaded that is some 280,000, and each pass took about 0.1 s of CPU in whichever request set
    it off: at 100,000 children most of the slowest list, child and search requests. What is held
    now lives until the process ends or a new run replaces it (freed then by reference counting:
    the listing holds no cycles); later objects are collected as before. The young generations are
    collected first (cheap), so the request's own garbage is not kept with them. Only for a process
    that serves the app (``settle_after_loads``): what a test run holds is short-lived.
    """
    gc.collect(1)
    gc.freeze()


class ListingCache:
    """The current listing of each hub this process serves (normally one).

    ``settle_after_load``: freeze the process's objects after each load (``settle``), which a server
    wants and a test run must not have (its later garbage cycles, frozen, would never be freed).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, int, RunListing]] = {}
        self.settle_after_load = False

    def get(self, session: Session, run_id: str) -> RunListing:
        hub = session.get_bind().engine.url.render_as_string(hide_password=True)
        count = listed_count(session, run_id)
        # One loader at a time: 20 requests arriving with a new run wait for one load, not 20.
        with self._lock:
            found = self._entries.get(hub)
            if found is not None and found[0] == run_id and found[1] == count:
                return found[2]
            listing = load_listing(session, run_id)
            # Stored under the count of the same snapshot it was loaded in, so a deletion committed
            # meanwhile makes the next request load again rather than be missed.
            self._entries[hub] = (run_id, count, listing)
            if self.settle_after_load:
                settle()
            return listing

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = ListingCache()


def settle_after_loads() -> None:
    """For a serving process: its listings (and what it holds by then) stay out of full GC passes."""
    _cache.settle_after_load = True


def run_listing(session: Session, run_id: str) -> RunListing:
    """The listed results of ``run_id`` (a finished run) as of ``session``'s snapshot."""
    return _cache.get(session, run_id)
