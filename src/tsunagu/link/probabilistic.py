"""Fellegi–Sunter linkage through Splink on DuckDB, behind Splink's database API.

The spine (the register's persons) is always the left side, the records without 宛名番号 the
right. Every blocking rule's comparison count is computed exactly before anything is predicted:
one shared placeholder value can turn a half-minute linkage into hours.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from tsunagu.errors import ExitCode, TsunaguError
from tsunagu.link.assign import new_surname
from tsunagu.link.model import BLOCKING_RULES, blocking_sql, floored
from tsunagu.link.romaji import latin_key
from tsunagu.link.spill import new_folder
from tsunagu.link.uprob import with_u

LEFT_DATASET = "0_spine"
RIGHT_DATASET = "1_records"
DEFAULT_COMPARISON_BUDGET = 60_000_000
# DuckDB's memory for one run's blocking counts and Splink: what does not fit spills to disk.
DUCKDB_MEMORY_MB = 2_048

# Training. u: from value frequencies and independent random pairs (link/uprob.py). m: expectation
# maximisation on two blockings, each fixing the comparisons it blocks on. EM iterates over the pairs'
# agreement patterns (term frequencies apply when scoring, not in training), on at most
# EM_MAX_PAIRS pairs of each blocking, drawn by Splink's deterministic hash of the record ids.
# At 100,000 children a blocking gives about 950,000 pairs; trained this way EM took 1.7 s instead
# of 4.9 s, and every record linked as before, with the same 74 pairs for review (docs/performance.md).
EM_BLOCKS: tuple[tuple[str, ...], ...] = (("birth_date",), ("given_reading_key", "family_reading_key"))
# A training blocking that gives no pairs (exports without kana, or without birth dates) is skipped
# with a note, and the first of these that gives pairs trains in its place.
EM_FALLBACKS: tuple[tuple[str, ...], ...] = (("latin_given", "latin_family"), ("given_key", "family_key"),
                                              ("given_key", "birth_date"), ("postal_code",))
# Deterministic rules for the prior (the share of pairs that match), first with pairs wins.
PRIOR_RULES: tuple[tuple[str, ...], ...] = (("given_key", "family_key", "birth_date"),
                                            ("given_reading_key", "family_reading_key", "birth_date"),
                                            ("latin_given", "latin_family", "birth_date"))
EM_MAX_PAIRS = 300_000
# The prior: the pairs the first usable PRIOR_RULES rule makes are taken for this share of all
# true matches (Splink's direct estimate, estimate_probability_two_random_records_match).
PRIOR_RECALL = 0.7

# Pairs below the threshold are dropped as Splink predicts, except a possible new surname (given
# name and birth date agreeing, assign.new_surname) down to this probability: it goes to review. A
# surname change together with a move scored 3e-4 in the conformance set, unrelated children
# sharing a given name and a birth date about 1e-6.
NEW_SURNAME_FLOOR = 1e-4

LIST_COLUMNS = ("previous_family_keys", "previous_address_keys", "guardian_names", "guardian_readings", "guardian_givens")
SCALAR_COLUMNS = (
    "key", "source", "family_key", "given_key", "family_reading_key", "given_reading_key", "birth_date", "sex",
    "address_key", "school_code", "guardian_name_key", "guardian_given_key", "guardian_reading_key",
    "postal_code", "locality", "region",
)

# Columns the comparisons read that are made from others once per record (see model.py).
BLOCK_NUMBERS = r"[0-9]+(-[0-9]+)*$"
DERIVED_COLUMNS = {
    "town_key": pl.col("address_key").str.replace(BLOCK_NUMBERS, ""),
    "birth_text": pl.col("birth_date").cast(pl.Utf8),
    "birth_year": pl.col("birth_date").dt.year().cast(pl.Int32),
    "birth_month": pl.col("birth_date").dt.month().cast(pl.Int32),
    "birth_day": pl.col("birth_date").dt.day().cast(pl.Int32),
}


# Block values a report may show: a shared placeholder date or code is what an operator looks
# for; names and addresses are personal values and never leave the run (`tsunagu link --json`).
SHOWN_BLOCK_COLUMNS = frozenset({"birth_date", "birth_year", "school_code", "postal_code", "region"})
HIDDEN_VALUE = "＊"


def _shown(rule: tuple[str, ...], value: str) -> str:
    if not value:
        return value
    parts = value.split("|")
    if len(parts) != len(rule):
        return HIDDEN_VALUE
    return "|".join(part if column in SHOWN_BLOCK_COLUMNS else HIDDEN_VALUE for column, part in zip(rule, parts, strict=True))


class BlockingTooLargeError(TsunaguError, RuntimeError):
    """A blocking rule would generate more comparisons than the run allows."""

    code = "blocking_too_large"
    exit_code = ExitCode.LIMIT


@dataclass(frozen=True)
class BlockCount:
    rule: str
    comparisons: int
    largest_block: int
    largest_value: str


def _side(frame: pl.DataFrame, dataset: str) -> pl.DataFrame:
    columns: list[pl.Expr] = []
    for name in SCALAR_COLUMNS:
        columns.append(pl.col(name) if name in frame.columns else pl.lit(None, dtype=pl.Utf8).alias(name))
    for name in LIST_COLUMNS:
        columns.append(pl.col(name) if name in frame.columns else pl.lit(None, dtype=pl.List(pl.Utf8)).alias(name))
    derived = [expr.alias(name) for name, expr in DERIVED_COLUMNS.items()]
    side = frame.select(*columns, pl.lit(dataset).alias("source_dataset")).with_columns(*derived)
    side = side.with_columns(
        pl.coalesce(_latin(side["given_key"]), _latin(side["given_reading_key"])).alias("latin_given"),
        pl.coalesce(_latin(side["family_key"]), _latin(side["family_reading_key"])).alias("latin_family"),
    )
    # Both names in either order: one blocking key for names as written and for names swapped.
    given, family = pl.col("latin_given"), pl.col("latin_family")
    return side.with_columns(
        pl.when(given.is_null() | family.is_null()).then(None)
        .otherwise(pl.concat_str([pl.min_horizontal(given, family), pl.max_horizontal(given, family)], separator="|"))
        .alias("name_pair"))


def _latin(names: pl.Series) -> pl.Series:
    """Each name's Latin key (romaji.latin_key), worked out once per distinct name."""
    distinct = names.drop_nulls().unique().to_list()
    if not distinct:
        return pl.Series(names.name, [None] * names.len(), dtype=pl.Utf8)
    mapping = {name: latin_key(name) for name in distinct}
    return names.replace_strict(mapping, default=None, return_dtype=pl.Utf8)


@contextmanager
def _connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection in bounded memory, closed (and its spill folder removed) on leaving.

    DuckDB's own default is 80 % of the machine's memory: at 500,000 children Splink's blocked
    pairs took the linkage run to 20 GB. Held to DUCKDB_MEMORY_MB, DuckDB writes what does not fit
    to a temporary folder of its own instead (joins, sorts and aggregates spill; the result is the
    same), named for this process (link/spill.py) and removed on leaving, normally or by an
    exception; a run killed by the kernel leaves it for the next run to clear. Without its progress
    bar, which DuckDB prints to standard output for any query that runs over two seconds: into the
    JSON of ``tsunagu link --json``."""
    spill = new_folder()  # named for this process; clears the folders of runs that were killed
    try:
        con = duckdb.connect(config={"memory_limit": f"{DUCKDB_MEMORY_MB}MB", "temp_directory": str(spill)})
        try:
            con.execute("SET enable_progress_bar = false")
            yield con
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def _arrow(frame: pl.DataFrame) -> Any:
    """The frame as Arrow for DuckDB without copying its text: polars keeps text as string views,
    which DuckDB reads as VARCHAR; Arrow's older string layout (polars' default export) was a copy
    of every name, address and key of both sides, per connection."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def count_comparisons(left: pl.DataFrame, right: pl.DataFrame, rules: tuple[tuple[str, ...], ...] = BLOCKING_RULES,
                      con: duckdb.DuckDBPyConnection | None = None) -> list[BlockCount]:
    """Exact pair counts per equality rule (null keys never block together), in the caller's
    connection if given (one registration of the two sides for the run's counts)."""
    if con is None:
        with _connection() as own:
            return count_comparisons(left, right, rules, own)
    con.register("l_side", _arrow(left))
    con.register("r_side", _arrow(right))
    try:
        return [_count(con, rule) for rule in rules if all(c in left.columns and c in right.columns for c in rule)]
    finally:
        con.unregister("l_side")
        con.unregister("r_side")


def _count(con: duckdb.DuckDBPyConnection, rule: tuple[str, ...]) -> BlockCount:
    cols = ", ".join(rule)
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in rule)
    # bandit B608 is a false positive: the columns are the blocking rules' names from code; no value
    # from the data is in the text
    row = con.execute(
        f"""
        WITH l AS (SELECT {cols}, count(*) AS n FROM l_side WHERE {not_null} GROUP BY ALL),
             r AS (SELECT {cols}, count(*) AS n FROM r_side WHERE {not_null} GROUP BY ALL),
             j AS (SELECT l.n * r.n AS pairs, concat_ws('|', {', '.join(f'l.{c}' for c in rule)}) AS v
                   FROM l JOIN r USING ({cols}))
        SELECT coalesce(sum(pairs), 0), coalesce(max(pairs), 0), arg_max(v, pairs) FROM j
        """  # nosec B608
    ).fetchall()[0]
    return BlockCount(blocking_sql(rule), int(row[0]), int(row[1]), _shown(rule, str(row[2] or "")))


def check_budget(counts: list[BlockCount], budget: int) -> None:
    for count in counts:
        if count.comparisons > budget:
            raise BlockingTooLargeError(
                f"ブロッキング規則 {count.rule} の比較数 {count.comparisons:,} が上限 {budget:,} を超えます"
                f"（最大のブロック: {count.largest_value!r} に {count.largest_block:,} 組）。"
                "共有された仮の値（例: 1900-01-01、施設の住所）が原因なら取込定義か名寄せの設定で除外してください"
                f" / blocking rule {count.rule} would make {count.comparisons:,} comparisons"
            )


@dataclass
class ProbabilisticResult:
    pairs: pl.DataFrame  # key_l, key_r, match_probability, match_weight, gamma_*
    model: dict[str, Any]
    counts: list[BlockCount]
    notes: list[str] = field(default_factory=list)


def _frames(con: duckdb.DuckDBPyConnection, left: pl.DataFrame, right: pl.DataFrame, settings: dict[str, Any],
            suffix: str = "") -> list[Any]:
    """The two sides as Splink's input tables, with only the columns the settings or a training
    rule name."""
    from splink import DuckDBAPI

    db_api = DuckDBAPI(connection=con)
    used = splink_columns(left.columns, settings)
    return [db_api.register(_arrow(left.select(used)), table_name="tsunagu_spine" + suffix),
            db_api.register(_arrow(right.select(used)), table_name="tsunagu_records" + suffix)]


# The prediction's input tables name each record by its row number and each side by one digit.
# Splink joins every blocked pair back to both sides on ``source_dataset || '-__-' || key``: with
# the link keys (``juki_jumin:…``, 30-odd characters) that text is made, stored and hashed for
# every pair of every blocking rule — the part of a run that grows with the square of the
# municipality (pairs sharing a birth date or a common name). Up to 12 characters DuckDB keeps a
# text inline, without an allocation of its own: "0-__-1234567" is 12. Training keeps the link keys,
# because Splink draws EM's sample of pairs by a hash of them (the same pairs, the same model).
SCORING_DATASETS = {LEFT_DATASET: "0", RIGHT_DATASET: "1"}


def _scoring_sides(left: pl.DataFrame, right: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    def short(side: pl.DataFrame, dataset: str) -> pl.DataFrame:
        return side.with_columns(pl.int_range(side.height, dtype=pl.Int64).cast(pl.Utf8).alias("key"),
                                 pl.lit(SCORING_DATASETS[dataset]).alias("source_dataset"))
    return short(left, LEFT_DATASET), short(right, RIGHT_DATASET)


def _keys_back(pairs: pl.DataFrame, left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    """Oriented pairs of the short-keyed prediction with their link keys and dataset names again."""
    names = {short: name for name, short in SCORING_DATASETS.items()}
    return pairs.with_columns(
        left["key"].gather(pairs["key_l"].cast(pl.Int64)).alias("key_l"),
        right["key"].gather(pairs["key_r"].cast(pl.Int64)).alias("key_r"),
        *[pl.col(c).replace_strict(names, return_dtype=pl.Utf8) for c in ("source_dataset_l", "source_dataset_r")
          if c in pairs.columns],
    )


def splink_columns(columns: list[str], settings: dict[str, Any]) -> list[str]:
    """The columns Splink reads: those the settings (comparisons, blocking rules, the id and the
    columns kept) or a training rule name, as ``x``, ``x_l`` / ``x_r`` or ``l.x``. Splink parses
    and carries every column of its input tables at every step (each column name goes through its
    SQL parser, 35 times a run); a profile compares a third of what ``_side`` provides for all."""
    text = json.dumps(settings, ensure_ascii=False)
    named = {column for rule in TRAINING_RULES for column in rule}
    return [c for c in columns if c in named or re.search(rf"\b{re.escape(c)}(_[lr])?\b", text)]


def _linker(frames: list[Any], settings: dict[str, Any], validate: bool = True) -> Any:
    from splink import Linker

    return Linker(frames, settings, log_level=logging.ERROR, validate_settings=validate)


TRAINING_RULES: tuple[tuple[str, ...], ...] = (*PRIOR_RULES, *EM_BLOCKS, *EM_FALLBACKS)
# The prior's rule, the EM blockings, and notes on what was skipped.
Plan = tuple[tuple[str, ...] | None, list[tuple[str, ...]], list[str]]


def training_plan(left: pl.DataFrame, right: pl.DataFrame, counts: list[BlockCount] | None = None) -> Plan:
    """The prior's rule, the EM blockings, and a note for each planned blocking without pairs.

    Built from the fields the records actually have: exports without kana readings or without birth
    dates train on what they hold instead of failing in Splink. ``counts`` of the training rules
    (count_comparisons) if the caller has them."""
    notes: list[str] = []
    counted = {c.rule: c.comparisons for c in (counts if counts is not None else count_comparisons(left, right, TRAINING_RULES))}
    usable = [rule for rule in TRAINING_RULES if counted.get(blocking_sql(rule), 0) > 0]
    prior = next((r for r in PRIOR_RULES if r in usable), None)
    blocks = [r for r in EM_BLOCKS if r in usable]
    for rule in EM_BLOCKS:
        if rule not in usable:
            notes.append(f"学習用ブロッキング {blocking_sql(rule)} は組を作らないため省きました"
                         f" / training blocking {blocking_sql(rule)} gives no pairs: skipped")
    spare = [r for r in EM_FALLBACKS if r in usable]
    while len(blocks) < len(EM_BLOCKS) and spare:
        blocks.append(spare.pop(0))
    if not blocks:
        notes.append("学習に使える組がないため、既定の重みで照合しました / no training pairs: default weights used")
    return prior, blocks, notes


def prior_probability(plan: Plan, counts: list[BlockCount], left_rows: int, right_rows: int) -> float | None:
    """The share of all spine × records pairs that match: the prior rule's pairs over
    PRIOR_RECALL, out of every pair. Splink's direct estimate, with the rule's pairs from the
    run's own exact count (count_comparisons): Splink's estimate blocked on the rule again, 0.15 s
    of Python and SQL for a number the run already has. None when there is no prior rule, or when
    its pairs are more than PRIOR_RECALL of all pairs (where Splink refuses the estimate)."""
    prior = plan[0]
    if prior is None:
        return None
    pairs = next((c.comparisons for c in counts if c.rule == blocking_sql(prior)), 0)
    total = float(left_rows) * right_rows
    if pairs == 0 or pairs > total * PRIOR_RECALL:
        return None
    return pairs / PRIOR_RECALL / total


def _train(linker: Any, plan: Plan) -> list[str]:
    """m by expectation maximisation (u and the prior are in the settings already: uprob.with_u,
    prior_probability; EM keeps u fixed)."""
    from splink import block_on
    from splink.internals.exceptions import EMTrainingException

    notes = list(plan[2])
    for rule in plan[1]:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule), estimate_without_term_frequencies=True, max_pairs=EM_MAX_PAIRS)
        except EMTrainingException:
            notes.append(f"学習用ブロッキング {blocking_sql(rule)} で学習できませんでした / EM on {blocking_sql(rule)} failed: skipped")
    return notes


def link_probabilistic(
    spine: pl.DataFrame,
    records: pl.DataFrame,
    settings: dict[str, Any],
    *,
    trained_model: dict[str, Any] | None = None,
    threshold: float = 0.05,
    budget: int = DEFAULT_COMPARISON_BUDGET,
    seed: int = 42,
) -> ProbabilisticResult:
    """Score spine × records pairs; train the model unless a trained one is given (incremental runs)."""
    left, right = _side(spine, LEFT_DATASET), _side(records, RIGHT_DATASET)
    # Closed as soon as the pairs are out: Splink's tables (millions of pairs) would otherwise
    # stay in memory until the process ends, the linker's reference cycles keeping them alive.
    with _connection() as con, ThreadPoolExecutor(max_workers=1, thread_name_prefix="tsunagu-counts") as pool:
        # The counts and u are DuckDB's work, with the GIL released: in a thread of their own
        # while this one imports Splink (a quarter second of Python on every run).
        prepared = pool.submit(_prepare, con, left, right, settings if trained_model is None else None, budget, seed)
        importlib.import_module("splink")

        counted, counts, start = prepared.result()
        if right.height == 0 or left.height == 0:
            return ProbabilisticResult(_empty_pairs(), trained_model or settings, counts)
        logging.getLogger("splink").setLevel(logging.ERROR)
        scoring = _frames(con, *_scoring_sides(left, right), trained_model or settings, suffix="_scored")
        notes: list[str] = []
        if trained_model is not None:
            linker = _linker(scoring, copy.deepcopy(trained_model))
        else:
            assert start is not None
            frames = _frames(con, left, right, settings)
            linker, notes = _trained(frames, scoring, left, right, start, training_plan(left, right, counted), counted)
        predictions = linker.inference.predict(threshold_match_probability=min(threshold, NEW_SURNAME_FLOOR))
        pairs = _kept(con, predictions.physical_name, threshold)
        pairs = pairs.filter((pl.col("match_probability") >= threshold) | new_surname(pairs))
        return ProbabilisticResult(_keys_back(_orient(pairs, SCORING_DATASETS[LEFT_DATASET]), left, right),
                                   linker.misc.save_model_to_json(), counts, notes)


def _kept(con: duckdb.DuckDBPyConnection, table: str, threshold: float) -> pl.DataFrame:
    """The predicted pairs worth keeping, chosen in DuckDB before they are copied out: the pairs at
    or above ``threshold`` and the possible new surnames below it (the same test as
    ``assign.new_surname``, which the caller applies again). Every pair above NEW_SURNAME_FLOOR,
    with both sides' names, addresses and guardians, was copied out before: at 500,000 children that
    copy took RSS from 4.8 to over 14 GB within half a minute."""
    columns = con.sql(f"SELECT * FROM {table} LIMIT 0").columns  # nosec B608
    keep = f"match_probability >= {float(threshold)!r}"
    if "birth_date_l" in columns and "birth_date_r" in columns:
        def agree(names: tuple[str, ...]) -> str:
            parts = [f"coalesce({n}_l = {n}_r, false)" for n in names if f"{n}_l" in columns and f"{n}_r" in columns]
            return "(" + (" OR ".join(parts) or "false") + ")"
        given, family = agree(("given_key", "given_reading_key", "latin_given")), agree(
            ("family_key", "family_reading_key", "latin_family"))
        keep += f" OR (coalesce(birth_date_l = birth_date_r, false) AND {given} AND NOT {family})"
    # bandit B608: the table is Splink's own name for its predictions and the columns come from it;
    # the threshold is a float formatted here, no value from the data is in the text
    frame = pl.from_arrow(con.sql(f"SELECT * FROM {table} WHERE {keep}").to_arrow_table())  # nosec B608
    assert isinstance(frame, pl.DataFrame)
    return frame


def _prepare(con: duckdb.DuckDBPyConnection, left: pl.DataFrame, right: pl.DataFrame, settings: dict[str, Any] | None,
             budget: int, seed: int) -> tuple[list[BlockCount], list[BlockCount], dict[str, Any] | None]:
    """In a cursor of the run's connection: every rule's counts, the blocking rules' among them
    (checked against the budget: a refused blocking fails before any training), and, to train
    (``settings`` given), the settings with u (uprob.with_u)."""
    cursor = con.cursor()
    try:
        # The blocking rules' counts and the training rules' in one pass.
        rules = tuple(dict.fromkeys((*BLOCKING_RULES, *(TRAINING_RULES if settings is not None else ()))))
        counted = count_comparisons(left, right, rules, cursor)
        blocking = {blocking_sql(rule) for rule in BLOCKING_RULES}
        counts = [c for c in counted if c.rule in blocking]
        check_budget(counts, budget)
        start = with_u(settings, left, right, cursor, seed) if settings is not None else None
        return counted, counts, start
    finally:
        cursor.close()


def _trained(frames: list[Any], scoring: list[Any], left: pl.DataFrame, right: pl.DataFrame, start: dict[str, Any],
             plan: Plan, counts: list[BlockCount]) -> tuple[Any, list[str]]:
    """A linker from settings with u (uprob) and the prior from the counts, m trained on
    ``frames``, then m floored (model.floored): a linker of ``scoring`` (_scoring_sides) with it."""
    prior = prior_probability(plan, counts, left.height, right.height)
    if prior is not None:
        start = {**start, "probability_two_random_records_match": prior}
    linker = _linker(frames, start)
    notes = _train(linker, plan)
    if plan[0] is not None and prior is None:
        notes.append(f"事前確率の規則 {blocking_sql(plan[0])} の組が全組の{PRIOR_RECALL:.0%}を超えるため既定値を使いました"
                     f" / prior rule {blocking_sql(plan[0])} pairs over {PRIOR_RECALL:.0%} of all pairs: default prior used")
    # The same comparisons and columns as the linker just validated: only m and u differ.
    return _linker(scoring, floored(linker.misc.save_model_to_json()), validate=False), notes


def _orient(pairs: pl.DataFrame, left_dataset: str = LEFT_DATASET) -> pl.DataFrame:
    """Keep the spine on the left whatever order Splink chose."""
    swapped = pairs["source_dataset_l"] != left_dataset
    if not swapped.any():
        return pairs
    rename = {c: c[:-2] + ("_r" if c.endswith("_l") else "_l") for c in pairs.columns if c.endswith(("_l", "_r"))}
    flipped = pairs.filter(swapped).rename(rename).select(pairs.columns)
    return pl.concat([pairs.filter(~swapped), flipped])


def _empty_pairs() -> pl.DataFrame:
    return pl.DataFrame(schema={"key_l": pl.Utf8, "key_r": pl.Utf8, "match_probability": pl.Float64,
                                "match_weight": pl.Float64, "source_r": pl.Utf8})
