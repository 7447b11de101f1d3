"""Prefecture-wide statistics: counts across municipalities, under the municipal statistics' disclosure control.

The counts come from a linkage run on what the municipalities release for ``prefecture_statistics``
(個人情報保護法第69条第2項第4号: for statistics only); nothing but the published tables leaves the run.
Suppression is the statistics package's own (stats.tables.publish_all: primary below k, complementary,
the exact recomputation check, numbers shared between tables suppressed alike) — not a copy of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import polars as pl

from tsunagu.link.assign import Thresholds
from tsunagu.prefecture import engine
from tsunagu.prefecture.link import PrefectureLink, link_prefecture
from tsunagu.stats.suppress import DEFAULT_K
from tsunagu.stats.tables import Spec, StatTable, publish_all

AGE_BANDS = ("0〜5歳", "6〜11歳", "12〜17歳")  # 就学前・小学生年代・中高生年代
PURPOSE = "prefecture_statistics"


def _age_band(birth: pl.Expr, as_of: date) -> pl.Expr:
    years = (pl.lit(as_of.year) - birth.dt.year()) - (
        (pl.lit(as_of.month * 100 + as_of.day) < birth.dt.month() * 100 + birth.dt.day()).cast(pl.Int32))
    return pl.when(years < 6).then(pl.lit(AGE_BANDS[0])).when(years < 12).then(pl.lit(AGE_BANDS[1])) \
        .otherwise(pl.lit(AGE_BANDS[2]))


def residents_spec(children: pl.DataFrame, names: dict[str, str], as_of: date) -> Spec:
    """Children registered as living in each municipality (not 転出), by age band."""
    codes = sorted(names)
    counts = (children.filter(~pl.col("moved_out"))
              .with_columns(_age_band(pl.col("birth_date"), as_of).alias("band"))
              .group_by("municipality", "band").len())
    table = {(r["municipality"], r["band"]): r["len"] for r in counts.iter_rows(named=True)}
    return Spec("prefecture_children", "市町村別・年齢階級別の子ども（住民登録のある18歳未満）", "市町村", "年齢階級",
                [names[c] for c in codes], list(AGE_BANDS), [[table.get((c, b), 0) for b in AGE_BANDS] for c in codes],
                "prefecture_children", "municipality", "age_band")


def moves_spec(result: PrefectureLink, children: pl.DataFrame, names: dict[str, str]) -> Spec:
    """Children who moved inside the prefecture: the municipality they left (転出) × the one they live in now."""
    codes = sorted(names)
    person = result.persons.assignment.select("key", "person")
    state = children.select("key", "municipality", "moved_out").join(person, on="key")
    left = state.filter(pl.col("moved_out")).select("person", pl.col("municipality").alias("origin"))
    now = state.filter(~pl.col("moved_out")).select("person", pl.col("municipality").alias("destination"))
    # A person with one 転出 record and one living record is one move; anything else is not counted.
    pairs = left.join(now, on="person").filter(pl.col("origin") != pl.col("destination"))
    pairs = pairs.filter(pl.col("person").is_in(
        pairs.group_by("person").len().filter(pl.col("len") == 1)["person"].implode()))
    table = {(r["origin"], r["destination"]): r["len"] for r in pairs.group_by("origin", "destination").len().iter_rows(named=True)}
    return Spec("prefecture_moves", "県内の市町村間で転居した子ども（転出元 × 転入先）", "転出元", "転入先",
                [names[c] for c in codes], [names[c] for c in codes],
                [[table.get((a, b), 0) for b in codes] for a in codes], "prefecture_moves", "origin", "destination",
                note="名寄せで同じ子どもと判定された、転出の記録と住民の記録の組から数えています")


def prefecture_tables(homes: Sequence[Path], engine_name: str, *, as_of: date, k: int = DEFAULT_K,
                      spark: engine.SparkOptions | None = None, bands: Thresholds | None = None,
                      duckdb: engine.DuckDBOptions | None = None) -> list[StatTable]:
    result = link_prefecture(homes, engine_name, as_of=as_of, spark=spark, bands=bands, purpose=PURPOSE, duckdb=duckdb)
    children = result.released
    specs = [residents_spec(children, result.municipalities, as_of), moves_spec(result, children, result.municipalities)]
    return publish_all(specs, k)
