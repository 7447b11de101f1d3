"""A SQLite query's rows as Arrow record batches, read by ADBC's SQLite driver without a Python object
per value.

pysqlite hands every row to Python as a tuple of Python objects, which the caller then turns back
into columns: for a screening run's department answers (about 4 million observations at 100,000
children) that was the largest cost of the run. ADBC's SQLite driver (``adbc-driver-sqlite``, a
compiled library shipped in its wheel) steps the same statement in C and fills Arrow arrays.

The read goes through a connection of its own, opened read-only (``mode=ro``: SQLite refuses any
write on it) and in autocommit mode, so it never holds a read transaction open after the query. It
sees what the caller's connection would see from outside a transaction: the last committed state
(WAL). A caller that has written in its own transaction and wants to read that write back must not
use it.

ADBC infers each column's Arrow type from the values it meets, as SQLite is dynamically typed: a
column whose values all are NULL comes back as int64, and a column mixing numbers and text as text
(the numbers printed in six significant digits). Callers check the types they get and fall back to
the driver's tuples when a column is not what they expect (``vault.columns``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection
from sqlalchemy.sql.expression import Executable

from tsunagu.store.dialects import dialect_of, sqlite_driver_value

# Rows per Arrow batch: every row of an answer in one. The driver fixes each column's type on its
# first batch and fails on a later batch that disagrees (a department's first 65,536 observations
# with no number, then one: "expected INT64 but got DOUBLE"); within a batch it widens the type
# (null, integer, double, text) as it meets values, so one batch gives the type of every value.
ARROW_BATCH_ROWS = 1 << 30


def sqlite_file(conn: Connection) -> Path | None:
    """The database file behind a SQLite connection; None for another back-end or an in-memory one."""
    if not dialect_of(conn).is_sqlite:
        return None
    database = conn.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


def compiled_sql(conn: Connection, query: Executable, params: Mapping[str, object] | None = None,
                 ) -> tuple[str, tuple[object, ...]]:
    """The statement as the SQLite driver would run it: its SQL text with ``?`` marks and the bound
    values in order, expanding parameters (``IN``) spelt out. Values are bound as the bulk writers
    bind them (``sqlite_driver_value``: dates as ISO text, as SQLAlchemy's Date writes them;
    booleans as 0/1): text, numbers, dates and booleans only, the kinds a vault's columns hold."""
    compiled: Any = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})  # type: ignore[attr-defined]
    values = compiled.construct_params(params or None)
    ordered = tuple(sqlite_driver_value(values[name]) for name in compiled.positiontup or ())
    return str(compiled.string), ordered


@contextmanager
def arrow_batches(conn: Connection, query: Executable, params: Mapping[str, object] | None = None,
                  ) -> Iterator[Iterator[pa.RecordBatch] | None]:
    """The query's rows as Arrow record batches (one: see ARROW_BATCH_ROWS), read from ``conn``'s
    SQLite file through a read-only ADBC connection of its own; None when ``conn`` is not a
    file-based SQLite connection (the caller reads the driver's tuples). The batches are valid
    inside the ``with`` block only."""
    path = sqlite_file(conn)
    if path is None:
        yield None
        return
    import adbc_driver_sqlite
    import adbc_driver_sqlite.dbapi

    sql, values = compiled_sql(conn, query, params)
    # ``mode=ro`` on a URI filename: the vault file is never opened for writing by this reader.
    with adbc_driver_sqlite.dbapi.connect(f"{path.as_uri()}?mode=ro", autocommit=True) as reader, \
            reader.cursor() as cursor:
        cursor.adbc_statement.set_options(
            **{adbc_driver_sqlite.StatementOptions.BATCH_ROWS.value: str(ARROW_BATCH_ROWS)})
        cursor.execute(sql, parameters=values or None)
        yield iter(cursor.fetch_record_batch())
