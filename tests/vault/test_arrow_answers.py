"""Node answers read from a SQLite vault as Arrow columns are the answers read as driver tuples.

The tuple path (``node._tuple_frame``) is the reference: for every kind of value a vault may hold,
``node._frame`` (Arrow, with the tuple path as its fallback) must give the same frame, the same
types and the same answer digest, or fail the same way.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Connection, select
from tests.support.hubs import hub_of

from tsunagu.store import arrow as store_arrow
from tsunagu.store.arrow import arrow_batches, compiled_sql, read_only_sqlite
from tsunagu.vault import node as vault_node
from tsunagu.vault import schema
from tsunagu.vault.columns import arrow_frame
from tsunagu.vault.node import LocalNode, NodeRequest, _frame, _tuple_frame, frame_digest
from tsunagu.vault.store import Vault, VaultLocation

# (value_text, value_num, value_bool, observed_on) per observation, as stored.
Row = tuple[Any, Any, Any, Any]
CASES: dict[str, list[Row]] = {
    "nulls only": [(None, None, None, "2026-10-31")] * 3,
    "empty, non-ASCII and quoted texts": [
        ("", None, None, "2026-10-31"), ("山田 太郎", None, None, "2026-10-31"), ("①髙﨑𠮷", None, None, "2026-01-02"),
        ('a,b "q"\nline', None, None, "2026-10-31"), ("🙂", None, None, "2026-10-31"), ("\t", None, None, "2026-10-31"),
    ],
    "JSON texts": [('{"a": [1, 2.5, null], "b": "日本"}', None, None, "2026-10-31"), ("[]", None, None, "2026-10-31"),
                   ('"quoted"', None, None, "2026-10-31")],
    "large and awkward numbers": [
        (None, 2**53 + 1, None, "2026-10-31"), (None, 2**62, None, "2026-10-31"), (None, -(2**63), None, "2026-10-31"),
        (None, 0.1, None, "2026-10-31"), (None, 1e300, None, "2026-10-31"), (None, -0.0, None, "2026-10-31"),
        (None, 5e-324, None, "2026-10-31"), (None, 1.7976931348623157e308, None, "2026-10-31"),
        (None, 3, None, "2026-10-31"),
    ],
    "booleans": [(None, None, 1, "2026-10-31"), (None, None, 0, "2026-10-31"), (None, None, None, "2026-10-31")],
    "dates at the ends of the calendar": [("x", None, None, "0001-01-01"), ("y", None, None, "9999-12-31"),
                                          ("z", None, None, "2024-02-29")],
    "every kind in one answer": [("あり", None, None, "2026-04-01"), (None, 12.5, None, "2026-05-01"),
                                 (None, None, 1, "2026-06-01"), ("", 0.0, 0, "2026-07-01")],
    # The driver fixes a column's type on its first batch: a number after many rows without one
    # once failed the whole read ("expected INT64 but got DOUBLE").
    "a number after 70,000 rows without one": [("t", None, None, "2026-10-31")] * 70_000
    + [(None, 1.25, None, "2026-10-31"), (None, None, 1, "2026-10-30")],
    # Values the Arrow path does not take as they are: the tuple path decides (here, the same way).
    "a date spelt without dashes": [("x", None, None, "20261031"), ("y", None, None, "2026-10-31")],
    "text in the number column": [(None, "abc", None, "2026-10-31"), (None, 2.5, None, "2026-10-31")],
    "a number in the boolean column": [(None, None, 0.5, "2026-10-31"), (None, None, 1, "2026-10-31")],
}


def _vault_with(path: Path, rows: list[Row]) -> Vault:
    vault = Vault(VaultLocation("schools", f"sqlite:///{path}", None))
    con = sqlite3.connect(path)  # raw rows: values SQLAlchemy's types would not write
    con.execute("INSERT INTO loads VALUES (1, 'src', 'f.csv', '', 'h', '2026-10-31', '2026-10-31 00:00:00.000000',"
                " 0, 0, 0, 'utf-8')")
    con.execute("INSERT INTO records (record_id, load_id, source, row_number, local_id, subject, raw, valid_from)"
                " VALUES (1, 1, 'src', 1, 'L1', 'child', '{}', '2026-10-31')")
    con.executemany(
        "INSERT INTO observations (record_id, load_id, source, local_id, item_id, value_text, value_num, value_bool,"
        " observed_on, valid_from) VALUES (1, 1, 'src', ?, 'item', ?, ?, ?, ?, '2026-10-31')",
        [(f"L{i % 7}", *row) for i, row in enumerate(rows)])
    con.commit()
    con.close()
    return vault


@pytest.fixture
def answers(tmp_path: Path) -> Iterator[Any]:
    vaults: list[Vault] = []

    def read(rows: list[Row]) -> tuple[Any, Any]:
        vault = _vault_with(tmp_path / f"v{len(vaults)}.sqlite3", rows)
        vaults.append(vault)
        o, lo = schema.observations, schema.loads
        query = (select(o.c.source, o.c.local_id, o.c.item_id, o.c.value_text, o.c.value_num, o.c.value_bool,
                        o.c.observed_on, lo.c.export_date.label("snapshot_date"))
                 .join(lo, lo.c.load_id == o.c.load_id).where(o.c.source.in_(["src", "other"]))
                 .order_by(o.c.obs_id))
        with vault.transaction() as conn:
            return _outcome(conn, _frame, query), _outcome(conn, _tuple_frame, query)

    yield read
    for vault in vaults:
        vault.dispose()


def _outcome(conn: Connection, read: Any, query: Any) -> Any:
    try:
        return read(conn, query)
    except Exception as exc:  # both paths must fail alike
        return type(exc)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_arrow_answer_is_the_tuple_answer(case: str, answers: Any) -> None:
    arrow, tuples = answers(CASES[case])
    if isinstance(tuples, type):
        assert arrow is tuples
        return
    assert arrow.height == len(CASES[case])
    assert arrow.schema == tuples.schema
    assert arrow.equals(tuples)  # nulls equal nulls, NaN-free
    assert frame_digest(arrow) == frame_digest(tuples)


def test_the_arrow_path_reads_the_values_themselves(answers: Any) -> None:
    arrow, _ = answers(CASES["every kind in one answer"] + CASES["large and awkward numbers"][:2])
    assert arrow.schema["value_num"] == pl.Float64 and arrow.schema["observed_on"] == pl.Date
    assert arrow["value_text"].to_list()[:4] == ["あり", None, None, ""]
    assert arrow["value_bool"].to_list()[:4] == [None, None, True, False]
    assert arrow["observed_on"][0] == date(2026, 4, 1) and arrow["snapshot_date"][0] == date(2026, 10, 31)
    assert arrow["value_num"].to_list()[4:] == [float(2**53 + 1), float(2**62)]


def test_an_empty_answer_has_the_same_types(answers: Any) -> None:
    arrow, tuples = answers([])
    assert arrow.height == 0 and arrow.schema == tuples.schema


def test_the_arrow_reader_cannot_write_the_vault(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    vault = _vault_with(path, CASES["booleans"])
    try:
        with read_only_sqlite(path) as reader, reader.cursor() as cursor, pytest.raises(Exception, match="readonly"):
            cursor.execute("DELETE FROM observations")
        with vault.transaction() as conn:
            assert len(conn.execute(select(schema.observations.c.obs_id)).all()) == 3
    finally:
        vault.dispose()


def test_a_value_that_fits_no_earlier_batch_ends_the_arrow_read(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # A real in the boolean column after a first batch of integers: the driver cannot widen a
    # column it already typed, so the Arrow path gives up and the tuple path answers.
    monkeypatch.setattr(store_arrow, "ARROW_BATCH_ROWS", 10)
    rows: list[Row] = [(None, None, 1, "2026-10-31")] * 25 + [(None, None, 0.5, "2026-10-31")]
    vault = _vault_with(tmp_path / "v.sqlite3", rows)
    o = schema.observations
    query = select(o.c.local_id, o.c.value_bool).order_by(o.c.obs_id)
    try:
        with vault.transaction() as conn:
            with arrow_batches(conn, query) as batches:
                assert batches is not None
                read = list(batches)
            assert read[-1] is None and len(read) == 3
            assert _frame(conn, query).equals(_tuple_frame(conn, query))
    finally:
        vault.dispose()


def test_answers_of_many_batches_keep_their_nulls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_arrow, "ARROW_BATCH_ROWS", 7)
    rows = CASES["every kind in one answer"] * 5 + CASES["nulls only"] * 4 + CASES["large and awkward numbers"]
    vault = _vault_with(tmp_path / "v.sqlite3", rows)
    o = schema.observations
    query = select(o.c.local_id, o.c.value_text, o.c.value_num, o.c.value_bool, o.c.observed_on).order_by(o.c.obs_id)
    try:
        with vault.transaction() as conn:
            with arrow_batches(conn, query) as batches:
                assert batches is not None
                arrow = arrow_frame(list(query.selected_columns.keys()), batches)
            assert arrow is not None
            assert arrow.equals(_tuple_frame(conn, query))
            assert arrow["value_text"].null_count() == 2 * 5 + 3 * 4 + 9  # every NULL back, across batches
    finally:
        vault.dispose()


def test_bound_values_are_those_sqlalchemy_binds(tmp_path: Path) -> None:
    vault = _vault_with(tmp_path / "v.sqlite3", CASES["booleans"])
    o = schema.observations
    query = select(o.c.obs_id).where(o.c.source.in_(["a", "b"]), o.c.observed_on <= date(2026, 10, 31),
                                     o.c.value_bool.is_(True) | o.c.local_id.is_(None))
    try:
        with vault.transaction() as conn:
            sql, values = compiled_sql(conn, query)
            assert sql.count("?") == len(values) == 3
            assert values == ("a", "b", "2026-10-31")
    finally:
        vault.dispose()


def test_a_node_answers_the_same_by_either_path(linked_town: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    request = NodeRequest(requester="hub:screen:test", role="system", purpose="screening",
                          items=("absence_days", "late_count", "school_code", "grade"))
    with hub_of(linked_town) as hub:
        node = hub.nodes()["schools"]
        assert isinstance(node, LocalNode)
        arrow = node.items(request, date(2026, 10, 31))

        @contextlib.contextmanager
        def no_arrow(*_args: object, **_kwargs: object) -> Iterator[None]:
            yield None

        monkeypatch.setattr(vault_node, "arrow_batches", no_arrow)
        tuples = node.items(request, date(2026, 10, 31))
    assert arrow.data.height > 1000
    assert arrow.data.schema == tuples.data.schema
    assert arrow.data.equals(tuples.data)
    assert arrow.digest == tuples.digest



FALLBACK = {"a date spelt without dashes", "text in the number column", "a number in the boolean column"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_only_values_the_arrow_path_cannot_take_go_the_tuple_way(case: str, tmp_path: Path) -> None:
    vault = _vault_with(tmp_path / "v.sqlite3", CASES[case])
    o = schema.observations
    query = select(o.c.local_id, o.c.value_text, o.c.value_num, o.c.value_bool, o.c.observed_on).order_by(o.c.obs_id)
    try:
        with vault.transaction() as conn, arrow_batches(conn, query) as batches:
            assert batches is not None
            frame = arrow_frame(list(query.selected_columns.keys()), batches)
        assert (frame is None) == (case in FALLBACK)
    finally:
        vault.dispose()
