"""From scored pairs to links: human decisions first, then one record per person, then three bands.

Each unkeyed record may join at most one registered person, and each person at most one record
per source partition (one school's roster, the child-guidance centre's cases …). Taking pairs in
order of probability under that constraint is what keeps a twin's school record from landing on
the other twin, whose name, birth date, address and guardians all agree but the given name.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Thresholds:
    """Match probability bands: at or above ``upper`` link; ``lower``..``upper`` review; below, no link."""

    upper: float = 0.99
    lower: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.lower < self.upper <= 1:
            raise ValueError("thresholds need 0 < lower < upper <= 1")


@dataclass
class Assignment:
    links: pl.DataFrame  # key_r, key_l, match_probability, method
    review: pl.DataFrame  # key_l, key_r, match_probability and the comparison levels


# Two registered persons of one household whose scores for a record are this close (in match
# weight, log2 of the odds: 3 is a factor of 8) are not told apart by the model: a person decides.
HOUSEHOLD_MARGIN = 3.0


def source_partition(key_r: pl.Expr) -> pl.Expr:
    """The default partition of a record: its source (at most one record per person per source)."""
    return key_r.str.split(":").list.get(0)


def assign(pairs: pl.DataFrame, decisions: pl.DataFrame, thresholds: Thresholds,
           partitions: pl.DataFrame | None = None, households: pl.DataFrame | None = None) -> Assignment:
    """``decisions``: left_key, right_key, decision ('match' / 'non_match') made by people.

    ``partitions`` (key_r, partition): the records of one partition hold at most one record per
    person (a null partition: no such limit); without it, each source is a partition. ``households``
    (key_l, household): registered persons of one household, whose near-ties go to review.

    Ambiguity goes to review rather than to a link: a record whose best candidate already holds
    another record of the partition (a twin's or sibling's), a record of a child recorded beside
    such a sibling whose given name disagrees outright with the candidate's (see _twin_signatures),
    and a record scoring almost alike for two persons of one household.
    """
    forced = decisions.filter(pl.col("decision") == "match").select(
        pl.col("left_key").alias("key_l"), pl.col("right_key").alias("key_r")
    )
    refused = decisions.filter(pl.col("decision") == "non_match").select(
        pl.col("left_key").alias("key_l"), pl.col("right_key").alias("key_r")
    )
    scored = pairs.join(refused, on=["key_l", "key_r"], how="anti")
    scored = scored.join(forced.select("key_r"), on="key_r", how="anti")
    ranked = _with_partition(scored.filter((pl.col("match_probability") >= thresholds.lower) | new_surname(scored)),
                             partitions)
    ranked = _flag_doubtful(ranked, households).sort(
        ["match_probability", "key_l", "key_r"], descending=[True, False, False])
    slot_of = dict(_with_partition(forced.select("key_r"), partitions).select("key_r", "partition").iter_rows())
    taken_right: set[str] = set(forced["key_r"].to_list())
    taken_slot: set[tuple[str, str]] = set()
    for key_l, key_r in forced.iter_rows():
        if slot_of.get(key_r) is not None:
            taken_slot.add((key_l, slot_of[key_r]))
    linked: list[tuple[str, str, float, str]] = [(r, lft, 1.0, "clerical") for lft, r in forced.iter_rows()]
    review_rows: list[int] = []
    blocked: dict[str, int] = {}  # record -> its best candidate already held by another record
    for index, (key_l, key_r, probability, partition, doubtful) in enumerate(
        ranked.select("key_l", "key_r", "match_probability", "partition", "doubtful").iter_rows()
    ):
        if key_r in taken_right:
            continue
        if partition is not None and (key_l, partition) in taken_slot:
            blocked.setdefault(key_r, index)
            continue
        if probability < thresholds.lower:  # a possible new surname (new_surname): for a person to decide
            review_rows.append(index)
        elif probability >= thresholds.upper and not doubtful and key_r not in blocked:
            taken_right.add(key_r)
            if partition is not None:
                taken_slot.add((key_l, partition))
            linked.append((key_r, key_l, float(probability), "probabilistic"))
        else:
            review_rows.append(index)
    links = pl.DataFrame(linked, schema={"key_r": pl.Utf8, "key_l": pl.Utf8, "match_probability": pl.Float64,
                                          "method": pl.Utf8}, orient="row")
    review_rows = sorted({*review_rows, *blocked.values()})
    review = ranked[review_rows] if review_rows else ranked.head(0)
    # A record already linked automatically needs no review of its weaker candidates.
    review = review.join(links.select("key_r"), on="key_r", how="anti")
    return Assignment(links, review.drop("partition", "doubtful"))


def _with_partition(frame: pl.DataFrame, partitions: pl.DataFrame | None) -> pl.DataFrame:
    if partitions is None:
        return frame.with_columns(source_partition(pl.col("key_r")).alias("partition"))
    return frame.join(partitions.select("key_r", "partition"), on="key_r", how="left")


def new_surname(pairs: pl.DataFrame) -> pl.Expr:
    """Pairs whose birth date and given name agree exactly while the surname does not. A new surname
    (marriage, adoption, a parent's divorce) together with a move scores low — only the given name
    and birth date agree — but siblings and twins never share both: such a pair is worth a person's
    look, never a link (probabilistic.NEW_SURNAME_FLOOR)."""
    columns = pairs.columns
    if not {"birth_date_l", "birth_date_r"} <= set(columns):
        return pl.lit(False)
    given = pl.lit(False)
    for name in ("given_key", "given_reading_key", "latin_given"):
        if f"{name}_l" in columns and f"{name}_r" in columns:
            given = given | (pl.col(f"{name}_l") == pl.col(f"{name}_r")).fill_null(False)
    return (pl.col("birth_date_l") == pl.col("birth_date_r")).fill_null(False) & given & ~_same_surname(columns)


def _same_surname(columns: list[str]) -> pl.Expr:
    same = pl.lit(False)
    for name in ("family_key", "family_reading_key", "latin_family"):
        if f"{name}_l" in columns and f"{name}_r" in columns:
            same = same | (pl.col(f"{name}_l") == pl.col(f"{name}_r")).fill_null(False)
    return same


def _flag_doubtful(ranked: pl.DataFrame, households: pl.DataFrame | None) -> pl.DataFrame:
    """``ranked`` with ``doubtful``: pairs that must not link automatically, whatever their probability."""
    doubt = pl.lit(False)
    if "gamma_given_name" in ranked.columns and ranked.height:
        ranked = ranked.with_columns(_signature(ranked.columns).alias("signature"))
        doubt = doubt | ((pl.col("gamma_given_name") == 0) & _same_surname(ranked.columns)
                         & pl.col("signature").is_in(_twin_signatures(ranked).implode()))
    if households is not None and "match_weight" in ranked.columns and ranked.height:
        near = (
            ranked.select("key_l", "key_r", "match_weight")
            .join(households.select("key_l", "household"), on="key_l", how="inner")
            .filter(pl.col("household").is_not_null())
        )
        tied = near.join(near, on=["key_r", "household"], suffix="_other").filter(
            (pl.col("key_l") != pl.col("key_l_other"))
            & ((pl.col("match_weight") - pl.col("match_weight_other")).abs() < HOUSEHOLD_MARGIN)
        ).select("key_l", "key_r", pl.lit(True).alias("tied")).unique()
        ranked = ranked.join(tied, on=["key_l", "key_r"], how="left")
        doubt = doubt | pl.col("tied").fill_null(False)
        return ranked.with_columns(doubt.alias("doubtful")).drop("tied", "signature", strict=False)
    return ranked.with_columns(doubt.alias("doubtful")).drop("signature", strict=False)


def _signature(columns: list[str]) -> pl.Expr:
    """Who a record says the child is: surname, given name and birth date as the record writes them."""
    parts = [pl.coalesce([pl.col(f"{c}_r") for c in group if f"{c}_r" in columns] or [pl.lit(None, dtype=pl.Utf8)])
             for group in (("family_key", "family_reading_key", "latin_family"),
                           ("given_key", "given_reading_key", "latin_given"))]
    birth = pl.col("birth_date_r").cast(pl.Utf8) if "birth_date_r" in columns else pl.lit(None, dtype=pl.Utf8)
    return pl.concat_str([*parts, birth], separator="|", ignore_nulls=True)


def _twin_signatures(ranked: pl.DataFrame) -> pl.Series:
    """Children recorded beside a sibling: in one partition (a school's roster), two records compete
    for the same registered person, one agreeing with its given name and one not. The one that does
    not is another child — a twin or sibling, perhaps not on the register — wherever else it is
    recorded, its records must not be given the sibling's id automatically.

    (A record whose given name alone disagrees is otherwise linked: a foreign resident's 通称名 in
    one export and real name in another looks the same, and is the same child.)"""
    competing = ranked.filter(pl.col("partition").is_not_null()).group_by("key_l", "partition").agg(
        (pl.col("gamma_given_name") == 0).any().alias("other"), (pl.col("gamma_given_name") > 0).any().alias("own"))
    contested = competing.filter(pl.col("other") & pl.col("own")).select("key_l", "partition")
    return (ranked.join(contested, on=["key_l", "partition"], how="semi")
            .filter(pl.col("gamma_given_name") == 0)["signature"].unique())
