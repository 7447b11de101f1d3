"""What a screening run reads: the children and their item values, asked from the department nodes.

Only the items the rule set uses are requested, each from the department that holds it, for the
purpose ``screening``. Values arrive keyed by (source, local id) and are mapped onto person ids
through the link index; a household's values (tax status, care needs) reach each of its children.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.ingest.basis import require_basis
from tsunagu.link.models import HouseholdMember, Person, PersonLink
from tsunagu.screen.evaluate import OBSERVATION_SCHEMA, PEOPLE_SCHEMA
from tsunagu.store.bulk import read_frame
from tsunagu.store.frames import hash_csv, hash_csv_sorted
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest, no_cycle_collection

REGISTRY = "resident_registry"
SPINE_SOURCE = "juki_jumin"
CHILD_AGE_LIMIT = 18
# 文部科学省 学校コード: the first letter is the kind of school (B 小学校, C 中学校, D 義務教育学校).
JUNIOR_HIGH_PREFIX = "C"
# Rows of a department's answer mapped to persons at a time (each slice's rows keep their order).
ANSWER_SLICE_ROWS = 500_000


@dataclass
class ScreeningInputs:
    people: pl.DataFrame
    observations: pl.DataFrame
    snapshots: dict[str, list[str]] = field(default_factory=dict)
    missing_sources: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        """Same inputs, same digest: the evidence that a rerun read the same data."""
        h = hashlib.sha256()
        # Written and hashed a slice at a time: the observations' CSV text as one string was the
        # run's largest object (store.frames).
        hash_csv(h, self.people.sort("person_id"))
        hash_csv_sorted(h, self.observations, ["person_id", "item_id", "observed_on"])
        return h.hexdigest()


def _links(session: Session) -> pl.DataFrame:
    # Column by column from the driver's rows (read_frame): the whole link index, millions of rows
    # in a large city, as SQLAlchemy rows took several times its frame's memory.
    return read_frame(session.connection(), select(PersonLink.source, PersonLink.local_id, PersonLink.person_id),
                      {"source": pl.Utf8(), "local_id": pl.Utf8(), "person_id": pl.Utf8()})


def _households(session: Session) -> pl.DataFrame:
    return read_frame(session.connection(),
                      select(HouseholdMember.person_id, HouseholdMember.household_id, HouseholdMember.role)
                      .where(HouseholdMember.valid_to.is_(None)),
                      {"person_id": pl.Utf8(), "household_id": pl.Utf8(), "role": pl.Utf8()})


def _request(run_id: str, items: tuple[str, ...] = (), purpose: str = "screening") -> NodeRequest:
    # Other hub jobs (outreach) read under their own registered purpose and are logged as such.
    job = "screen" if purpose == "screening" else purpose
    return NodeRequest(requester=f"hub:{job}:{run_id}", role="system", purpose=purpose, items=items)


def _people(node: Node, links: pl.DataFrame, households: pl.DataFrame, as_of: date, run_id: str,
            purpose: str = "screening", spine_source: str = SPINE_SOURCE) -> pl.DataFrame:
    """Registered children (0–17 on ``as_of``) who had not moved out or died by then."""
    identity = node.identifiers(_request(run_id, purpose=purpose), as_of=as_of).data.filter(
        pl.col("source") == spine_source)
    registry = identity.select("local_id", "birth_date", "sex").join(
        links.filter(pl.col("source") == spine_source), on="local_id", how="inner")
    limit = date(as_of.year - CHILD_AGE_LIMIT, as_of.month, min(as_of.day, 28))
    children = registry.filter(pl.col("birth_date").is_not_null() & (pl.col("birth_date") > limit)
                               & (pl.col("birth_date") <= as_of))
    try:
        gone = node.items(_request(run_id, ("move_out_date", "death_date"), purpose), as_of).data
    except NodeRefusedError:
        # A register export without 転出・死亡 columns: everyone on it is taken as living there.
        gone = pl.DataFrame()
    if gone.height:
        left = gone.filter(pl.col("source") == spine_source).select("local_id").unique()
        children = children.join(left, on="local_id", how="anti")
    return (
        children.unique(subset=["person_id"], keep="first")
        .join(households.select("person_id", "household_id"), on="person_id", how="left")
        .select("person_id", "birth_date", "sex", "household_id")
    )


def _map_to_people(answer: pl.DataFrame, manifests: ManifestSet, links: pl.DataFrame) -> pl.DataFrame:
    """(source, local_id) → person, via the identity source for sources keyed by another's ids."""
    identity_of = {m.source: (m.identity_of or m.source) for m in manifests.manifests.values()}
    identities = {identity_of.get(source, source) for source in answer["source"].unique().to_list()}
    if len(identities) == 1:
        # Every row keyed by one source's ids (a department's sources by its register's): a join on the
        # local id alone, with that source's links — the same rows in the same order, and for the
        # schools' 3.5 million rows at 100,000 children 0.97 -> 0.36 CPU s against the two text keys.
        (only,) = identities
        return answer.with_columns(pl.lit(only, dtype=pl.Utf8).alias("identity_source")).join(
            links.filter(pl.col("source") == only).drop("source"), on="local_id", how="inner", maintain_order="left")
    keyed = answer.with_columns(
        pl.col("source").replace_strict(identity_of, default=pl.col("source")).alias("identity_source"))
    # In the answer's order whichever side polars builds on: input order breaks ties (screen.evaluate).
    return keyed.join(links.rename({"source": "identity_source"}), on=["identity_source", "local_id"], how="inner",
                      maintain_order="left")


def _spread(per_household: pl.DataFrame, households: pl.DataFrame) -> pl.DataFrame:
    """A household's values reach each member (tax status, a member's care need)."""
    members = households.select("person_id", "household_id")
    return (
        per_household.join(members, on="person_id", how="inner")
        .drop("person_id")
        .join(members.rename({"person_id": "member"}), on="household_id", how="inner")
        .rename({"member": "person_id"})
        .drop("household_id")
        .select(per_household.columns)
    )


def _certified(certificates: pl.DataFrame, households: pl.DataFrame) -> pl.DataFrame:
    """A household member's disability certificate, as a fact of each other child in the household."""
    members = households.select("person_id", "household_id", "role")
    # Any other member counts, a brother or sister too: in the national survey most young carers
    # in junior high care for a sibling (きょうだい 61.8%, 厚生労働省・文部科学省 2021). The
    # certificate holder's own flag is not a household signal, so the holder is left out.
    return (
        certificates.join(members, on="person_id", how="inner")
        .select(pl.col("person_id").alias("holder"), "household_id", "observed_on", "department", "source_id",
                "snapshot_date", "stale")
        .join(members.filter(pl.col("role") == "child").select("person_id", "household_id"), on="household_id")
        .filter(pl.col("person_id") != pl.col("holder"))
        .drop("holder")
        .with_columns(pl.lit("household_disability_certificate").alias("item_id"), pl.lit(True).alias("value_bool"),
                      pl.lit(None, dtype=pl.Float64).alias("value_num"), pl.lit(None, dtype=pl.Utf8).alias("value_text"))
        .select(list(OBSERVATION_SCHEMA))
    )


def _single_parent(households: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """A child whose household has one guardian."""
    members = households.select("person_id", "household_id", "role")
    guardians = members.filter(pl.col("role") == "guardian").group_by("household_id").len("guardians")
    single = (
        members.filter(pl.col("role") == "child").join(guardians, on="household_id", how="inner")
        .filter(pl.col("guardians") == 1)
        .select("person_id", pl.lit("single_parent_household").alias("item_id"), pl.lit(None, dtype=pl.Float64).alias("value_num"),
                pl.lit(None, dtype=pl.Utf8).alias("value_text"), pl.lit(True).alias("value_bool"), pl.lit(as_of).alias("observed_on"),
                pl.lit(REGISTRY).alias("department"), pl.lit("tsunagu:household").alias("source_id"),
                pl.lit(as_of).alias("snapshot_date"), pl.lit(False).alias("stale"))
    )
    return single.select(list(OBSERVATION_SCHEMA))


@dataclass
class _Observations:
    """The children's observations, gathered one department's answer at a time.

    Each answer is mapped to persons and cut to the children as soon as it arrives, and then let
    go: the departments' whole answers (every resident's: millions of rows in a large city) and
    their copies mapped to persons were, side by side, the largest objects of a run. Household
    sources' rows (a few per household) are kept until every answer is in and spread over the
    members then. The order is the one a single pass over all answers gives — every answer's own
    rows, the household rows spread, the derived household facts —, as input order is the last
    tie-break between two values of one day (screen.evaluate)."""

    children: pl.DataFrame  # person_id
    household_sources: set[str]
    stale_days: dict[str, int]
    as_of: date
    own: list[pl.DataFrame] = field(default_factory=list)
    per_household: list[pl.DataFrame] = field(default_factory=list)
    certificates: list[pl.DataFrame] = field(default_factory=list)  # every holder's (adults' too)

    def add(self, answer: pl.DataFrame, manifests: ManifestSet, links: pl.DataFrame) -> None:
        # A slice at a time: the schools' answer (every pupil's absences, lateness, arrears …) is
        # millions of rows, and its copy mapped to persons beside it was the run's peak.
        for start in range(0, answer.height, ANSWER_SLICE_ROWS):
            self._add(answer.slice(start, ANSWER_SLICE_ROWS), manifests, links)

    def _add(self, answer: pl.DataFrame, manifests: ManifestSet, links: pl.DataFrame) -> None:
        mapped = _map_to_people(answer, manifests, links)
        household = pl.col("source").is_in(list(self.household_sources))
        if self.household_sources:
            self.per_household.append(mapped.filter(household))
            mapped = mapped.filter(~household)
        own = self._shaped(mapped)
        held = own.filter(pl.col("item_id") == "disability_certificate")
        if held.height:
            self.certificates.append(held)
        self.own.append(own.join(self.children, on="person_id", how="semi"))

    def _shaped(self, mapped: pl.DataFrame) -> pl.DataFrame:
        age_days = (pl.lit(self.as_of) - pl.col("snapshot_date")).dt.total_days()
        return mapped.with_columns(
            pl.col("source").alias("source_id"),
            (age_days > pl.col("source").replace_strict(self.stale_days, default=45, return_dtype=pl.Int64)).alias("stale"),
        ).select(list(OBSERVATION_SCHEMA))

    def whole(self, households: pl.DataFrame) -> pl.DataFrame:
        spread = [self._shaped(_spread(pl.concat(self.per_household), households))] if self.per_household else []
        held = [*self.certificates, *(part.filter(pl.col("item_id") == "disability_certificate") for part in spread)]
        certificates = pl.concat(held) if held else pl.DataFrame(schema=OBSERVATION_SCHEMA)
        derived = [_certified(certificates, households), _single_parent(households, self.as_of)]
        own, self.own, self.per_household, self.certificates = self.own, [], [], []
        cut = [part.join(self.children, on="person_id", how="semi") for part in (*spread, *derived)]
        return pl.concat([*own, *cut])  # the own rows were cut as they came


def gather(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, catalog: Catalog,
           item_ids: frozenset[str], as_of: date, run_id: str, *, purpose: str = "screening") -> ScreeningInputs:
    require_basis(manifests)  # no source without a recorded ground (APPI art. 69(2)) is read
    with no_cycle_collection():  # the link index's rows as driver tuples first (vault.node)
        links, households = _links(session), _households(session)
    refused: dict[str, str] = {}
    missing: list[str] = []
    # The register is the source its manifest declares (linkage.role: register), whatever its name.
    register = manifests.register()
    registry, spine_source = (REGISTRY, SPINE_SOURCE) if register is None else (register.department, register.source)
    if registry not in nodes:
        raise RuntimeError("住民記録のノードがありません: 子どもの一覧を作れません / no resident-registry node")
    people = _people(nodes[registry], links, households, as_of, run_id, purpose, spine_source)
    gathered = _Observations(people.select("person_id"),
                             {m.source for m in manifests.manifests.values() if m.subject == "household"},
                             {m.source: m.stale_after_days for m in manifests.manifests.values()}, as_of)
    by_department: dict[str, list[str]] = {}
    wanted = (item_ids | {"school_code", "grade"}) - {"household_disability_certificate", "single_parent_household"}
    for item in sorted(wanted):
        if item in catalog.items:
            by_department.setdefault(catalog.items[item].department, []).append(item)
    if "household_disability_certificate" in item_ids:
        by_department.setdefault("disability_welfare", []).append("disability_certificate")
    for department, items in sorted(by_department.items()):
        node = nodes.get(department)
        if node is None:
            missing.extend(m.source for m in manifests.of_department(department))
            continue
        try:
            answer = node.items(_request(run_id, tuple(sorted(set(items))), purpose), as_of)
        except NodeRefusedError as exc:
            refused[department] = exc.reason
            continue
        except Exception as exc:  # a node down or answering garbage must not stop the run
            refused[department] = f"{type(exc).__name__}: {exc}"
            missing.extend(m.source for m in manifests.of_department(department))
            continue
        refused.update({f"{department}:{k}": v for k, v in answer.refused.items()})
        gathered.add(answer.data.with_columns(pl.lit(department).alias("department")), manifests, links)
        del answer
    observations = gathered.whole(households)
    # Each source's export dates, from the two columns only: iterating over group_by's groups
    # built a frame of every column per source, a second copy of all the observations.
    dates = observations.select("source_id", "snapshot_date").group_by("source_id").agg(pl.col("snapshot_date").unique())
    snapshots = {source: sorted(d.isoformat() for d in days) for source, days in sorted(dates.iter_rows())}
    return ScreeningInputs(_with_school(people, observations), observations, snapshots, sorted(set(missing)), refused)


def _with_school(people: pl.DataFrame, observations: pl.DataFrame) -> pl.DataFrame:
    """School and school year (1–9) from the school-age register's latest values."""
    def latest(item: str, column: str) -> pl.DataFrame:
        return (observations.filter(pl.col("item_id") == item).sort("observed_on")
                .group_by("person_id").agg(pl.col(column).last().alias(item)))
    school = latest("school_code", "value_text")
    grade = latest("grade", "value_num")
    out = people.join(school, on="person_id", how="left").join(grade, on="person_id", how="left")
    out = out.with_columns(
        pl.when(pl.col("school_code").str.starts_with(JUNIOR_HIGH_PREFIX)).then(pl.col("grade") + 6)
        .otherwise(pl.col("grade")).cast(pl.Int64).alias("grade"))
    return out.select(list(PEOPLE_SCHEMA))


def persons_known(session: Session) -> set[str]:
    return set(session.scalars(select(Person.person_id)).all())
