"""A prefecture linkage run: release → score (DuckDB or Spark) → persons, and its evaluation against truth.

Only what the run found leaves it: the persons found in more than one municipality, as pairs of
(municipality, 宛名番号) — what a municipality needs to ask another for a hand-over (照会) — and counts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from tsunagu.link.assign import Thresholds
from tsunagu.prefecture import engine
from tsunagu.prefecture.errors import PrefectureInputError
from tsunagu.prefecture.persons import Persons, assign_persons
from tsunagu.prefecture.release import release


@dataclass
class PrefectureLink:
    engine: str
    municipalities: dict[str, str]
    children: int
    persons: Persons
    seconds: dict[str, float]
    released: pl.DataFrame  # the released children (release.RELEASED_SCHEMA): kept in memory, never written
    notes: list[str] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)  # seconds of each of Splink's steps in "score"

    def across(self) -> pl.DataFrame:
        """Children found in more than one municipality's register: person, municipality, 宛名番号."""
        frame = self.persons.assignment
        shared = frame.group_by("person").len().filter(pl.col("len") > 1).select("person")
        return (frame.join(shared, on="person", how="semi")
                .with_columns(pl.col("key").str.split_exact(":", 1).struct.field("field_1").alias("aza_number"))
                .select("person", "municipality", "aza_number").sort("person", "municipality"))

    def summary(self) -> dict[str, Any]:
        across = self.across()
        return {
            "engine": self.engine, "municipalities": self.municipalities, "children": self.children,
            "persons": self.persons.assignment["person"].n_unique(),
            "persons_in_several_municipalities": across["person"].n_unique(),
            "links": self.persons.links.height, "review_pairs": self.persons.review,
            "seconds": self.seconds, "score_steps": self.steps, "notes": self.notes,
        }


def link_prefecture(homes: Sequence[Path], engine_name: str, *, as_of: date | None = None,
                    spark: engine.SparkOptions | None = None, bands: Thresholds | None = None,
                    purpose: str = "prefecture_linkage", duckdb: engine.DuckDBOptions | None = None) -> PrefectureLink:
    if engine_name not in engine.ENGINES:
        raise PrefectureInputError(f"エンジンは {' / '.join(engine.ENGINES)} のどれかです: {engine_name}")
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    released = release(homes, purpose, as_of or date.today())
    seconds["release"] = round(time.perf_counter() - started, 3)
    mark = time.perf_counter()
    scores = engine.score(released.children, engine_name, bands=bands, spark=spark, duckdb=duckdb)
    seconds["score"] = round(time.perf_counter() - mark, 3)
    mark = time.perf_counter()
    persons = assign_persons(released.children, scores.pairs, bands)
    seconds["persons"] = round(time.perf_counter() - mark, 3)
    return PrefectureLink(engine_name, released.municipalities, released.children.height, persons, seconds,
                          released.children, [*released.notes, *scores.notes], scores.steps)


def true_pairs(truth: Path) -> pl.DataFrame:
    """key_l, key_r of children moved between municipalities (truth/moves.csv of a synthetic prefecture)."""
    path = truth / "moves.csv"
    if not path.is_file():
        raise PrefectureInputError(f"{path} がありません（tsunagu synth --municipalities の truth フォルダを指定してください）")
    moves = pl.read_csv(path, infer_schema=False)
    pairs = moves.select((pl.col("from_code") + ":" + pl.col("from_aza")).alias("a"),
                         (pl.col("to_code") + ":" + pl.col("to_aza")).alias("b"))
    return pairs.select(pl.min_horizontal("a", "b").alias("key_l"), pl.max_horizontal("a", "b").alias("key_r")).unique()


def evaluate(result: PrefectureLink, truth: Path) -> dict[str, Any]:
    """Pairwise precision and recall of cross-municipality links, over the released children (the
    truth's moved adults are not released, and are not counted)."""
    released = result.persons.assignment.select("key")
    actual = true_pairs(truth).join(released.rename({"key": "key_l"}), on="key_l", how="semi") \
        .join(released.rename({"key": "key_r"}), on="key_r", how="semi")
    frame = result.persons.assignment
    predicted = frame.join(frame, on="person", suffix="_r").filter(pl.col("key") < pl.col("key_r")) \
        .select(pl.col("key").alias("key_l"), "key_r")
    true_positive = predicted.join(actual, on=["key_l", "key_r"], how="semi").height
    return {
        "true_pairs": actual.height, "predicted_pairs": predicted.height, "true_positive": true_positive,
        "precision": true_positive / predicted.height if predicted.height else 1.0,
        "recall": true_positive / actual.height if actual.height else 1.0,
    }
