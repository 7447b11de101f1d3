"""The department node: the only reader of a vault.

Every request names the requester, the purpose and the items. The node releases what the
department's manifests allow for that purpose, refuses the rest with a reason, and logs the
request with a digest of its answer — so the department holds its own evidence of every exchange.
This module is the in-process transport; the HTTP transport serves the same ``Node`` contract.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol

import polars as pl
from sqlalchemy import ColumnElement, Connection, Select, Table, and_, bindparam, false, func, insert, or_, select

from tsunagu.catalog import default_catalog
from tsunagu.catalog.manifest import Manifest, ManifestSet
from tsunagu.errors import RefusedError
from tsunagu.privacy.records import IDENTITY_ACTIONS, ITEM_ACTIONS, existence_sensitivity, role_may_receive
from tsunagu.store.dialects import dialect_of
from tsunagu.store.frames import csv_sha256
from tsunagu.vault import schema
from tsunagu.vault.columns import SMALL_ANSWER_ROWS, rows_frame
from tsunagu.vault.quarantine import UnreadableRow, unreadable_rows
from tsunagu.vault.store import Vault

RequestKind = Literal["identifiers", "items", "record", "records", "unreadable"]

IDENTITY_FIELDS = schema.IDENTITY_FIELDS  # the vault's identity columns, listed once (vault/schema.py)


@dataclass(frozen=True)
class NodeRequest:
    requester: str
    role: str
    purpose: str
    items: tuple[str, ...] = ()
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The transport's message nonce, recorded in the node's log so a restarted node still refuses a
    # replay; None in process. A transport sets it from the message it received: a nonce set by the
    # caller of ``HttpNode`` is not sent (each attempt is signed with a fresh one).
    nonce: str | None = None
    # identifiers only: the identity fields wanted (record_id, source and local_id always come);
    # None means every field, with the row number and snapshot date.
    fields: tuple[str, ...] | None = None


class NodeRefusedError(RefusedError):
    """The node refused the whole request; ``reason`` says which policy refused it."""

    code = "node_refused"

    def __init__(self, department: str, reason: str) -> None:
        self.department = department
        self.reason = reason
        super().__init__(f"{department}: {reason}")


@dataclass
class NodeAnswer:
    department: str
    request_id: str
    data: pl.DataFrame
    refused: dict[str, str]
    digest: str


class Node(Protocol):
    department: str

    def identifiers(self, request: NodeRequest, as_of: date | None = None, *,
                    local_ids: Sequence[tuple[str, str]] | None = None) -> NodeAnswer:
        """Identity rows of the records the purpose releases; with ``local_ids`` ((source, local_id)
        pairs), only those records — a pair of another department's source matches no row.
        ``request.fields`` narrows the answer to those identity fields."""
        ...

    def items(self, request: NodeRequest, as_of: date) -> NodeAnswer: ...

    def record(self, request: NodeRequest, source: str, local_id: str, as_of: date | None = None) -> NodeAnswer: ...

    def records(self, request: NodeRequest, source: str, local_ids: Sequence[str],
                as_of: date | None = None) -> NodeAnswer:
        """``record`` for many local ids of one source in one request (one log entry naming how many
        subjects it answered for): the rows of each, in the order asked, as ``record`` answers them."""
        ...

    def unreadable(self, request: NodeRequest, as_of: date) -> NodeAnswer:
        """Which subjects have rows that did not load (or loaded without a value) for ``request.items``
        in the snapshots in force on ``as_of``: source, local_id (null: key unreadable), item_id,
        rows, snapshot_date — never a row's content. Released like the items themselves."""
        ...


# Driver rows turned into columns at a time by ``_frame``.
FETCH_BATCH_ROWS = 100_000


def frame_digest(frame: pl.DataFrame) -> str:
    """A digest of an answer: SHA-256 of its CSV text, stable for the same rows in the same order.

    Both sides of a transport digest the same frame, so they take the same writer. Polars'
    writer has a fixed cost per call that was a fifth of a child page's time (a dozen answers of
    a few rows each); the small answers' own writer follows the same quoting rules and differs
    only in how very small or large floats are spelt.
    """
    if frame.height > SMALL_ANSWER_ROWS:
        return csv_sha256(frame)  # slice by slice: a whole-municipality answer's text is larger than its frame
    return hashlib.sha256(_csv_text(frame).encode("utf-8")).hexdigest()


# A text field is quoted when it holds one of these (or is empty).
_NEEDS_QUOTES = re.compile('[,"\r\n]')


def _csv_field(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # most fields: tested first, and searched once rather than per character
        text = value
    elif isinstance(value, bool):
        return "true" if value else "false"
    elif isinstance(value, date):
        return value.isoformat()
    elif isinstance(value, float):
        return repr(value)
    else:
        text = str(value)
    if text == "" or _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'  # an empty text is not a missing value
    return text


def _csv_text(frame: pl.DataFrame) -> str:
    lines = [",".join(_csv_field(name) for name in frame.columns)]
    lines.extend(",".join(_csv_field(value) for value in row) for row in frame.iter_rows())
    return "\n".join(lines) + "\n"


_LOG_INSERT = insert(schema.request_log)


def _logged_items(request: NodeRequest, kind: RequestKind) -> list[str]:
    """What was asked for: the items, or for identifiers narrowed to some fields, those fields."""
    return list(request.fields) if kind == "identifiers" and request.fields is not None else list(request.items)


def _identity_fields(asked: tuple[str, ...] | None) -> tuple[tuple[str, ...], dict[str, str]]:
    """The columns an identifiers request selects, and the asked-for names that are no identity field."""
    if asked is None:
        return ("row_number", "valid_from", *IDENTITY_FIELDS), {}
    refused = {f: "識別情報の項目ではありません / not an identity field" for f in asked if f not in IDENTITY_FIELDS}
    return tuple(f for f in IDENTITY_FIELDS if f in asked), refused


def _valid_at(table: Table, as_of: date) -> ColumnElement[bool]:
    """Rows of the snapshot that was current on ``as_of``."""
    columns = table.c
    if as_of == date.max:
        # The latest snapshot: the simpler condition lets SQLite use the (…, valid_to) indexes.
        return columns.valid_to.is_(None)
    return and_(columns.valid_from <= as_of, or_(columns.valid_to.is_(None), columns.valid_to > as_of))


class LocalNode:
    """A department's node in the same process as the hub (the embedded default)."""

    def __init__(self, department: str, vault: Vault, manifests: ManifestSet) -> None:
        self.department = department
        self.vault = vault
        self.manifests = manifests.of_department(department)

    # -- policy -----------------------------------------------------------------------------------
    def _identifier_sources(self, purpose: str, role: str | None = None) -> list[str]:
        """Sources whose identity rows the purpose releases (the manifest) and, with ``role``, that
        role may be given: the record's existence is as sensitive as the source (privacy.records),
        so a school's staff get no identity row of the 児童相談所 whatever purpose the hub names."""
        return [m.source for m in self.manifests if purpose in m.release.get("identifiers", ())
                and (role is None or self._role_may_see(role, purpose, m))]

    def _role_may_see(self, role: str, purpose: str, manifest: Manifest) -> bool:
        return role_may_receive(role, purpose, self.department, existence_sensitivity(manifest.item_ids),
                                IDENTITY_ACTIONS)

    def _split_items(self, purpose: str, role: str, items: tuple[str, ...],
                     ) -> tuple[dict[str, list[str]], dict[str, str]]:
        """Map each requested item to the sources that may release it; refuse the others with a reason."""
        allowed: dict[str, list[str]] = {}
        refused: dict[str, str] = {}
        for item in items:
            holders = [m for m in self.manifests if item in m.item_ids]
            if not holders:
                refused[item] = f"{self.department} はこの項目を保有していません / not held by this department"
                continue
            releasing = [m.source for m in holders if item in m.released_items(purpose)]
            if not releasing:
                refused[item] = f"利用目的「{purpose}」では提供しない項目です（取込定義の release） / not released for purpose {purpose}"
            elif not self._role_may_read(role, purpose, item):
                refused[item] = f"役割「{role}」には提供しない項目です（アクセス方針） / not released to role {role}"
            else:
                allowed[item] = releasing
        return allowed, refused

    def _role_may_read(self, role: str, purpose: str, item: str) -> bool:
        catalogued = default_catalog().items.get(item)
        level = catalogued.sensitivity if catalogued is not None else 3
        return role_may_receive(role, purpose, self.department, level, ITEM_ACTIONS)

    # -- requests ---------------------------------------------------------------------------------
    def identifiers(self, request: NodeRequest, as_of: date | None = None, *,
                    local_ids: Sequence[tuple[str, str]] | None = None) -> NodeAnswer:
        sources = self._identifier_sources(request.purpose, request.role)
        fields, refused = _identity_fields(request.fields)
        with self.vault.transaction() as conn:
            if not sources:
                self._refuse(conn, request, "identifiers",
                             "この利用目的・役割には識別情報を提供しません / identifiers not released for this purpose and role")
            if not fields:
                self._refuse(conn, request, "identifiers", "; ".join(f"{k}: {v}" for k, v in refused.items()))
            r = schema.records
            query = select(r.c.record_id, r.c.source, r.c.local_id, *[r.c[f] for f in fields]).where(r.c.source.in_(sources))
            query = query.where(_valid_at(r, as_of) if as_of is not None else r.c.valid_to.is_(None))
            if local_ids is None:
                frame = _identity_frame(conn, query)
            else:
                # One lookup per named record, each through ix_records_source_local: SQLite plans a
                # row-value IN of several pairs (or an OR of them) with ix_records_valid instead, and
                # reads every current record of the source (0.24 s for the resident register at
                # 100,000 children, against well under 1 ms per record this way).
                pairs = sorted({(str(source), str(local_id)) for source, local_id in local_ids})
                one = query.where(r.c.source == bindparam("pair_source"), r.c.local_id == bindparam("pair_local"))
                first = {"pair_source": pairs[0][0], "pair_local": pairs[0][1]} if pairs else None
                columns, rows = _fetch(conn, one if pairs else query.where(false()), first)
                for source, local_id in pairs[1:]:
                    rows.extend(_fetch(conn, one, {"pair_source": source, "pair_local": local_id})[1])
                frame = rows_frame(columns, sorted(rows, key=_record_id))
            return self._answer(conn, request, "identifiers", frame, refused, frame.height)

    def items(self, request: NodeRequest, as_of: date) -> NodeAnswer:
        allowed, refused = self._split_items(request.purpose, request.role, request.items)
        with self.vault.transaction() as conn:
            if not allowed:
                self._refuse(conn, request, "items", "; ".join(f"{k}: {v}" for k, v in refused.items()) or "項目の指定がありません / no items")
            o, lo = schema.observations, schema.loads
            item_id: ColumnElement[str] = o.c.item_id
            source: ColumnElement[str] = o.c.source
            if _mostly_asked(conn, allowed):
                # Most of the vault is asked for (a screening run's answers): read the table in obs_id
                # order instead of through the item index, whose rows SQLite then sorted into obs_id
                # order in a temporary B-tree (the schools' 4.2 million rows: 13.4 -> 8.0 CPU s).
                # ``|| ''`` leaves the text as it is and keeps the planner off the two indexes.
                item_id, source = item_id.concat(""), source.concat("")
            pairs = [and_(item_id == item, source.in_(sources)) for item, sources in allowed.items()]
            query = (
                select(o.c.source, o.c.local_id, o.c.item_id, o.c.value_text, o.c.value_num, o.c.value_bool,
                       o.c.observed_on, lo.c.export_date.label("snapshot_date"))
                .join(lo, lo.c.load_id == o.c.load_id)
                .where(or_(*pairs), _valid_at(o, as_of), o.c.observed_on <= as_of)
                .order_by(o.c.obs_id)
            )
            frame = _frame(conn, query)
            subjects = frame.select(["source", "local_id"]).unique().height if frame.height else 0
            return self._answer(conn, request, "items", frame, refused, subjects)

    def record(self, request: NodeRequest, source: str, local_id: str, as_of: date | None = None) -> NodeAnswer:
        return self._records(request, "record", [local_id], as_of)

    def records(self, request: NodeRequest, source: str, local_ids: Sequence[str],
                as_of: date | None = None) -> NodeAnswer:
        return self._records(request, "records", local_ids, as_of)

    def _records(self, request: NodeRequest, kind: RequestKind, local_ids: Sequence[str],
                 as_of: date | None) -> NodeAnswer:
        """Every released observation of each local id, in the order asked (each once), across the
        department's sources that release the items; the checks and the log entry once per request.
        Each record is read by its own index: an IN list of local ids may be planned through another
        index, as ``identifiers`` found."""
        allowed, refused = self._split_items(request.purpose, request.role, request.items)
        with self.vault.transaction() as conn:
            if not allowed and not self._identifier_sources(request.purpose, request.role):
                self._refuse(conn, request, kind, "この利用目的では提供できる情報がありません / nothing released for this purpose")
            query = _record_query(tuple(sorted({s for sources in allowed.values() for s in sources})))
            if as_of is not None:
                query = query.where(_valid_at(schema.observations, as_of))
            released = {(item, source) for item, sources in allowed.items() for source in sources}
            rows: list[tuple[object, ...]] = []
            answered = 0
            for local_id in dict.fromkeys(local_ids):
                found = [row for row in _fetch(conn, query, {"record_local_id": local_id})[1]
                         if (row[2], row[0]) in released]
                answered += 1 if found else 0
                rows.extend(found)
            frame = rows_frame(list(query.selected_columns.keys()), rows)
            return self._answer(conn, request, kind, frame, refused, answered)

    def unreadable(self, request: NodeRequest, as_of: date) -> NodeAnswer:
        # The same release as the items: an answer says a subject has a row in the source, which an
        # items answer under this purpose already shows; the row's content never leaves the vault.
        allowed, refused = self._split_items(request.purpose, request.role, request.items)
        with self.vault.transaction() as conn:
            if not allowed:
                self._refuse(conn, request, "unreadable",
                             "; ".join(f"{k}: {v}" for k, v in refused.items()) or "項目の指定がありません / no items")
            sources = sorted({s for sources in allowed.values() for s in sources})
            found = unreadable_rows(conn, sources, as_of)
            frame = _unreadable_frame(found, self._items_by_column(allowed))
            subjects = frame.filter(pl.col("local_id").is_not_null())["local_id"].n_unique() if frame.height else 0
            return self._answer(conn, request, "unreadable", frame, refused, subjects)

    def _items_by_column(self, allowed: Mapping[str, list[str]]) -> dict[str, dict[str | None, set[str]]]:
        """source -> column -> the allowed items that column feeds (its value, date or condition);
        the key None holds every allowed item of the source (a row that did not load at all)."""
        out: dict[str, dict[str | None, set[str]]] = {}
        for manifest in self.manifests:
            for mapping in manifest.items:
                if manifest.source not in allowed.get(mapping.item, ()):
                    continue
                columns = {mapping.column, *(mapping.when or {})}
                if mapping.observed_on != "export_date":  # a date column of the row, not the file's date
                    columns.add(mapping.observed_on)
                per = out.setdefault(manifest.source, {})
                for column in (None, *columns):
                    per.setdefault(column, set()).add(mapping.item)
        return out

    # -- logging ----------------------------------------------------------------------------------
    def _log(self, conn: Connection, request: NodeRequest, kind: RequestKind, subjects: int,
             outcome: str, reason: str, digest: str) -> None:
        # One statement for every log row, parameters apart: building and keying an insert().values()
        # per row cost 0.2 ms, against 0.02 ms (a dozen node calls per child page).
        conn.execute(_LOG_INSERT, {
            "at": datetime.now(UTC), "request_id": request.request_id, "requester": request.requester,
            "role": request.role, "purpose": request.purpose, "kind": kind,
            "items": json.dumps(_logged_items(request, kind), ensure_ascii=False), "subjects": subjects,
            "outcome": outcome, "reason": reason, "answer_digest": digest, "nonce": request.nonce,
        })

    def _refuse(self, conn: Connection, request: NodeRequest, kind: RequestKind, reason: str) -> None:
        self._log(conn, request, kind, 0, "refused", reason, "")
        conn.commit()
        raise NodeRefusedError(self.department, reason)

    def _answer(self, conn: Connection, request: NodeRequest, kind: RequestKind, frame: pl.DataFrame,
                refused: dict[str, str], subjects: int) -> NodeAnswer:
        digest = frame_digest(frame)
        reason = "; ".join(f"{k}: {v}" for k, v in refused.items()) if refused else "提供 / released"
        self._log(conn, request, kind, subjects, "partial" if refused else "released", reason, digest)
        return NodeAnswer(self.department, request.request_id, frame, refused, digest)


def _mostly_asked(conn: Connection, allowed: Mapping[str, list[str]]) -> bool:
    """On SQLite, whether the asked items' observations are at least half the table's rows (counted
    on the item index: a few hundredths of a second for millions of rows)."""
    if not dialect_of(conn).is_sqlite:
        return False
    o = schema.observations
    asked = conn.execute(select(func.count()).select_from(o).where(o.c.item_id.in_(sorted(allowed)))).scalar_one()
    span = conn.execute(select(func.max(o.c.obs_id) - func.min(o.c.obs_id) + 1)).scalar()
    return span is not None and 2 * int(asked) >= int(span)


def _unreadable_frame(found: Sequence[UnreadableRow], items: Mapping[str, Mapping[str | None, set[str]]],
                      ) -> pl.DataFrame:
    """Rows per (source, local_id, item_id, snapshot_date); rows whose key could not be read are counted
    under a null local_id. A flagged row counts only for the items its left-out columns feed."""
    counts: dict[tuple[str, str | None, str, date], int] = {}
    for row in found:
        by_column = items.get(row.source, {})
        if row.whole_row:
            concerned = by_column.get(None, set())
        else:
            concerned = {i for column in row.columns for i in by_column.get(column, ())}
        for item in concerned:
            key = (row.source, row.local_id, item, row.snapshot_date)
            counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2], kv[0][3]))
    return pl.DataFrame(
        [[k[0] for k, _ in ordered], [k[1] for k, _ in ordered], [k[2] for k, _ in ordered],
         [n for _, n in ordered], [k[3] for k, _ in ordered]],
        schema={"source": pl.Utf8, "local_id": pl.Utf8, "item_id": pl.Utf8, "rows": pl.Int64, "snapshot_date": pl.Date},
    )


def _frame(conn: Connection, query: Select[Any], params: Mapping[str, object] | None = None) -> pl.DataFrame:
    """Rows as a typed frame; the types do not depend on whether any row came back.

    The driver's rows are turned into columns directly, a batch at a time: SQLAlchemy's per-row
    processing and polars' row-wise construction were most of the time of a node's answer. (Reading
    them as Arrow through a second SQLite library was tried and removed: vault.columns says why.)
    """
    return _tuple_frame(conn, query, params)


def _tuple_frame(conn: Connection, query: Select[Any], params: Mapping[str, object] | None = None,
                 ) -> pl.DataFrame:
    """``_frame`` from the driver's tuples, a batch at a time."""
    result = conn.execute(query, params) if params else conn.execute(query)
    columns = list(result.keys())
    try:
        # A batch of driver rows at a time: a department's whole answer (millions of observations
        # for a screening run) as Python tuples took several times the memory of its frame.
        parts: list[pl.DataFrame] = []
        with no_cycle_collection():
            while rows := result.cursor.fetchmany(FETCH_BATCH_ROWS):
                parts.append(rows_frame(columns, list(rows)))
    finally:
        result.close()
    if len(parts) == 1:
        return parts[0]
    return pl.concat(parts, how="vertical_relaxed") if parts else rows_frame(columns, [])


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cycle collector off while driver rows become columns: the rows are millions of tuples of
    plain values (no cycles to find), and the collections their allocation set off walked every
    live object again and again — a fifth of the CPU time of a screening run's answers (4 million
    rows at 100,000 children: 28.4 -> 22.2 CPU s)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _identity_frame(conn: Connection, query: Select[Any]) -> pl.DataFrame:
    """Every identity row the query selects, in record order, as a typed frame.

    From a SQLite vault the rows come as Arrow columns (``_frame``). They came as one JSON array per
    column (``json_group_array``), decoded by polars: 1.7 -> 1.2 CPU s for the register's 283,000
    current rows at 100,000 children, the same frame.
    """
    return _frame(conn, query.order_by(schema.records.c.record_id))


def _fetch(conn: Connection, query: object, params: Mapping[str, object] | None = None,
           ) -> tuple[list[str], list[tuple[object, ...]]]:
    """Column names and the driver's raw rows (no per-row processing by SQLAlchemy)."""
    result = conn.execute(query, params) if params else conn.execute(query)  # type: ignore[call-overload]
    columns = list(result.keys())
    try:
        return columns, list(result.cursor.fetchall())
    finally:
        result.close()


def _record_id(row: tuple[object, ...]) -> int:
    record_id = row[0]  # the first column selected
    assert isinstance(record_id, int)
    return record_id


@functools.lru_cache(maxsize=256)
def _record_query(sources: tuple[str, ...]) -> Select[Any]:
    """Every observation of one record (a bound local id) in ``sources``; the caller keeps the
    released items (the first three columns are source, local_id, item_id).

    The items are filtered after the fetch, not in SQL: with an OR of (item, sources) pairs SQLite
    answered some branches through ix_observations_item and read every observation of that item
    (12 ms for a register record at 100,000 children, against well under 1 ms by the record's
    own index). Built once per set of sources: the same few sets come back on every page.
    """
    o, lo = schema.observations, schema.loads
    return (
        select(o.c.source, o.c.local_id, o.c.item_id, o.c.value_text, o.c.value_num, o.c.value_bool,
               o.c.observed_on, lo.c.export_date.label("snapshot_date"), lo.c.file_name, o.c.record_id)
        .join(lo, lo.c.load_id == o.c.load_id)
        .where(o.c.source.in_(sources), o.c.local_id == bindparam("record_local_id"))
        .order_by(o.c.observed_on, o.c.obs_id)
    )
