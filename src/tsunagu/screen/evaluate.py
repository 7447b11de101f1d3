"""Evaluate a rule set over a whole population, vectorised, as of one date.

The evaluation is one pass of polars expressions over a wide per-person frame: indicators are
aggregated per item, spread into columns, then every score, hard rule, domain level and tier is
a column expression. No step loops over children.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from tsunagu.screen.compile import to_polars
from tsunagu.screen.expr import Node, Ref
from tsunagu.screen.indicators import FILL, RESULT_SCHEMA, compute
from tsunagu.screen.listsize import ListFill, fill
from tsunagu.screen.model import DOMAINS, NO_TIER, TIERS
from tsunagu.screen.reasons import reasons_column
from tsunagu.screen.ruleset import IndicatorDef, RuleSet, Scalar

PEOPLE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "birth_date": pl.Date(),
    "sex": pl.String(),
    "school_code": pl.String(),
    "grade": pl.Int64(),
    "household_id": pl.String(),
}
OBSERVATION_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "item_id": pl.String(),
    "value_num": pl.Float64(),
    "value_text": pl.String(),
    "value_bool": pl.Boolean(),
    "observed_on": pl.Date(),
    "department": pl.String(),
    "source_id": pl.String(),
    "snapshot_date": pl.Date(),
    "stale": pl.Boolean(),
}
_OBS_KEEP = ["_pix", "observed_on", "snapshot_date", "value_num", "value_text", "value_bool", "department", "stale"]


@dataclass(frozen=True)
class ScreeningResult:
    """One row per person in ``results``; the rule set is identified by ``rule_set_hash``."""

    results: pl.DataFrame
    rule_set_hash: str
    as_of: dt.date
    municipality_code: str | None
    parameters: dict[str, Scalar]
    tier_counts: dict[str, int]
    benefit_only_flags: int
    stigma_guard_capped: int
    known_to_support: int
    list_fill: ListFill
    evidence: pl.DataFrame | None = None  # what the list's order reads (person_id, tier, counts, points)

    @property
    def counts(self) -> dict[str, Any]:
        return {
            "by_tier": dict(self.tier_counts),
            "benefit_only_flags": self.benefit_only_flags,
            "stigma_guard_capped": self.stigma_guard_capped,
            "known_to_support": self.known_to_support,
            **self.list_fill.as_dict(),
        }


def _conform(frame: pl.DataFrame, schema: Mapping[str, pl.DataType], name: str) -> pl.DataFrame:
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")
    casts = []
    for column, dtype in schema.items():
        have = frame.schema[column]
        if have == dtype:
            continue
        if (
            have == pl.Null
            or (have.is_integer() and dtype.is_integer())
            or (have.is_numeric() and dtype == pl.Float64())
        ):
            casts.append(pl.col(column).cast(dtype))
        else:
            raise ValueError(f"{name}: column {column!r} is {have}, expected {dtype}")
    return frame.select(list(schema)).with_columns(casts) if casts else frame.select(list(schema))


def prepare_observations(
    observations: pl.DataFrame, persons: pl.DataFrame, items: frozenset[str], as_of: dt.date
) -> dict[str, pl.DataFrame]:
    """Per item, this population's observations up to ``as_of``, one value per source and date.

    Exports repeat history, so the same (person, item, source, date) may arrive in several
    snapshots; the latest export is the department's current statement and replaces earlier
    ones (a correction wins), while several rows of one snapshot are all kept.
    """
    obs = (
        observations.lazy()
        .filter(pl.col("item_id").is_in(sorted(items)) & (pl.col("observed_on") <= as_of))
        # Input order is the last tie-break (see _latest_exports): the join must keep it, or which of
        # two same-day values a child's reason shows would depend on who else is screened with them.
        .join(persons.lazy().select("person_id", "_pix"), on="person_id", how="inner", maintain_order="left")
        .with_columns(pl.col("stale").fill_null(False))
        .select("item_id", "source_id", *_OBS_KEEP)
        .collect()
    )
    # Partition first, then sort each item on its own keys: much cheaper than one sort that
    # carries the item id string through millions of rows.
    parts = obs.partition_by("item_id", as_dict=True, include_key=False, maintain_order=True)
    return {str(key[0]): _latest_exports(part) for key, part in parts.items()}


def _latest_exports(part: pl.DataFrame) -> pl.DataFrame:
    """Sort one item's rows and keep, per (person, date, source), the rows of the newest export.

    Sorted by (person, date, source, export), each group's newest export is its last row; a
    backward fill from the group ends gives every row that date, without a window function.
    Ties on one date are thereby broken by source id, then export date, then input order.
    """
    keys = ["_pix", "observed_on", "source_id"]
    part = part.sort([*keys, "snapshot_date"], maintain_order=True)
    group_end = pl.any_horizontal([pl.col(k) != pl.col(k).shift(-1) for k in keys]).fill_null(True)
    newest = pl.when(group_end).then(pl.col("snapshot_date")).backward_fill()
    return part.filter(pl.col("snapshot_date") == newest).drop("source_id")


def _empty_observations() -> pl.DataFrame:
    return pl.DataFrame(schema={"_pix": pl.UInt32, **{c: OBSERVATION_SCHEMA[c] for c in _OBS_KEEP[1:]}})


def _indicator_columns(
    indicators: Sequence[IndicatorDef],
    as_of: dt.date,
    params: Mapping[str, Scalar],
    people: pl.DataFrame,
    by_item: Mapping[str, pl.DataFrame],
) -> pl.DataFrame:
    """A frame aligned with ``people``: v:/d:/p:/s:/t: columns per indicator."""
    n = people.height
    index = pl.DataFrame({"_pix": pl.arange(0, n, dtype=pl.UInt32, eager=True)})
    columns: list[pl.Series] = []
    birth = pl.col("birth_date")
    age = (
        pl.lit(as_of.year)
        - birth.dt.year()
        - ((birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day()) > as_of.month * 100 + as_of.day).cast(pl.Int32)
    ).cast(pl.Int64)
    for ind in indicators:
        if ind.kind in ("age_years", "grade"):
            expr = age if ind.kind == "age_years" else pl.col("grade").cast(pl.Int64)
            columns.append(people.select(expr.alias(f"v:{ind.id}")).to_series())
            continue
        assert ind.item is not None
        part = compute(ind, by_item.get(ind.item, _empty_observations()), as_of, params)
        aligned = index.join(part, on="_pix", how="left", maintain_order="left")
        value = aligned["value"]
        if ind.kind in FILL:
            value = value.fill_null(FILL[ind.kind])
        columns.append(value.alias(f"v:{ind.id}"))
        for short, col in (("d", "ev_date"), ("p", "ev_dept"), ("s", "ev_stale"), ("t", "ev_text")):
            columns.append(aligned[col].cast(RESULT_SCHEMA[col]).alias(f"{short}:{ind.id}"))
    return pl.DataFrame(columns) if columns else pl.DataFrame({"_none": pl.Series([None] * n, dtype=pl.Null)})


def _compiler(params: Mapping[str, Scalar], *, combination: bool = False) -> Callable[[Node], pl.Expr]:
    """Expressions of rules read indicators; those of the combination read domain counts."""

    def resolve(ref: Ref) -> pl.Expr:
        if ref.namespace == "param":
            return pl.lit(params[ref.name])
        if ref.namespace == "level":
            return pl.col(f"lvl:{ref.name}")
        return pl.col(ref.name) if combination else pl.col(f"v:{ref.name}")

    def compile_(node: Node) -> pl.Expr:
        return to_polars(node, resolve)

    return compile_


def _string_list(pairs: list[tuple[pl.Expr, str]]) -> pl.Expr:
    if not pairs:
        return pl.lit([], dtype=pl.List(pl.String))
    return pl.concat_list([pl.when(cond).then(pl.lit(name)) for cond, name in pairs]).list.drop_nulls()


def _inputs(people: pl.DataFrame, observations: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    people = _conform(people, PEOPLE_SCHEMA, "people")
    observations = _conform(observations, OBSERVATION_SCHEMA, "observations")
    if people["person_id"].null_count() or people["person_id"].n_unique() != people.height:
        raise ValueError("people: person_id must be present and unique")
    for column in ("person_id", "item_id", "observed_on", "source_id", "snapshot_date"):
        if observations[column].null_count():
            raise ValueError(f"observations: {column} must not be missing")
    return people, observations


def compute_indicators(
    rule_set: RuleSet,
    as_of: dt.date,
    people: pl.DataFrame,
    observations: pl.DataFrame,
    ids: Sequence[str] | None = None,
) -> pl.DataFrame:
    """person_id plus one column per indicator (all of the rule set's, or ``ids``), as of ``as_of``.

    For inspection and tests: shows the facts the rules see, before any scoring.
    """
    params = rule_set.parameters_at(as_of)
    people, observations = _inputs(people, observations)
    chosen = [rule_set.indicators[i] for i in ids] if ids is not None else list(rule_set.indicators.values())
    items = frozenset(ind.item for ind in chosen if ind.item is not None)
    by_item = prepare_observations(observations, people.with_row_index("_pix"), items, as_of)
    columns = _indicator_columns(chosen, as_of, params, people, by_item)
    values = columns.select([pl.col(f"v:{ind.id}").alias(ind.id) for ind in chosen])
    return pl.concat([people.select("person_id"), values], how="horizontal")


def evaluate(rule_set: RuleSet, as_of: dt.date, people: pl.DataFrame, observations: pl.DataFrame, *,
             listing: tuple[pl.DataFrame, ListFill] | None = None) -> ScreeningResult:
    """Screen every person in ``people`` as of ``as_of``; see docs/rules.md for the columns.

    ``listing``: the list already filled over the whole population (``fill`` on every part's
    ``evidence``), for a run evaluated in parts: the list's size is a share of all children, so no
    part can fill it alone."""
    params = rule_set.parameters_at(as_of)
    people, observations = _inputs(people, observations)
    by_item = prepare_observations(observations, people.with_row_index("_pix"), rule_set.item_ids, as_of)
    indicators = _indicator_columns(rule_set.used_indicators, as_of, params, people, by_item)
    wide = pl.concat([people, indicators], how="horizontal")
    compile_ = _compiler(params)

    stage1: list[pl.Expr] = []
    for item in rule_set.scored_items:
        stage1.append(compile_(item.score.node).fill_null(0).cast(pl.Int64).alias(f"sc:{item.id}"))
    for cond in rule_set.hard_rules:
        stage1.append(compile_(cond.when.node).fill_null(False).alias(f"hr:{cond.id}"))
    for cond in rule_set.known_to_support:
        stage1.append(compile_(cond.when.node).fill_null(False).alias(f"kn:{cond.id}"))
    lazy = wide.lazy().with_columns(stage1)

    stage2: list[pl.Expr] = []
    judged = {j.domain: j for j in rule_set.judgements}
    for domain in DOMAINS:
        judgement = judged.get(domain)
        scores = [pl.col(f"sc:{i.id}") for i in judgement.items] if judgement else []
        total = pl.sum_horizontal(scores) if scores else pl.lit(0, dtype=pl.Int64)
        stage2.append(total.cast(pl.Int64).alias(f"dom:{domain}"))
    lazy = lazy.with_columns(stage2)
    levels = []
    for domain in DOMAINS:
        total = pl.col(f"dom:{domain}")
        judgement = judged.get(domain)
        if judgement is None:
            levels.append(pl.lit(0, dtype=pl.Int64).alias(f"lvl:{domain}"))
            continue
        t1, t2 = params[judgement.level1], params[judgement.level2]
        level = pl.when(total >= t2).then(2).when(total >= t1).then(1).otherwise(0)
        levels.append(level.cast(pl.Int64).alias(f"lvl:{domain}"))
    lazy = lazy.with_columns(levels)

    lvl = [pl.col(f"lvl:{d}") for d in DOMAINS]
    hard = [pl.col(f"hr:{c.id}") for c in rule_set.hard_rules]
    benefit = [pl.col(f"sc:{i.id}") for i in rule_set.scored_items if i.benefit]
    other = [pl.col(f"sc:{i.id}") for i in rule_set.scored_items if not i.benefit]
    maltreated = [pl.col(f"sc:{i.id}") > 0 for i in rule_set.scored_items if i.maltreatment_record]
    zero = pl.lit(0, dtype=pl.Int64)
    lazy = lazy.with_columns(
        n_hard_rules=pl.sum_horizontal(hard).cast(pl.Int64) if hard else zero,
        n_level2=pl.sum_horizontal([(c == 2).cast(pl.Int64) for c in lvl]),
        n_level1=pl.sum_horizontal([(c == 1).cast(pl.Int64) for c in lvl]),
        n_flagged=pl.sum_horizontal([(c >= 1).cast(pl.Int64) for c in lvl]),
        _benefit_points=pl.sum_horizontal(benefit) if benefit else zero,
        _other_points=pl.sum_horizontal(other) if other else zero,
        maltreatment_record=pl.any_horizontal(maltreated) if maltreated else pl.lit(False),
    )
    tiers = rule_set.combination.tiers
    compile_tier = _compiler(params, combination=True)
    chain: Any = pl
    for rule in tiers:
        chain = chain.when(compile_tier(rule.when.node).fill_null(False)).then(pl.lit(rule.tier))
    raw_tier = chain.otherwise(pl.lit(NO_TIER))
    benefit_only = (pl.col("n_hard_rules") == 0) & (pl.col("_other_points") == 0) & (pl.col("_benefit_points") > 0)
    lazy = lazy.with_columns(_raw_tier=raw_tier, benefit_only=benefit_only)
    # The guard keeps benefit use alone off the list altogether: even 見守り is a "risk" in the eyes
    # of the family, and a benefit that puts a child on a list is one families learn to avoid.
    capped = pl.lit(rule_set.settings.stigma_guard) & pl.col("benefit_only") & (pl.col("_raw_tier") != NO_TIER)
    lazy = lazy.with_columns(
        tier=pl.when(capped).then(pl.lit(NO_TIER)).otherwise(pl.col("_raw_tier")),
        _capped=capped,
        domains=_string_list([(pl.col(f"lvl:{d}") >= 1, d) for d in DOMAINS]),
        domain_scores=pl.struct([pl.col(f"dom:{d}").alias(d) for d in DOMAINS]),
        domain_levels=pl.struct([pl.col(f"lvl:{d}").alias(d) for d in DOMAINS]),
        hard_rules=_string_list([(pl.col(f"hr:{c.id}"), c.id) for c in rule_set.hard_rules]),
        known_by=_string_list([(pl.col(f"kn:{c.id}"), c.id) for c in rule_set.known_to_support]),
    ).with_columns(known_to_support=pl.col("known_by").list.len() > 0)
    scored = lazy.collect()
    evidence = scored.select("person_id", "tier", "n_hard_rules", "maltreatment_record", "n_level2", "n_flagged",
                             (pl.col("_benefit_points") + pl.col("_other_points")).alias("points"))
    if listing is None:
        part_listing, list_fill = fill(evidence, rule_set.settings.list_share, as_of)
    else:
        part_listing = (evidence.select("person_id")
                        .join(listing[0], on="person_id", how="left", maintain_order="left")
                        .with_columns(pl.col("in_list").fill_null(False)))
        list_fill = listing[1]
    reasons = reasons_column(rule_set, scored)
    results = (
        scored.select(
            "person_id",
            "tier",
            "domains",
            "domain_scores",
            "domain_levels",
            "hard_rules",
        )
        .with_columns(reasons=reasons)
        .with_columns(scored.select("benefit_only", "known_to_support", "known_by"))
        .with_columns(part_listing.select("in_list", "list_rank"))
    )

    tier_counts = {t: 0 for t in TIERS}
    for tier, count in results.group_by("tier").len().iter_rows():
        tier_counts[str(tier)] = int(count)
    return ScreeningResult(
        results=results,
        rule_set_hash=rule_set.hash,
        as_of=as_of,
        municipality_code=rule_set.municipality_code,
        parameters=dict(params),
        tier_counts=tier_counts,
        benefit_only_flags=int((scored["benefit_only"] & (scored["_raw_tier"] != NO_TIER)).sum()),
        stigma_guard_capped=int(scored["_capped"].sum()),
        known_to_support=int(scored["known_to_support"].sum()),
        list_fill=list_fill,
        evidence=evidence,
    )
