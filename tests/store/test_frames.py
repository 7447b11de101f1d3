"""Whole-municipality frames in bounded memory: digests by slices, reads by batches, same results."""

from __future__ import annotations

import hashlib
from datetime import date

import polars as pl
import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, create_engine, insert, select

from tsunagu.store import bulk
from tsunagu.store.frames import csv_sha256, hash_csv_sorted

FRAME = pl.DataFrame({
    "text": ["", "a,b", 'q"t', "line\nx", "山田 太郎", None, "x"] * 3,
    "num": [1.5, None, 1e-9, 123456789012.25, -0.0, 3.0, 2.5e300] * 3,
    "day": [date(2020, 1, 2), None, date(1, 1, 1), date(2026, 12, 7), None, date(1999, 12, 31), date(2000, 2, 29)] * 3,
    "flag": [True, False, None, True, True, False, None] * 3,
})


@pytest.mark.parametrize("slice_rows", [1, 2, 5, 20, 21, 1000])
def test_the_sliced_digest_is_the_digest_of_the_whole_text(slice_rows: int) -> None:
    whole = hashlib.sha256(FRAME.write_csv().encode("utf-8")).hexdigest()
    assert csv_sha256(FRAME, slice_rows) == whole


@pytest.mark.parametrize("slice_rows", [1, 4, 21, 1000])
def test_the_digest_in_sorted_order_is_the_digest_of_the_sorted_frame(slice_rows: int) -> None:
    by = ["flag", "day", "num"]
    wanted = hashlib.sha256(FRAME.sort(by).write_csv().encode("utf-8")).hexdigest()
    got = hashlib.sha256()
    hash_csv_sorted(got, FRAME, by, slice_rows)
    assert got.hexdigest() == wanted
    unsorted = hashlib.sha256()
    hash_csv_sorted(unsorted, FRAME, ["text"], slice_rows)
    assert unsorted.hexdigest() != wanted
    empty = hashlib.sha256()
    hash_csv_sorted(empty, FRAME.clear(), by, slice_rows)
    assert empty.hexdigest() == hashlib.sha256(FRAME.clear().write_csv().encode("utf-8")).hexdigest()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rows_that_tie_on_the_keys_give_one_digest_in_any_arrival_order(seed: int) -> None:
    # Rows equal on the sort keys but different elsewhere: an unstable sort on the keys alone left
    # their order, and so the digest, to the order the rows arrived in.
    tied = pl.DataFrame({"key": ["a"] * 6 + ["b"] * 6, "value": [f"v{i % 4}" for i in range(12)],
                         "num": [float(i % 3) for i in range(12)]})
    wanted = hashlib.sha256()
    hash_csv_sorted(wanted, tied, ["key"], 5)
    shuffled = hashlib.sha256()
    hash_csv_sorted(shuffled, tied.sample(fraction=1.0, shuffle=True, seed=seed), ["key"], 5)
    assert shuffled.hexdigest() == wanted.hexdigest()
    assert wanted.hexdigest() == hashlib.sha256(tied.sort(["key", "value", "num"]).write_csv().encode()).hexdigest()


def test_the_sliced_digest_of_no_rows_is_the_header_s() -> None:
    empty = FRAME.clear()
    assert csv_sha256(empty, 3) == hashlib.sha256(empty.write_csv().encode("utf-8")).hexdigest()
    assert csv_sha256(FRAME, 3) != csv_sha256(FRAME.reverse(), 3)


def test_a_frame_read_in_batches_is_the_frame_read_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine("sqlite://")
    meta = MetaData()
    table = Table("t", meta, Column("id", Integer, primary_key=True), Column("name", String), Column("x", Float))
    meta.create_all(engine)
    schema = {"id": pl.Int64(), "name": pl.Utf8(), "x": pl.Float64()}
    rows = [{"id": i, "name": None if i % 4 == 0 else f"n{i}", "x": None if i % 3 else i / 7} for i in range(1, 24)]
    with engine.begin() as conn:
        conn.execute(insert(table), rows)
        query = select(table.c.id, table.c.name, table.c.x).order_by(table.c.id)
        at_once = bulk.read_frame(conn, query, schema)
        monkeypatch.setattr(bulk, "READ_BATCH_ROWS", 5)  # five batches, the last one short
        in_batches = bulk.read_frame(conn, query, schema)
        nothing = bulk.read_frame(conn, query.where(table.c.id < 0), schema)
    assert at_once.height == 23
    assert in_batches.equals(at_once)
    assert in_batches.schema == at_once.schema
    assert nothing.height == 0 and nothing.schema == at_once.schema
