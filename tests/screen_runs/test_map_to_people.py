"""An answer's rows mapped to persons: the one-identity-source join is the two-key join.

``inputs._map_to_people`` joins on the local id alone when every row of an answer is keyed by one
source's ids; the reference here is the join on (identity source, local id) it replaces.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from tsunagu.catalog.manifest import ManifestSet, load_manifests
from tsunagu.screen.runs.inputs import _map_to_people

LINKS = pl.DataFrame({
    "source": ["school_meibo", "school_meibo", "school_meibo", "juki_jumin", "juki_jumin", "hoiku"],
    "local_id": ["S1", "S2", "S3", "S1", "R9", "H1"],
    "person_id": ["p-a", "p-b", "p-c", "p-x", "p-y", "p-h"],
})


def _answer(rows: list[tuple[str, str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"source": pl.Utf8, "local_id": pl.Utf8, "value_num": pl.Float64}, orient="row")


CASES: dict[str, list[tuple[str, str, float | None]]] = {
    # school_kiroku and school_chosa are keyed by the school register's ids (identity_of).
    "one source keyed by another's ids": [("school_kiroku", "S2", 1.0), ("school_kiroku", "S1", None),
                                          ("school_kiroku", "S9", 3.0), ("school_kiroku", "S2", 4.0)],
    "two sources, one identity source": [("school_chosa", "S3", 1.0), ("school_kiroku", "S1", 2.0),
                                         ("school_meibo", "S1", None), ("school_chosa", "S1", 5.0)],
    "a local id that another source also uses": [("juki_jumin", "S1", 1.0), ("juki_jumin", "R9", 2.0)],
    "two identity sources": [("juki_jumin", "S1", 1.0), ("school_kiroku", "S1", 2.0), ("hoiku", "H1", 3.0)],
    "no rows": [],
}


@pytest.fixture(scope="module")
def manifests() -> ManifestSet:
    return load_manifests(Path(str(resources.files("tsunagu.catalog") / "manifests")))


def _two_key_join(answer: pl.DataFrame, manifests: ManifestSet) -> pl.DataFrame:
    identity_of = {m.source: (m.identity_of or m.source) for m in manifests.manifests.values()}
    keyed = answer.with_columns(
        pl.col("source").replace_strict(identity_of, default=pl.col("source")).alias("identity_source"))
    return keyed.join(LINKS.rename({"source": "identity_source"}), on=["identity_source", "local_id"], how="inner",
                      maintain_order="left")


@pytest.mark.parametrize("case", sorted(CASES))
def test_mapped_rows_are_those_of_the_two_key_join(case: str, manifests: ManifestSet) -> None:
    answer = _answer(CASES[case])
    mapped = _map_to_people(answer, manifests, LINKS)
    expected = _two_key_join(answer, manifests)
    assert mapped.schema == expected.schema
    assert mapped.equals(expected)


def test_rows_keyed_by_the_register_find_their_persons(manifests: ManifestSet) -> None:
    mapped = _map_to_people(_answer(CASES["one source keyed by another's ids"]), manifests, LINKS)
    assert mapped["person_id"].to_list() == ["p-b", "p-a", "p-b"]  # S9 is linked to no one
