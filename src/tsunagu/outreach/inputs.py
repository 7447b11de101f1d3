"""What an outreach run reads: the children and the items the programmes use, under purpose ``outreach``.

The screening run's gathering (``tsunagu.screen.runs.inputs.gather``) is reused with the purpose
registered for push-type support, so each department's node releases only what its manifest
releases for that purpose and logs the request as such. The hub adds the household facts the
programmes read from the register's households: the number of members and of children.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.ingest.normalize import name_key, split_name
from tsunagu.link.models import HouseholdMember, PersonLink
from tsunagu.outreach.evaluate import RESIDENCE_ITEMS
from tsunagu.outreach.programmes import DERIVED_ITEMS
from tsunagu.outreach.unreadable import SUBJECTS_SCHEMA, Unreadable, gather_unreadable
from tsunagu.screen.evaluate import OBSERVATION_SCHEMA
from tsunagu.screen.runs.inputs import REGISTRY, SPINE_SOURCE, ScreeningInputs, gather
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest

PURPOSE = "outreach"
HOUSEHOLD_SOURCE = "tsunagu:household"
HEAD_COUPLE = ("世帯主", "妻", "夫")
RELATIONSHIP = "relationship_to_head"  # 続柄 (住民記録)
# Sources that name a child's parent by 宛名番号: department -> source.
PARENT_SOURCES = {"child_support": "jidou_teate", "maternal_child_health": "boshi_hoken"}
BOARD, BOARD_SOURCE = "board_of_education", "gakureibo"
KANJI = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class OutreachInputs:
    people: pl.DataFrame
    observations: pl.DataFrame
    unavailable: list[str]  # departments whose data did not arrive (their conditions are unknown)
    snapshots: dict[str, list[str]]
    unreadable: Unreadable = field(default_factory=Unreadable)  # subjects with rows that did not load


def _members(session: Session) -> pl.DataFrame:
    return pl.DataFrame(
        session.execute(select(HouseholdMember.person_id, HouseholdMember.household_id, HouseholdMember.role,
                               HouseholdMember.relationship).where(HouseholdMember.valid_to.is_(None))).all(),
        schema={"person_id": pl.Utf8, "household_id": pl.Utf8, "role": pl.Utf8, "relationship": pl.Utf8}, orient="row")


def _single_parent(members: pl.DataFrame) -> pl.DataFrame:
    """Per child: the parents living with them number exactly one (ひとり親世帯, 住民記録上).

    続柄 is relative to the head of household: a 子 of the head lives with the head and the head's
    spouse (妻・夫); a 孫 lives with the head's adult 子. Grandparents, adult siblings and other
    relatives are not parents: a single mother living with her own parents is a single parent
    (児童扶養手当法第4条), which counting every adult "guardian" would miss.
    """
    adults = members.filter(pl.col("role") != "child")
    head_couple = adults.filter(pl.col("relationship").is_in(list(HEAD_COUPLE))).group_by("household_id").len("p_child")
    adult_children = adults.filter(pl.col("relationship") == "子").group_by("household_id").len("p_grandchild")
    kids = members.filter(pl.col("role") == "child").join(head_couple, on="household_id", how="left") \
        .join(adult_children, on="household_id", how="left")
    parents = pl.when(pl.col("relationship") == "孫").then(pl.col("p_grandchild")).otherwise(pl.col("p_child"))
    return kids.select("person_id", (parents.fill_null(0) == 1).alias("single"))


def _parent_missing(session: Session, nodes: Mapping[str, Node], as_of: date, run_id: str) -> set[str]:
    """Children a department records with a parent (児童手当's 受給者, 母子保健's 母) who is not a
    registered person here.

    The register export then lacks that parent's row (quarantined, or not yet loaded), so "one parent
    in the household" may be a parent missing from the data: single parenthood cannot be checked.
    A parent registered in another household (living apart) is not a sign of this.
    """
    links = pl.DataFrame(session.execute(select(PersonLink.source, PersonLink.local_id, PersonLink.person_id)
                                         .where(PersonLink.source.in_([*PARENT_SOURCES.values(), SPINE_SOURCE]))).all(),
                         schema={"source": pl.Utf8, "local_id": pl.Utf8, "person_id": pl.Utf8}, orient="row")
    registered = links.filter(pl.col("source") == SPINE_SOURCE)["local_id"].implode()
    found: set[str] = set()
    for department, source in PARENT_SOURCES.items():
        node = nodes.get(department)
        if node is None:
            continue
        request = NodeRequest(requester=f"hub:{PURPOSE}:{run_id}", role="system", purpose=PURPOSE,
                              fields=("guardian_aza_number",))
        try:
            answer = node.identifiers(request, as_of=as_of).data
        except NodeRefusedError:
            continue
        if answer.height == 0 or "guardian_aza_number" not in answer.columns:
            continue
        missing = answer.filter((pl.col("source") == source) & pl.col("guardian_aza_number").is_not_null()
                                & (pl.col("guardian_aza_number") != "")
                                & ~pl.col("guardian_aza_number").is_in(registered))
        children = missing.select("local_id").join(links.filter(pl.col("source") == source), on="local_id")
        found.update(children["person_id"].to_list())
    return found


def _guardian_elsewhere(session: Session, nodes: Mapping[str, Node], as_of: date, run_id: str) -> set[str]:
    """Pupils whose 学齢簿 保護者 has a given name no adult of their register household has.

    The 学齢簿 names the guardian the board deals with; when that person is not among the household's
    adults, a parent's register row may be missing. Given names only: a surname changes on divorce
    and the 学齢簿 may still carry the old one.
    """
    registry, board = nodes.get(REGISTRY), nodes.get(BOARD)
    if registry is None or board is None:
        return set()

    def ask(node: Node, fields: tuple[str, ...]) -> pl.DataFrame:
        request = NodeRequest(requester=f"hub:{PURPOSE}:{run_id}", role="system", purpose=PURPOSE, fields=fields)
        try:
            return node.identifiers(request, as_of=as_of).data
        except NodeRefusedError:
            return pl.DataFrame()

    pupils, adults = ask(board, ("guardian_name",)), ask(registry, ("full_name",))
    if pupils.height == 0 or adults.height == 0 or "guardian_name" not in pupils.columns:
        return set()
    links = pl.DataFrame(session.execute(select(PersonLink.source, PersonLink.local_id, PersonLink.person_id)
                                         .where(PersonLink.source.in_([BOARD_SOURCE, SPINE_SOURCE]))).all(),
                         schema={"source": pl.Utf8, "local_id": pl.Utf8, "person_id": pl.Utf8}, orient="row")
    members = _members(session)
    named = (pupils.filter((pl.col("source") == BOARD_SOURCE) & pl.col("guardian_name").is_not_null())
             .select("local_id", pl.col("guardian_name").map_elements(_name_keys, return_dtype=pl.List(pl.Utf8))
                     .alias("key"))
             .filter(pl.col("key").list.len() > 0)
             .join(links.filter(pl.col("source") == BOARD_SOURCE), on="local_id")
             .join(members.select("person_id", "household_id"), on="person_id"))
    known = (adults.filter((pl.col("source") == SPINE_SOURCE) & pl.col("full_name").is_not_null())
             .select("local_id", pl.col("full_name").map_elements(_name_keys, return_dtype=pl.List(pl.Utf8)).alias("key"))
             .join(links.filter(pl.col("source") == SPINE_SOURCE), on="local_id")
             .join(members.filter(pl.col("role") != "child").select("person_id", "household_id"), on="person_id")
             .explode("key").select("household_id", "key").unique())
    matched = named.explode("key").join(known, on=["household_id", "key"], how="semi")["person_id"]
    return set(named.filter(~pl.col("person_id").is_in(matched.implode()))["person_id"].to_list())


def _name_keys(name: str) -> list[str]:
    """The whole name and the given name as match keys; none for a name in kana or the alphabet only
    (foreign residents' register names are often in the alphabet, the school's in katakana)."""
    if not KANJI.search(name):
        return []
    _family, given = split_name(name)
    keys = [name_key(re.sub(r"\s", "", name))]
    if given:
        keys.append("given:" + name_key(given))
    return keys


def _household_facts(session: Session, people: pl.DataFrame, as_of: date,
                     parent_missing: frozenset[str] | set[str] = frozenset()) -> pl.DataFrame:
    """世帯人員, the number of children under 18 and a single parent, per child, from the register."""
    members = _members(session)
    size = members.group_by("household_id").len("n").with_columns(pl.lit("household_size").alias("item_id"))
    kids = (people.filter(pl.col("household_id").is_not_null()).group_by("household_id").len("n")
            .with_columns(pl.lit("household_children").alias("item_id")))
    per_household = pl.concat([size, kids])
    facts = people.select("person_id", "household_id").join(per_household, on="household_id", how="inner")
    numbers = facts.select("person_id", "item_id", pl.col("n").cast(pl.Float64).alias("value_num"),
                           pl.lit(None, dtype=pl.Boolean).alias("value_bool"))
    # No row where a parent may be missing from the data: the condition is then "could not be checked".
    single = people.select("person_id").join(_single_parent(members), on="person_id", how="inner").filter(
        ~(pl.col("single") & pl.col("person_id").is_in(sorted(parent_missing)))).select(
        "person_id", pl.lit("single_parent_household").alias("item_id"), pl.lit(None, dtype=pl.Float64).alias("value_num"),
        pl.col("single").alias("value_bool"))
    return pl.concat([numbers, single]).select(
        "person_id", "item_id", "value_num", pl.lit(None, dtype=pl.Utf8).alias("value_text"), "value_bool",
        pl.lit(as_of).alias("observed_on"), pl.lit(REGISTRY).alias("department"),
        pl.lit(HOUSEHOLD_SOURCE).alias("source_id"), pl.lit(as_of).alias("snapshot_date"), pl.lit(False).alias("stale"),
    ).select(list(OBSERVATION_SCHEMA))


def _unavailable(inputs: ScreeningInputs, manifests: ManifestSet) -> list[str]:
    departments = {key for key in inputs.refused if ":" not in key}
    by_source = {m.source: m.department for m in manifests.manifests.values()}
    departments.update(by_source[s] for s in inputs.missing_sources if s in by_source)
    return sorted(departments)


def _composition_unreadable(members: pl.DataFrame, unreadable: pl.DataFrame,
                            earlier: pl.DataFrame | None = None) -> set[str]:
    """Children of a household with a member whose 続柄 did not load: who is a parent there is unknown.

    The member is the person the row's key names in the link index, in the household the register
    places them in now — or, when the row that did not load was their only row in the snapshot (so
    the latest linkage closed their membership), the household they were last known in (``earlier``:
    person_id, household_id)."""
    unsure_people = unreadable.filter(pl.col("item_id") == RELATIONSHIP).select("person_id").unique()
    known = members.select("person_id", "household_id")
    if earlier is not None and earlier.height:
        known = pl.concat([known, earlier.select("person_id", "household_id")
                           .join(known, on="person_id", how="anti")])
    unsure = known.join(unsure_people, on="person_id", how="semi").select("household_id").unique()
    children = members.filter(pl.col("role") == "child").join(unsure, on="household_id", how="semi")
    return set(children["person_id"].to_list())


def _earlier_households(session: Session, members: pl.DataFrame, unreadable: pl.DataFrame) -> pl.DataFrame:
    """(person_id, household_id): the last household of each person with an unreadable 続柄 who is
    in no household now (their membership was closed when their register row stopped loading)."""
    wanted = set(unreadable.filter(pl.col("item_id") == RELATIONSHIP)["person_id"].to_list())
    wanted -= set(members["person_id"].to_list())
    rows = session.execute(select(HouseholdMember.person_id, HouseholdMember.household_id)
                           .where(HouseholdMember.person_id.in_(sorted(wanted)))
                           .order_by(HouseholdMember.person_id, HouseholdMember.valid_to.desc())).all() if wanted else []
    return pl.DataFrame(rows, schema={"person_id": pl.Utf8, "household_id": pl.Utf8}, orient="row").unique(
        "person_id", keep="first", maintain_order=True)


def _whole_households(children: set[str], members: pl.DataFrame) -> set[str]:
    """Every child of the households of ``children``: a parent missing from the register household is
    missing for the brothers and sisters too (the household's parents are read once, from 続柄), though
    the department named the parent for one child only (the baby's 母子健康手帳, a younger child's 児童手当)."""
    households = members.filter(pl.col("person_id").is_in(sorted(children))).select("household_id").unique()
    siblings = members.filter(pl.col("role") == "child").join(households, on="household_id", how="semi")
    return children | set(siblings["person_id"].to_list())


def gather_outreach(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, catalog: Catalog,
                    item_ids: frozenset[str], as_of: date, run_id: str) -> OutreachInputs:
    wanted = frozenset(item_ids - set(DERIVED_ITEMS))
    inputs = gather(session, nodes, manifests, catalog, wanted, as_of, run_id, purpose=PURPOSE)
    members = _members(session)
    # 続柄 is what single parenthood is derived from (_single_parent), 転出・死亡 who still lives here
    # (gather leaves those out): their unreadable values count too.
    unreadable = gather_unreadable(session, nodes, manifests, catalog, wanted | {RELATIONSHIP, *RESIDENCE_ITEMS},
                                   as_of, run_id, purpose=PURPOSE, members=members, people=inputs.people)
    # The screening's single-parent flag counts adult "guardians"; ours counts parents (see _single_parent).
    unsure = _composition_unreadable(members, unreadable.subjects,
                                     _earlier_households(session, members, unreadable.subjects))
    unreadable.subjects = pl.concat([unreadable.subjects, pl.DataFrame(
        {"person_id": sorted(unsure), "item_id": ["single_parent_household"] * len(unsure)}, schema=SUBJECTS_SCHEMA)])
    named_elsewhere = _parent_missing(session, nodes, as_of, run_id) | _guardian_elsewhere(session, nodes, as_of, run_id)
    missing = _whole_households(named_elsewhere, members) | unsure
    observations = pl.concat([inputs.observations.filter(pl.col("item_id") != "single_parent_household"),
                              _household_facts(session, inputs.people, as_of, missing)])
    return OutreachInputs(inputs.people, observations, _unavailable(inputs, manifests), inputs.snapshots, unreadable)
