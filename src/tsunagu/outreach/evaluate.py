"""Evaluate programme eligibility over a population as of one date, vectorised.

Indicators are the screening rules' (the same per-item aggregation); each condition is a column
with SQL's three values: held, not held, or unknown (the data needed was not there). A condition
that reads an item of a department whose data did not arrive is unknown for everyone — a missing
export must never read as "not receiving". Per programme and person:

- ``eligible``: every condition held and, if the programme has grounds, at least one held;
- ``not_eligible``: a condition did not hold, or every ground did not hold;
- ``undetermined``: nothing failed but something could not be checked (it is named).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from tsunagu.catalog import Catalog, default_catalog
from tsunagu.outreach.programmes import ConditionDef, ProgrammeDef, ProgrammeSet
from tsunagu.screen.compile import to_polars
from tsunagu.screen.evaluate import _indicator_columns, _inputs, prepare_observations
from tsunagu.screen.expr import Ref, refs
from tsunagu.screen.ruleset import Scalar

ELIGIBLE, NOT_ELIGIBLE, UNDETERMINED = "eligible", "not_eligible", "undetermined"
STATUS_LABELS = {ELIGIBLE: "対象", NOT_ELIGIBLE: "対象外", UNDETERMINED: "確認できない要件がある"}
CONDITION_LABELS = {True: "該当", False: "非該当", None: "確認できない（データなし）"}
# The id under which ``unchecked`` names the receipt condition when its data has an unreadable row.
RECEIVING = "receiving"
UNREADABLE_RECEIPT = "確認できない（受給データに読めない行があります）"
UNREADABLE_DATA = "確認できない（元のデータに読めない行があります）"
# Whether the child still lives here: the register's 転出・死亡 (the run leaves out those it records).
# When the register's status or 異動日 for the child did not load, a result "eligible" is not a gap
# to write to: the child may have moved away.
RESIDENCE, RESIDENCE_ITEMS = "residence", ("move_out_date", "death_date")
UNREADABLE_RESIDENCE = "確認できない（住民記録の転出・死亡の欄に読めない値があります）"
DERIVED_DEPARTMENT = {"household_size": "resident_registry", "household_children": "resident_registry",
                      "single_parent_household": "resident_registry"}


@dataclass(frozen=True)
class ProgrammeResults:
    """``rows``: one row per person considered by a programme whose status is not 対象外, or who is
    eligible: person_id, household_id, programme, status, receiving (bool, null = unknown), gap,
    conditions (JSON), unchecked (JSON list of condition ids), receipt_on (date of the receipt record)."""

    rows: pl.DataFrame
    counts: dict[str, dict[str, int]]
    as_of: dt.date
    parameters: dict[str, Scalar]


def _compile(node: Any, params: Mapping[str, Scalar]) -> pl.Expr:
    def resolve(ref: Ref) -> pl.Expr:
        return pl.lit(params[ref.name]) if ref.namespace == "param" else pl.col(f"v:{ref.name}")

    return to_polars(node, resolve)


def _evidence_ids(cond: ConditionDef, indicator_ids: Iterable[str]) -> list[str]:
    known = set(indicator_ids)
    return sorted({r.name for r in refs(cond.when.node) if r.namespace is None and r.name in known})


def _item_department(item: str, catalog: Catalog) -> str:
    return DERIVED_DEPARTMENT.get(item) or catalog.items[item].department


def _condition_expr(cond: ConditionDef, params: Mapping[str, Scalar], unavailable: set[str],
                    catalog: Catalog) -> pl.Expr:
    if any(_item_department(i, catalog) in unavailable for i in cond.items):
        return pl.lit(None, dtype=pl.Boolean)
    return _compile(cond.when.node, params).cast(pl.Boolean)


def _unreadable_columns(people: pl.DataFrame, unreadable: pl.DataFrame | None) -> pl.DataFrame:
    """One column ``u:<item>`` per item with unreadable rows: the person's data for it has one."""
    if unreadable is None or unreadable.height == 0:
        return pl.DataFrame()
    return pl.DataFrame([
        people["person_id"].is_in(part["person_id"].implode()).alias(f"u:{item}")
        for (item,), part in unreadable.group_by("item_id", maintain_order=True)
    ])


def evaluate_programmes(programmes: ProgrammeSet, as_of: dt.date, people: pl.DataFrame, observations: pl.DataFrame,
                        *, unavailable: Iterable[str] = (), catalog: Catalog | None = None,
                        unreadable: pl.DataFrame | None = None) -> ProgrammeResults:
    """``unavailable``: departments whose data did not arrive for this run (their conditions are unknown).
    ``unreadable``: person_id, item_id — the person's data for that item has a row that did not load
    (or loaded without the value): a condition reading it that did not hold could not be checked."""
    catalog = catalog or default_catalog()
    down = set(unavailable)
    params = programmes.parameters_at(as_of)
    people, observations = _inputs(people, observations)
    by_item = prepare_observations(observations, people.with_row_index("_pix"), programmes.item_ids, as_of)
    used = programmes.used_indicators
    unread = _unreadable_columns(people, unreadable)
    wide = pl.concat([people, _indicator_columns(used, as_of, params, people, by_item), unread], how="horizontal")
    ids = [i.id for i in used]
    frames, counts = [], {}
    for prog in programmes.programmes.values():
        frame, count = _one(prog, wide, params, down, catalog, ids, frozenset(c[2:] for c in unread.columns))
        frames.append(frame)
        counts[prog.id] = count
    rows = pl.concat(frames) if frames else pl.DataFrame()
    return ProgrammeResults(rows, counts, as_of, dict(params))


def _unread_expr(cond: ConditionDef, unread: frozenset[str]) -> pl.Expr:
    """The person's data for an item the condition reads has an unreadable row."""
    columns = [pl.col(f"u:{i}") for i in cond.items if i in unread]
    return pl.any_horizontal(columns) if columns else pl.lit(False)


def _checked(value: pl.Expr, cond: ConditionDef, unread: frozenset[str]) -> pl.Expr:
    """A condition that did not hold while its data has an unreadable row could not be checked:
    the missing row may be the one that says it holds (受給中)."""
    return pl.when(_unread_expr(cond, unread) & ~value.fill_null(False)).then(None).otherwise(value)


def _one(prog: ProgrammeDef, wide: pl.DataFrame, params: Mapping[str, Scalar], down: set[str], catalog: Catalog,
         indicator_ids: list[str], unread: frozenset[str] = frozenset()) -> tuple[pl.DataFrame, dict[str, int]]:
    population = _compile(prog.population.node, params).fill_null(False)
    exprs = {f"c:{c.id}": _checked(_condition_expr(c, params, down, catalog), c, unread) for c in prog.all_conditions}
    flags = {f"r:{c.id}": _unread_expr(c, unread) for c in prog.all_conditions}
    part = wide.filter(population).with_columns(**exprs, **flags)
    all_held = pl.all_horizontal([pl.col(f"c:{c.id}") for c in prog.conditions]) if prog.conditions else pl.lit(True)
    any_held = pl.any_horizontal([pl.col(f"c:{c.id}") for c in prog.any_of]) if prog.any_of else pl.lit(True)
    # Kleene logic: all_horizontal is false if any is false, null if none false but one null.
    residence = [pl.col(f"u:{i}") for i in RESIDENCE_ITEMS if i in unread]
    moved_unknown = pl.any_horizontal(residence) if residence else pl.lit(False)
    verdict = pl.when(moved_unknown & (all_held & any_held).fill_null(True)).then(None).otherwise(all_held & any_held)
    status = pl.when(verdict.is_null()).then(pl.lit(UNDETERMINED)).when(verdict).then(pl.lit(ELIGIBLE)) \
        .otherwise(pl.lit(NOT_ELIGIBLE))
    if prog.receiving is None:
        receiving, receipt_unread = pl.lit(None, dtype=pl.Boolean), pl.lit(False)
    else:
        receiving = _checked(_condition_expr(prog.receiving, params, down, catalog), prog.receiving, unread)
        receipt_unread = _unread_expr(prog.receiving, unread)
    part = part.with_columns(status=status, receiving=receiving, **{"r:receiving": receipt_unread,
                                                                     f"r:{RESIDENCE}": moved_unknown})
    eligible = part["status"] == ELIGIBLE
    unreadable_condition = pl.any_horizontal([pl.col(f"c:{c.id}").is_null() & pl.col(f"r:{c.id}")
                                              for c in prog.all_conditions])
    count = {
        "population": part.height,
        "eligible": int(eligible.sum()),
        "undetermined": int((part["status"] == UNDETERMINED).sum()),
        "receiving": int((eligible & part["receiving"].fill_null(False)).sum()),
        "gap": int((eligible & (part["receiving"] == False)).sum()),  # noqa: E712
        "receipt_unknown": int((eligible & part["receiving"].is_null()).sum()),
        # Of those: receipt data with a row that did not load (not listed as a gap; the department's quarantine).
        "receipt_unreadable": int((eligible & part["receiving"].is_null() & part["r:receiving"]).sum()),
        "undetermined_unreadable": int(part.select(
            (pl.col("status") == UNDETERMINED) & (unreadable_condition | pl.col(f"r:{RESIDENCE}"))).to_series().sum()),
    }
    kept = part.filter(pl.col("status") != NOT_ELIGIBLE)
    return _describe(prog, kept, indicator_ids), count


def _evidence(row: Mapping[str, Any], names: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in names:
        date = row.get(f"d:{name}")
        if date is None and row.get(f"t:{name}") is None:
            continue
        out.append({"indicator": name, "value": row.get(f"t:{name}"), "department": row.get(f"p:{name}"),
                    "observed_on": date.isoformat() if date else None})
    return out


def _describe(prog: ProgrammeDef, kept: pl.DataFrame, indicator_ids: list[str]) -> pl.DataFrame:
    """Per person, which conditions held, from which department's record of which date."""
    groups = [("all", c) for c in prog.conditions] + [("any", c) for c in prog.any_of]
    evidence = {c.id: _evidence_ids(c, indicator_ids) for _, c in groups}
    receipt_ids = _evidence_ids(prog.receiving, indicator_ids) if prog.receiving else []
    conditions, unchecked, receipt_on = [], [], []
    for row in kept.iter_rows(named=True):
        described, missing = [], []
        for group, cond in groups:
            held = row[f"c:{cond.id}"]
            if held is None:
                missing.append(cond.id)
            entry = {"id": cond.id, "group": group, "held": held, "evidence": _evidence(row, evidence[cond.id])}
            if held is None and row[f"r:{cond.id}"]:
                entry["unreadable"] = True  # its data has a row that did not load
            described.append(entry)
        if row["status"] == UNDETERMINED and row[f"r:{RESIDENCE}"]:
            missing.append(RESIDENCE)
            described.append({"id": RESIDENCE, "group": RESIDENCE, "held": None, "evidence": [], "unreadable": True})
        if prog.receiving is not None and row["receiving"] is None and row["r:receiving"]:
            missing.append(RECEIVING)
            described.append({"id": RECEIVING, "group": RECEIVING, "held": None, "evidence": [], "unreadable": True})
        conditions.append(json.dumps(described, ensure_ascii=False))
        unchecked.append(json.dumps(missing))
        dates = [e["observed_on"] for e in _evidence(row, receipt_ids) if e["observed_on"]]
        receipt_on.append(max(dates) if dates else None)
    return kept.select(
        "person_id", "household_id", pl.lit(prog.id).alias("programme"), "status", "receiving",
        ((pl.col("status") == ELIGIBLE) & (pl.col("receiving") == False)).fill_null(False).alias("gap"),  # noqa: E712
    ).with_columns(pl.Series("conditions", conditions, dtype=pl.String), pl.Series("unchecked", unchecked, dtype=pl.String),
                   pl.Series("receipt_on", receipt_on, dtype=pl.String).str.to_date(strict=False))
