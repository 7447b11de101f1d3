"""Stable person ids: which id a cluster keeps, and which merges, splits and new ids a run records."""

from __future__ import annotations

import polars as pl

from tsunagu.link.identity import new_person_ids, stable_ids


def _clustered(members: dict[str, list[str]]) -> pl.DataFrame:
    rows = [(key, cluster) for cluster, keys in members.items() for key in keys]
    return pl.DataFrame(rows, schema={"key": pl.Utf8, "cluster": pl.Utf8}, orient="row")


def _previous(ids: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"key": list(ids), "person_id": list(ids.values())}, schema={"key": pl.Utf8, "person_id": pl.Utf8})


def test_unchanged_clusters_keep_their_ids_and_record_nothing() -> None:
    changes = stable_ids(_clustered({"aza:1": ["a", "b"], "aza:2": ["c"]}),
                         _previous({"a": "p-1", "b": "p-1", "c": "p-2"}))
    assert changes.assignment == {"aza:1": "p-1", "aza:2": "p-2"}
    assert changes.created == changes.merged == changes.split == []


def test_a_cluster_joining_two_old_ids_keeps_the_one_most_records_carried() -> None:
    changes = stable_ids(_clustered({"aza:1": ["a", "b", "c"]}), _previous({"a": "p-9", "b": "p-9", "c": "p-1"}))
    assert changes.assignment == {"aza:1": "p-9"}
    assert changes.merged == [("p-1", "p-9")]


def test_a_tie_between_old_ids_goes_to_the_smaller_id() -> None:
    changes = stable_ids(_clustered({"aza:1": ["a", "b"]}), _previous({"a": "p-b", "b": "p-a"}))
    assert changes.assignment == {"aza:1": "p-a"}
    assert changes.merged == [("p-b", "p-a")]


def test_an_id_split_over_clusters_stays_with_the_larger_part_and_the_rest_gets_a_new_id() -> None:
    changes = stable_ids(_clustered({"aza:1": ["a", "b"], "rec:c": ["c"]}),
                         _previous({"a": "p-1", "b": "p-1", "c": "p-1"}))
    assert changes.assignment["aza:1"] == "p-1"
    new = changes.assignment["rec:c"]
    assert new != "p-1" and changes.split == [("p-1", new)]
    assert changes.created == []


def test_clusters_without_earlier_ids_are_created() -> None:
    changes = stable_ids(_clustered({"aza:1": ["a"], "rec:b": ["b"]}), _previous({}))
    assert sorted(changes.created) == sorted(changes.assignment.values())
    assert len(set(changes.assignment.values())) == 2


def test_new_ids_are_distinct_and_well_formed() -> None:
    ids = new_person_ids(1000)
    assert len(set(ids)) == 1000
    assert all(len(i) == 14 and i.startswith("p-") and int(i[2:], 16) >= 0 for i in ids)
    assert new_person_ids(0) == []
