"""Gathering what linkage needs from the department nodes.

The hub asks every node for identifiers (purpose: screening, requester: the link run). What comes
back lives only in memory for the run; only the link index is stored. Records are reduced to one
row per (source, local id), and the resident register's records become the *spine*: one row per
宛名番号 with the household's guardians, previous surnames and previous addresses attached. Which
source is the register is declared in its manifest (``linkage.role: register``), never guessed
from its name; what the register does not hold or release (続柄, say) is named in the run's notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from tsunagu.catalog.manifest import Manifest, ManifestSet
from tsunagu.errors import UnavailableError
from tsunagu.ingest.normalize import name_key, reading_key, split_name
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest

GUARDIAN_RELATIONSHIPS = ("世帯主", "妻", "夫", "父", "母")
RELATIONSHIP_ITEM = "relationship_to_head"

# A leading prefecture: the prefecture's own records (the child-guidance centre's) write it, the
# municipality's do not, and ingest keeps addresses as written (see ingest.normalize.addresses).
# Addresses are compared from the municipality on.
PREFECTURE = r"^(?:東京都|北海道|京都府|大阪府|[^\s都道府県市区町村郡0-9]{2,3}県)"

# Values that many unrelated records share; left in, they would make one enormous block.
PLACEHOLDER_BIRTH_DATES = (date(1900, 1, 1), date(1901, 1, 1), date(2000, 1, 1))

# What the run asks each node for (data minimisation: never the names and addresses as written).
# Departments whose records all carry 宛名番号 as their own id join their person by it alone.
KEYED_FIELDS = ("aza_number", "school_code")
# The register's and the unkeyed records' comparison keys (the guardian's name is split here).
COMPARISON_FIELDS = (
    "aza_number", "household_number", "school_code", "family_key", "given_key", "family_reading_key",
    "given_reading_key", "birth_date", "sex", "address_key", "guardian_name", "guardian_reading_key",
    "postal_code", "locality", "region",
)
HISTORY_FIELDS = ("previous_name_key", "previous_address_key")

_ASKING_THREADS = 2

RECORD_COLUMNS = (
    "key", "department", "source", "local_id", "aza_number", "household_number", "school_code",
    "family_key", "given_key", "family_reading_key", "given_reading_key", "birth_date", "sex",
    "address_key", "guardian_name_key", "guardian_given_key", "guardian_reading_key", "postal_code", "locality",
    "region",
)


@dataclass
class LinkInputs:
    """One run's view of every identity record, plus the spine built from the register."""

    records: pl.DataFrame
    spine: pl.DataFrame
    relationships: pl.DataFrame
    missing_sources: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    spine_source: str = ""
    # What the run could not use, in words (an item the register does not hold, a blocking without pairs …).
    notes: list[str] = field(default_factory=list)

    def with_records_of(self, other: LinkInputs) -> LinkInputs:
        """This gathering with the records of another, from departments the spine does not use."""
        return LinkInputs(pl.concat([self.records, other.records]), self.spine, self.relationships,
                          sorted([*self.missing_sources, *other.missing_sources]), {**self.refused, **other.refused},
                          self.spine_source, [*self.notes, *other.notes])

    def spine_key(self, aza: pl.Expr) -> pl.Expr:
        """The link key of a registered person: the register's source and the 宛名番号."""
        return pl.lit(self.spine_source + ":") + aza


def _latest_per_local_id(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort("record_id").unique(subset=["source", "local_id"], keep="last", maintain_order=True)


def _guardian_parts(name: str | None) -> tuple[str | None, str | None]:
    if not name:
        return None, None
    family, given = split_name(name)
    whole = name_key(family + (given or ""))
    return whole or None, (name_key(given) if given else None)


def without_prefecture(address: pl.Expr) -> pl.Expr:
    return address.str.replace(PREFECTURE, "")


def _null_placeholders(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col("birth_date").is_in(list(PLACEHOLDER_BIRTH_DATES))).then(None)
        .otherwise(pl.col("birth_date")).alias("birth_date"),
        *[pl.when(pl.col(c).str.len_chars() == 0).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("family_key", "given_key", "family_reading_key", "given_reading_key", "address_key", "postal_code",
                    "locality", "region")],
    )


def _keyed_by_aza(manifest: Manifest) -> bool:
    """Its own id is the 宛名番号: every row joins its person by it, none is ever compared."""
    aza = manifest.identifiers.get("aza_number")
    return aza is not None and manifest.local_id == [aza]


def register_department(manifests: ManifestSet) -> str | None:
    register = manifests.register()
    return None if register is None else register.department


def requested_fields(department: str, manifests: ManifestSet) -> tuple[str, ...]:
    """The identity fields the run needs from ``department``."""
    if department == register_department(manifests):
        return (*COMPARISON_FIELDS, *HISTORY_FIELDS)
    identity = [m for m in manifests.of_department(department) if m.identity_of is None]
    return KEYED_FIELDS if all(_keyed_by_aza(m) for m in identity) else COMPARISON_FIELDS


def needed_for_scoring(department: str, manifests: ManifestSet) -> bool:
    """Whether scoring needs the department's records: the register's (the spine), records that
    are compared (not all with 宛名番号 as their id), and records naming the school a registered
    child attends (the spine's school). The others only join their person by 宛名番号, and can be
    asked for while the scoring runs."""
    if department == register_department(manifests) or requested_fields(department, manifests) == COMPARISON_FIELDS:
        return True
    return any("school_code" in m.identifiers for m in manifests.of_department(department) if m.identity_of is None)


def _guardian_keys(names: pl.Series) -> pl.DataFrame:
    """Whole-name and given-name keys of each distinct guardian name (split once per name)."""
    distinct = names.drop_nulls().unique().to_list()
    parts = [_guardian_parts(n) for n in distinct]
    return pl.DataFrame({"guardian_name": distinct, "guardian_name_key": [p[0] for p in parts],
                         "guardian_given_key": [p[1] for p in parts]},
                        schema={"guardian_name": pl.Utf8, "guardian_name_key": pl.Utf8, "guardian_given_key": pl.Utf8})


def shape_records(frame: pl.DataFrame, department: str) -> pl.DataFrame:
    """Reduce a node's identifier answer to the columns linkage compares (absent ones as nulls)."""
    derived = ("key", "department", "guardian_name_key", "guardian_given_key")
    missing = [c for c in ("guardian_name", *RECORD_COLUMNS) if c not in frame.columns and c not in derived]
    frame = _latest_per_local_id(frame).drop("guardian_name_key", strict=False).with_columns(
        *[pl.lit(None, dtype=pl.Date if c == "birth_date" else pl.Utf8).alias(c) for c in missing])
    frame = frame.join(_guardian_keys(frame["guardian_name"]), on="guardian_name", how="left",
                       maintain_order="left")
    frame = frame.with_columns(
        pl.lit(department).alias("department"),
        (pl.col("source") + ":" + pl.col("local_id")).alias("key"),
    )
    # A name written without a space gives no given name; its reading may still split.
    frame = frame.with_columns(
        pl.when(pl.col("given_key").is_null() & pl.col("family_key").is_not_null() & pl.col("given_reading_key").is_not_null())
        .then(None).otherwise(pl.col("given_key")).alias("given_key"),
    )
    frame = frame.with_columns(without_prefecture(pl.col("address_key")).alias("address_key"))
    return _null_placeholders(frame.select(RECORD_COLUMNS))


def _spine(records: pl.DataFrame, relationships: pl.DataFrame, history: pl.DataFrame, spine_source: str) -> pl.DataFrame:
    """One row per registered person, enriched with guardians, school and history."""
    registry = records.filter(pl.col("source") == spine_source)
    school = (
        records.filter(pl.col("school_code").is_not_null() & pl.col("aza_number").is_not_null())
        .select("aza_number", pl.col("school_code").alias("enrolled_school"))
        .unique(subset=["aza_number"], keep="last")
    )
    people = registry.join(relationships, on="aza_number", how="left")
    guardians = (
        people.filter(pl.col("relationship").is_in(GUARDIAN_RELATIONSHIPS))
        .select(
            "household_number",
            pl.col("aza_number").alias("guardian_aza"),
            pl.concat_str(pl.col("family_key"), pl.col("given_key").fill_null("")).alias("g_name"),
            pl.col("given_key").alias("g_given"),
            pl.concat_str(pl.col("family_reading_key"), pl.col("given_reading_key").fill_null("")).alias("g_reading"),
        )
    )
    per_household = (
        people.select("aza_number", "household_number")
        .join(guardians, on="household_number", how="inner")
        .filter(pl.col("aza_number") != pl.col("guardian_aza"))
        .group_by("aza_number")
        .agg(
            pl.col("g_name").drop_nulls().unique().sort().alias("guardian_names"),
            pl.col("g_given").drop_nulls().unique().sort().alias("guardian_givens"),
            pl.col("g_reading").drop_nulls().unique().sort().alias("guardian_readings"),
        )
    )
    previous = history.group_by("aza_number").agg(
        pl.col("previous_name_key").drop_nulls().unique().sort().alias("previous_family_keys"),
        without_prefecture(pl.col("previous_address_key")).drop_nulls().unique().sort().alias("previous_address_keys"),
    )
    return (
        people.join(per_household, on="aza_number", how="left")
        .join(previous, on="aza_number", how="left")
        .join(school, on="aza_number", how="left")
        .with_columns(pl.coalesce("enrolled_school", "school_code").alias("school_code"))
        .drop("enrolled_school")
        .unique(subset=["aza_number"], keep="last", maintain_order=True)
    )


def _previous_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Previous surnames are stored whole; keep the family part so it compares with surnames."""
    names = [split_name(n)[0] if n else None for n in frame["previous_name_key"].to_list()]
    return frame.with_columns(pl.Series("previous_name_key", [name_key(n) if n else None for n in names], dtype=pl.Utf8))


@dataclass
class _Answer:
    """One department's part of the gathering: its records, or why it gave none."""

    department: str
    records: pl.DataFrame | None = None
    history: pl.DataFrame | None = None
    refused: str | None = None
    missing: list[str] = field(default_factory=list)


def _ask(department: str, node: Node, manifests: ManifestSet, run_id: str) -> _Answer:
    request = NodeRequest(requester=f"hub:link:{run_id}", role="system", purpose="screening",
                          fields=requested_fields(department, manifests))
    try:
        answer = node.identifiers(request)
    except NodeRefusedError as exc:
        return _Answer(department, refused=exc.reason)
    except Exception as exc:  # a node that is down or answers garbage must not stop the run
        return _Answer(department, refused=f"{type(exc).__name__}: {exc}",
                       missing=[m.source for m in manifests.of_department(department)])
    identity_sources = {m.source for m in manifests.of_department(department) if m.identity_of is None}
    data = answer.data
    asked = _Answer(department, shape_records(data.filter(pl.col("source").is_in(identity_sources)), department))
    register = manifests.register()
    if register is not None and department == register.department:
        # The register's history (moves, earlier names): sources whose identity is the register's.
        history_sources = [m.source for m in manifests.of_department(department) if m.identity_of == register.source]
        hist = data.filter(pl.col("source").is_in(history_sources))
        hist = hist.select(*[pl.col(c) if c in hist.columns else pl.lit(None, dtype=pl.Utf8).alias(c)
                             for c in ("aza_number", *HISTORY_FIELDS)])
        asked.history = _previous_keys(hist)
    return asked


def gather(nodes: Mapping[str, Node], manifests: ManifestSet, run_id: str) -> LinkInputs:
    """Ask every node for identifiers (from two threads: a node's hooks, such as an HTTP node's
    ``on_exchange``, may be called from either); a node that fails is named, and the run goes on
    without it."""
    history = pl.DataFrame(schema={"aza_number": pl.Utf8, "previous_name_key": pl.Utf8, "previous_address_key": pl.Utf8})
    relationships = pl.DataFrame(schema={"aza_number": pl.Utf8, "relationship": pl.Utf8})
    # The nodes are asked side by side, most of an answer's time being spent with the GIL released
    # (SQLite's query, polars' decoding, the digest); more than two threads only wait for the GIL.
    # The register's identifiers and relationships (an items request) go first, side by side: they
    # are the two longest answers. The relationships are used only if the identifiers came.
    declared = manifests.register()
    registry = None if declared is None else declared.department
    register = None if registry is None else nodes.get(registry)
    with ThreadPoolExecutor(max_workers=_ASKING_THREADS) as pool:
        asking = {} if register is None or declared is None or registry is None else {
            registry: pool.submit(_ask, registry, register, manifests, run_id)}
        related = None if register is None or declared is None else pool.submit(
            _registry_relationships, register, declared, run_id)
        for department, node in sorted(nodes.items()):
            if department != registry:
                asking[department] = pool.submit(_ask, department, node, manifests, run_id)
    answers = [asking[department].result() for department in sorted(nodes)]
    frames: list[pl.DataFrame] = []
    missing: list[str] = []
    refused: dict[str, str] = {}
    notes: list[str] = []
    if declared is None and any(m.identity_of is None for m in manifests.manifests.values()):
        notes.append("住民記録（linkage.role: register）を宣言した取込定義がないため、宛名番号のない記録はつなげません"
                     " / no manifest declares the register: records without 宛名番号 stay unlinked")
    for asked in answers:
        if asked.refused is not None and asked.department == registry and asked.missing:
            # The register is the spine: a run without it would delete every link of the register's
            # records. A node that failed (not one that refused by policy) stops the run unwritten.
            raise UnavailableError(
                f"住民記録（{registry}）のノードから識別情報を読めなかったため、名寄せを中止しました（つながりは変更していません）:"
                f" {asked.refused} / the register's node failed, so the link run stopped before writing anything")
        if asked.refused is not None:
            refused[asked.department] = asked.refused
            missing.extend(asked.missing)
            continue
        assert asked.records is not None
        frames.append(asked.records)
        if asked.history is not None:
            history = pl.concat([history, asked.history])
        if asked.department == registry and related is not None:
            relationships, note = related.result()
            notes.extend([note] if note else [])
    records = pl.concat(frames) if frames else pl.DataFrame(
        schema={c: pl.Date if c == "birth_date" else pl.Utf8 for c in RECORD_COLUMNS})
    spine_source = "" if declared is None else declared.source
    return LinkInputs(records, _spine(records, relationships, history, spine_source), relationships, missing, refused,
                      spine_source, notes)


def _no_relationships() -> pl.DataFrame:
    return pl.DataFrame(schema={"aza_number": pl.Utf8, "relationship": pl.Utf8})


def _registry_relationships(node: Node, register: Manifest, run_id: str) -> tuple[pl.DataFrame, str | None]:
    """Each registered person's 続柄, or none and why: an export without the column, or an item not
    released for screening, links without guardians rather than not at all."""
    if RELATIONSHIP_ITEM not in register.item_ids:
        return _no_relationships(), (f"{register.source}: 続柄（{RELATIONSHIP_ITEM}）が取込定義にないため、保護者を照合に使いません"
                                     f" / {RELATIONSHIP_ITEM} is not in the register's export: guardians not compared")
    request = NodeRequest(requester=f"hub:link:{run_id}", role="system", purpose="screening", items=(RELATIONSHIP_ITEM,))
    try:
        answer = node.items(request, date.max)
    except NodeRefusedError as exc:
        return _no_relationships(), (f"{register.source}: 続柄（{RELATIONSHIP_ITEM}）が提供されないため、保護者を照合に使いません"
                                     f"（{exc.reason}） / {RELATIONSHIP_ITEM} not released: guardians not compared")
    if RELATIONSHIP_ITEM in answer.refused:
        return _no_relationships(), (f"{register.source}: 続柄（{RELATIONSHIP_ITEM}）が提供されないため、保護者を照合に使いません"
                                     f" / {RELATIONSHIP_ITEM} not released: guardians not compared")
    return (
        answer.data.filter(pl.col("source") == register.source)
        .select(pl.col("local_id").cast(pl.Utf8).alias("aza_number"), pl.col("value_text").cast(pl.Utf8).alias("relationship"))
        .unique(subset=["aza_number"], keep="last")
    ), None


def normalised_reading(text: str | None) -> str | None:
    return reading_key(text) if text else None
