"""Splink on either engine: DuckDB in this process, or Spark (local mode, or a cluster by its master URL).

One function trains and scores; the engine is only where the SQL runs. Each engine trains its own
model the same way (the prior, u from random pairs, m by EM on two blockings), with one seed.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from tsunagu.link.assign import Thresholds
from tsunagu.link.model import floored
from tsunagu.prefecture import model
from tsunagu.prefecture.errors import SparkUnavailableError

ENGINES = ("duckdb", "spark")
LOCAL_MASTER = "local[2]"  # this machine's two cores


@dataclass(frozen=True)
class SparkOptions:
    """How to start Spark. On a cluster, spark-submit's own --conf settings win over these defaults."""

    master: str = LOCAL_MASTER
    driver_memory: str = "4g"
    # A few partitions per core: Spark's default of 200 is for clusters, and on two cores every
    # extra partition of a small shuffle is a task's overhead for nothing.
    shuffle_partitions: int = 4
    checkpoint_dir: str | None = None  # on a cluster, a folder every executor reaches (HDFS, S3 …)
    # Where the driver (and in local mode the executors) spill shuffle files and persisted blocks that
    # do not fit in memory; None is the system's temporary folder.
    local_dir: str | None = None


@dataclass(frozen=True)
class DuckDBOptions:
    """DuckDB in this process: a memory limit (DuckDB's default is 80 % of the machine) and a folder to spill to."""

    memory_limit: str | None = None  # e.g. "6GB"
    temp_dir: str | None = None


@dataclass
class Scores:
    pairs: pl.DataFrame  # key_l, key_r, municipality_l, municipality_r, match_probability, match_weight
    model: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)  # seconds of each training and scoring step


class _Steps:
    """Seconds of each of Splink's steps: on Spark the fixed cost of a step (planning, compiling) is
    what dominates a small run, and the log on stderr shows a long run's progress."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = round(now - self._mark, 2)
        self._mark = now
        print(f"[prefecture] {step}: {self.seconds[step]:.1f} s", file=sys.stderr, flush=True)


def _tables(children: pl.DataFrame) -> list[Any]:
    side = model.with_columns(children)
    return [frame.to_arrow() for frame in side.partition_by("municipality", maintain_order=True)]


def _train(linker: Any, seed: int, steps: _Steps) -> list[str]:
    from splink import block_on
    from splink.internals.exceptions import EMTrainingException

    notes: list[str] = []
    linker.training.estimate_probability_two_random_records_match([block_on(*model.PRIOR_RULE)], recall=0.7)
    steps.done("train_prior")
    linker.training.estimate_u_using_random_sampling(max_pairs=model.U_PAIRS, seed=seed)
    steps.done("train_u")
    for rule in model.EM_BLOCKS:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule), estimate_without_term_frequencies=True)
        except EMTrainingException:
            notes.append(f"学習用ブロッキング {' & '.join(rule)} で学習できませんでした / EM on {rule} failed: skipped")
        steps.done(f"train_em_{'+'.join(rule)}")
    return notes


def _predict(db_api: Any, tables: list[Any], settings: dict[str, Any], threshold: float, seed: int,
             trained: bool) -> Scores:
    from splink import Linker

    logging.getLogger("splink").setLevel(logging.ERROR)
    steps = _Steps()
    frames = [db_api.register(table, table_name=f"tsunagu_pref_{i}") for i, table in enumerate(tables)]
    linker = Linker(frames, settings, log_level=logging.ERROR)
    steps.done("register")
    notes: list[str] = []
    if not trained:
        notes = _train(linker, seed, steps)
        linker = Linker(frames, floored(linker.misc.save_model_to_json()), log_level=logging.ERROR)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    steps.done("predict")
    pairs = pl.from_arrow(predictions.as_pyarrow_table())  # type: ignore[no-untyped-call]
    steps.done("collect")
    assert isinstance(pairs, pl.DataFrame)
    pairs = pairs.select(pl.col("key_l").cast(pl.Utf8), pl.col("key_r").cast(pl.Utf8),
                         pl.col("municipality_l").cast(pl.Utf8), pl.col("municipality_r").cast(pl.Utf8),
                         pl.col("match_probability").cast(pl.Float64), pl.col("match_weight").cast(pl.Float64))
    return Scores(pairs, linker.misc.save_model_to_json(), notes, steps.seconds)


def score_duckdb(children: pl.DataFrame, threshold: float, seed: int, trained: dict[str, Any] | None = None,
                 memory_limit: str | None = None, temp_dir: str | None = None) -> Scores:
    import duckdb
    from splink import DuckDBAPI

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if memory_limit:  # on a shared machine: DuckDB would otherwise take up to 80 % of its memory
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if temp_dir:  # where DuckDB spills what does not fit under the limit
        # DuckDB makes only the last folder of the path, and only when it first spills: a missing
        # parent failed a 1M-child run at its first spill, after 15 minutes of work.
        os.makedirs(temp_dir, exist_ok=True)
        con.execute(f"SET temp_directory = '{temp_dir}'")
    try:
        return _predict(DuckDBAPI(connection=con), _tables(children),
                        copy.deepcopy(trained) if trained is not None else model.settings(),
                        threshold, seed, trained is not None)
    finally:
        con.close()


@contextmanager
def spark_session(options: SparkOptions) -> Iterator[Any]:
    """A Spark session for one run, stopped at its end; in local mode without its web UI."""
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as exc:
        raise SparkUnavailableError(
            "PySpark がありません。`pip install 'tsunagu[spark]'`（scripts/test が入れます）と Java 17 が必要です"
            " / PySpark is not installed: install the spark extra") from exc
    if options.local_dir:
        os.makedirs(options.local_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tsunagu-spark-", dir=options.local_dir) as scratch:
        builder = (
            SparkSession.builder.master(options.master).appName("tsunagu-prefecture")
            .config("spark.driver.memory", options.driver_memory)
            .config("spark.sql.shuffle.partitions", str(options.shuffle_partitions))
            .config("spark.default.parallelism", str(options.shuffle_partitions))
            # Adaptive execution merges the small partitions a selective blocking leaves after a shuffle.
            .config("spark.sql.adaptive.enabled", "true")
            .config("spark.sql.adaptive.coalescePartitions.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.local.dir", scratch)
            .config("spark.jars", similarity_jar_location())
        )
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # the JVM did not start: no Java, or the master is not reachable
            raise SparkUnavailableError(f"Spark を起動できません（{options.master}）: {type(exc).__name__}: {exc}"
                                        f" / Spark could not start") from exc
        spark.sparkContext.setLogLevel("ERROR")
        spark.sparkContext.setCheckpointDir(options.checkpoint_dir or os.path.join(scratch, "checkpoints"))
        try:
            yield spark
        finally:
            spark.stop()


def score_spark(children: pl.DataFrame, threshold: float, seed: int, options: SparkOptions,
                trained: dict[str, Any] | None = None) -> Scores:
    from splink import SparkAPI

    with spark_session(options) as spark:
        # Splink writes each intermediate table out as parquet (under the checkpoint folder) and reads
        # it back, in local mode too: that cuts the query plan there. Kept in memory instead
        # ("persist"), each of Splink's later queries carries the whole plan before it, and at 200,000
        # children the driver spent most of its CPU in Spark's optimizer, not on the data (a thread
        # dump of the run: 110 of 200 CPU seconds in one planning thread).
        db_api = SparkAPI(spark_session=spark, break_lineage_method="parquet",  # type: ignore[no-untyped-call]
                          num_partitions_on_repartition=options.shuffle_partitions)
        return _predict(db_api, _tables(children), model.for_spark(trained or model.settings()), threshold, seed,
                        trained is not None)


def score(children: pl.DataFrame, engine: str, *, bands: Thresholds | None = None, seed: int = 42,
          spark: SparkOptions | None = None, trained: dict[str, Any] | None = None,
          duckdb: DuckDBOptions | None = None) -> Scores:
    """Pairs of children in different municipalities scoring at least the review band's lower bound.

    ``trained``: a model saved by an earlier run (``Scores.model``, from either engine) to score with
    instead of training; the two engines then score with the very same m and u."""
    threshold = (bands or Thresholds()).lower
    if engine == "duckdb":
        options = duckdb or DuckDBOptions()
        return score_duckdb(children, threshold, seed, trained, options.memory_limit, options.temp_dir)
    if engine == "spark":
        return score_spark(children, threshold, seed, spark or SparkOptions(), trained)
    raise ValueError(f"unknown engine {engine!r}; one of {ENGINES}")
