"""Which children's data has rows that did not load: a receipt row that is unreadable is not "none".

A department's export may hold rows the vault could not load (quarantined) or loaded without a
value (a flagged 受給状況 code nobody mapped). Read as absent, such a row turns a family that
receives 児童手当 into one that "does not receive it" and puts it on the list. Each department's
node answers which of its subjects have such rows for the items the programmes read (under the
purpose ``outreach``, logged by the node like any other request; never the row's content). The
hub maps them onto people as it maps the items: through the link index, and for a source keyed
by 宛名番号 through the register's entry for that number (a row that never loaded has no link of
its own). A condition that did not hold but reads such an item is "could not be checked"; the
rows whose key could not be read, or that name nobody linked, are counted per source: the part
of the gap the data cannot see, until the department's quarantine is cleared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog
from tsunagu.catalog.manifest import Manifest, ManifestSet
from tsunagu.link.models import PersonLink
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest

SUBJECTS_SCHEMA = {"person_id": pl.Utf8, "item_id": pl.Utf8}


@dataclass
class Unreadable:
    """``subjects``: person_id, item_id — the person's data for the item has an unreadable row.
    ``sources``: per source and item, rows and subjects named, linked, and rows naming nobody.
    ``not_answered``: departments that could not say (their unreadable rows are unknown)."""

    subjects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SUBJECTS_SCHEMA))
    sources: list[dict[str, Any]] = field(default_factory=list)
    not_answered: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"sources": self.sources, "not_answered": self.not_answered}


def keyed_by_aza(manifest: Manifest) -> bool:
    """The source's own key is the 宛名番号 (its local_id is its aza_number column)."""
    aza = manifest.identifiers.get("aza_number")
    return aza is not None and manifest.local_id == [aza]


def _links(session: Session, sources: set[str]) -> pl.DataFrame:
    return pl.DataFrame(session.execute(select(PersonLink.source, PersonLink.local_id, PersonLink.person_id)
                                        .where(PersonLink.source.in_(sorted(sources)))).all(),
                        schema={"source": pl.Utf8, "local_id": pl.Utf8, "person_id": pl.Utf8}, orient="row")


def _person_of(session: Session, found: pl.DataFrame, manifests: ManifestSet) -> pl.DataFrame:
    """(source, local_id) → person: the link index, else the register's person with that 宛名番号."""
    identity_of = {m.source: (m.identity_of or m.source) for m in manifests.manifests.values()}
    register = manifests.register()
    wanted = {identity_of.get(s, s) for s in found["source"].unique().to_list()}
    links = _links(session, wanted | ({register.source} if register is not None else set()))
    keyed = found.with_columns(
        pl.col("source").replace_strict(identity_of, default=pl.col("source")).alias("identity_source"))
    direct = keyed.join(links.rename({"source": "identity_source"}), on=["identity_source", "local_id"], how="left")
    aza_sources = [m.source for m in manifests.manifests.values() if keyed_by_aza(m)]
    if register is None or not keyed_by_aza(register) or not aza_sources:
        return direct.drop("identity_source")
    spine = links.filter(pl.col("source") == register.source).select("local_id", pl.col("person_id").alias("by_aza"))
    return (direct.join(spine, on="local_id", how="left")
            .with_columns(pl.when(pl.col("source").is_in(aza_sources)).then(pl.coalesce("person_id", "by_aza"))
                          .otherwise(pl.col("person_id")).alias("person_id"))
            .drop("identity_source", "by_aza"))


def _to_households(mapped: pl.DataFrame, household_sources: set[str], members: pl.DataFrame) -> pl.DataFrame:
    """A household's row reaches each member (as its values do: tax status, care needs)."""
    if not household_sources:
        return mapped
    own = mapped.filter(~pl.col("source").is_in(sorted(household_sources)))
    spread = (mapped.filter(pl.col("source").is_in(sorted(household_sources)))
              .join(members.select("person_id", "household_id"), on="person_id", how="inner")
              .drop("person_id")
              .join(members.select("person_id", "household_id"), on="household_id", how="inner")
              .drop("household_id"))
    return pl.concat([own, spread.select(own.columns)])


def _report(answer: pl.DataFrame, mapped: pl.DataFrame, considered: pl.DataFrame) -> list[dict[str, Any]]:
    """Per source and item: rows, subjects named, linked, the run's children reached, rows naming nobody."""
    out = []
    for (source, item), part in answer.group_by("source", "item_id", maintain_order=True):
        named = part.filter(pl.col("local_id").is_not_null())
        linked = mapped.filter((pl.col("source") == source) & (pl.col("item_id") == item)
                               & pl.col("person_id").is_not_null())["local_id"].n_unique()
        children = considered.filter((pl.col("source") == source) & (pl.col("item_id") == item))["person_id"]
        out.append({"source": source, "item": item, "rows": int(part["rows"].sum()), "subjects": named.height,
                    "linked": linked, "children": children.n_unique(),
                    "rows_without_key": int(part.filter(pl.col("local_id").is_null())["rows"].sum()),
                    "subjects_not_linked": named.height - linked})
    return out


def gather_unreadable(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, catalog: Catalog,
                      item_ids: frozenset[str], as_of: date, run_id: str, *, purpose: str, members: pl.DataFrame,
                      people: pl.DataFrame) -> Unreadable:
    """Ask each department holding one of ``item_ids`` which subjects have unreadable rows for them."""
    by_department: dict[str, list[str]] = {}
    for item in sorted(item_ids):
        spec = catalog.items.get(item)
        if spec is not None:
            by_department.setdefault(spec.department, []).append(item)
    result = Unreadable()
    answers: list[pl.DataFrame] = []
    for department, items in sorted(by_department.items()):
        node = nodes.get(department)
        if node is None:
            continue  # the department's data did not arrive at all: its conditions are unknown already
        request = NodeRequest(requester=f"hub:{purpose}:{run_id}", role="system", purpose=purpose, items=tuple(items))
        try:
            answers.append(node.unreadable(request, as_of).data)
        except NodeRefusedError as exc:
            result.not_answered[department] = exc.reason
        except Exception as exc:  # a node down or answering garbage must not stop the run (as gather)
            result.not_answered[department] = f"{type(exc).__name__}: {exc}"
    answer = pl.concat(answers) if answers else pl.DataFrame(
        schema={"source": pl.Utf8, "local_id": pl.Utf8, "item_id": pl.Utf8, "rows": pl.Int64})
    if answer.height == 0:
        return result
    answer = answer.select("source", "local_id", "item_id", "rows")
    mapped = _person_of(session, answer.filter(pl.col("local_id").is_not_null()), manifests)
    household_sources = {m.source for m in manifests.manifests.values() if m.subject == "household"}
    reached = _to_households(mapped.filter(pl.col("person_id").is_not_null()), household_sources, members)
    result.sources = _report(answer, mapped, reached.join(people.select("person_id"), on="person_id", how="semi"))
    result.subjects = reached.select("person_id", "item_id").unique().sort("person_id", "item_id")
    return result
