"""Storing a run's outcome in the hub: persons, the link index, the review queue, households.

Later runs write what changed, in one pass (``store_outcome``). A first run (no link index yet)
writes a whole municipality, and most of it does not wait for Splink: a record with 宛名番号
belongs to that number's person whatever is scored. So a first run stores those persons, their
link rows and the households (``store_keyed``) while Splink scores, and adds the scored records
afterwards (``store_scored``). The outcome is the same as one pass would give: new persons for
every cluster, the same link rows and households.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl
from sqlalchemy.orm import Session

from tsunagu.link.households import household_membership, household_of, write_households
from tsunagu.link.identity import IdentityChanges, cluster_records, new_person_ids, stable_ids
from tsunagu.link.index import LINK_SCHEMA, link_rows, write_links, write_persons, write_review
from tsunagu.link.records import LinkInputs
from tsunagu.store.bulk import large_cache

LINKS_SCHEMA: dict[str, pl.DataType] = {
    "key_r": pl.Utf8(), "key_l": pl.Utf8(), "match_probability": pl.Float64(), "method": pl.Utf8(),
}


@dataclass
class Stored:
    """What a run wrote: its persons (cluster -> person id, with the ids created, merged and
    split) and the link-index rows deleted / updated / inserted."""

    changes: IdentityChanges
    written: dict[str, int] = field(default_factory=dict)


def no_links() -> pl.DataFrame:
    return pl.DataFrame(schema=LINKS_SCHEMA)


def no_previous_links() -> pl.DataFrame:
    return pl.DataFrame(schema={**LINK_SCHEMA, "key": pl.Utf8()})


def store_outcome(session: Session, run_id: str, now: datetime, inputs: LinkInputs, clustered: pl.DataFrame,
                  links: pl.DataFrame, previous: pl.DataFrame, review: pl.DataFrame) -> Stored:
    """Bring the hub from the ``previous`` link index to this run's clusters, in one pass."""
    stored = _store_clusters(session, run_id, now, inputs, clustered, links, previous)
    write_review(session, run_id, review)
    return stored


def store_keyed(session: Session, run_id: str, now: datetime, inputs: LinkInputs) -> Stored:
    """A first run, before any link is scored: the records with 宛名番号, their persons and the
    households (which the register alone decides)."""
    clustered = cluster_records(inputs.records.filter(pl.col("aza_number").is_not_null()), no_links())
    return _store_clusters(session, run_id, now, inputs, clustered, no_links(), no_previous_links())


def _store_clusters(session: Session, run_id: str, now: datetime, inputs: LinkInputs, clustered: pl.DataFrame,
                    links: pl.DataFrame, previous: pl.DataFrame) -> Stored:
    """Persons, link rows and households for ``clustered``, from the ``previous`` link index."""
    changes = stable_ids(clustered, previous)
    membership = household_membership(inputs, clustered, changes.assignment, now.date())
    with large_cache(session.connection()):
        write_persons(session, run_id, now, changes, household_of(membership))
        written = write_links(session, run_id, link_rows(clustered, links, changes.assignment), previous)
        write_households(session, membership, now)
    return Stored(changes, written)


def store_scored(session: Session, run_id: str, now: datetime, keyed: Stored, clustered: pl.DataFrame,
                 links: pl.DataFrame, review: pl.DataFrame) -> Stored:
    """A first run, once scored: each record without 宛名番号 joins the registered person it was
    linked to, or becomes a new person; the uncertain pairs go to review."""
    scored = clustered.filter(pl.col("aza_number").is_null())
    known = keyed.changes.assignment
    alone = scored.filter(~pl.col("cluster").is_in(list(known)))["cluster"].unique().sort().to_list()
    fresh = new_person_ids(len(alone))
    added = IdentityChanges(dict(zip(alone, fresh, strict=True)), created=fresh)
    assignment = {**known, **added.assignment}
    with large_cache(session.connection()):
        write_persons(session, run_id, now, added, {})
        written = write_links(session, run_id, link_rows(scored, links, assignment), no_previous_links())
        write_review(session, run_id, review)
    total = {kind: keyed.written.get(kind, 0) + written.get(kind, 0) for kind in {*keyed.written, *written}}
    return Stored(IdentityChanges(assignment, created=[*keyed.changes.created, *fresh]), total)
