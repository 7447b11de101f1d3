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
column whose values all are NULL comes back as int64 (hence ``_never_null``), and a column mixing
numbers and text as text (the numbers printed in six significant digits). Callers check the types
they get and fall back to the driver's tuples when a column is not what they expect
(``vault.columns``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Select, func, literal_column
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.expression import Executable

from tsunagu.store.dialects import dialect_of, sqlite_driver_value

# Rows per Arrow batch: a department's whole answer in one was a screening run's peak memory.
ARROW_BATCH_ROWS = 100_000
# What a column's NULLs read as, by the column's type, so that no batch holds a column of NULLs only.
_INTEGER_KINDS = (sqltypes.Integer, sqltypes.Boolean)
_REAL_KINDS = (sqltypes.Float, sqltypes.Numeric)
# The C library's allocator for the columns with their NULLs put back: pyarrow's default pool keeps
# what it frees for later, and an answer's batches pass through it once.
_POOL = pa.system_memory_pool()


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


def _never_null(query: Select[Any]) -> Select[Any]:
    """The query with each column ``c`` as ``ifnull(c, a value of c's type)`` followed by ``c IS NULL``.

    ADBC's SQLite driver fixes each column's Arrow type on its first batch, from the values it
    meets, and fails on a later batch that disagrees: a first batch whose numbers are all NULL
    makes an int64 column that a later batch's reals do not fit ("expected INT64 but got DOUBLE").
    A column that is never NULL takes its stored kind at once; ``restore_nulls`` puts the NULLs
    back. The joins, conditions and order are the query's own."""
    columns: list[Any] = []
    for name, column in zip(query.selected_columns.keys(), query.selected_columns, strict=True):
        kind = column.type
        default = "0" if isinstance(kind, _INTEGER_KINDS) else "0.0" if isinstance(kind, _REAL_KINDS) else "''"
        columns.append(func.ifnull(column, literal_column(default)).label(name))
        columns.append(column.is_(None).label(f"{name}__null"))
    return query.with_only_columns(*columns, maintain_column_froms=True)


def _restore_nulls(batch: pa.RecordBatch, names: list[str]) -> pa.RecordBatch:
    arrays = []
    for i in range(len(names)):
        values, was_null = batch.column(2 * i), batch.column(2 * i + 1)
        arrays.append(pc.if_else(pc.cast(was_null, pa.bool_(), memory_pool=_POOL), pa.scalar(None, values.type), values,
                                 memory_pool=_POOL))
    return pa.RecordBatch.from_arrays(arrays, names=names)


@contextmanager
def read_only_sqlite(path: Path) -> Iterator[Any]:
    """An ADBC connection to the SQLite file at ``path`` that cannot write it (a URI filename with
    ``mode=ro``: SQLite refuses every write) and holds no transaction open between statements."""
    import adbc_driver_sqlite.dbapi

    with adbc_driver_sqlite.dbapi.connect(f"{path.as_uri()}?mode=ro", autocommit=True) as reader:
        yield reader


@contextmanager
def arrow_batches(conn: Connection, query: Select[Any], params: Mapping[str, object] | None = None,
                  ) -> Iterator[Iterator[pa.RecordBatch | None] | None]:
    """The query's rows as Arrow record batches, read from ``conn``'s SQLite file through a read-only
    ADBC connection of its own; None when ``conn`` is not a file-based SQLite connection (the caller
    reads the driver's tuples). A batch of None ends the batches when a value did not fit its
    column's type (a column of reals holding a text, say): the caller reads the tuples then. The
    batches are valid inside the ``with`` block only."""
    path = sqlite_file(conn)
    if path is None:
        yield None
        return
    import adbc_driver_sqlite

    names = list(query.selected_columns.keys())
    sql, values = compiled_sql(conn, _never_null(query), params)
    with read_only_sqlite(path) as reader, reader.cursor() as cursor:
        cursor.adbc_statement.set_options(
            **{adbc_driver_sqlite.StatementOptions.BATCH_ROWS.value: str(ARROW_BATCH_ROWS)})
        cursor.execute(sql, parameters=values or None)
        yield _batches(cursor.fetch_record_batch(), names)


def _batches(reader: pa.RecordBatchReader, names: list[str]) -> Iterator[pa.RecordBatch | None]:
    try:
        for batch in reader:
            yield _restore_nulls(batch, names)
    except OSError:  # the driver's "Type mismatch in column …", raised through pyarrow's reader
        yield None
