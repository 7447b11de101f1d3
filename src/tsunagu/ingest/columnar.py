"""Column-wise conversion: the same result as :class:`RowConverter`, a column at a time.

Export columns repeat a lot (dates, codes, counts, addresses, even names), so every rule and
normalisation runs once per *distinct* cell value (or distinct combination of the cells an item
reads) and the per-row work left is dictionary look-ups done by ``map``. The rules themselves are
not re-implemented for speed: the per-value functions below call the row converter's own helpers
(``_typed``, ``parse_cell_date``, the identity builders) in the row converter's order.

Rows are never judged here. Any row in which some cell breaks a rule, or whose shape is unusual
(fewer cells than the header, or non-blank cells beyond it), is handed to the row converter whole,
so a quarantined or flagged row gets exactly the problems, in the order, that the row converter
gives it. The
column-wise path only has to be right about rows without problems; a false alarm costs time, not
correctness.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import methodcaller
from typing import Any, TypeVar

from tsunagu.catalog import DataItem
from tsunagu.catalog.manifest import ItemMapping
from tsunagu.ingest.convert import (
    PLAIN_IDENTIFIERS,
    ConvertedRow,
    Observation,
    RowConverter,
    Value,
    _condition,
    _fold,
    _observation,
    _typed,
    identity_settings,
    parse_cell_date,
    typed_value,
)
from tsunagu.ingest.dates import DateParseError
from tsunagu.vault.store import IDENTITY_COLUMNS

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

# An encoded observation: item_id, value_text, value_num, value_bool, observed_on, each already in
# the form the vault stores (see LoadWriter.encode).
ObservationValues = tuple[Any, ...]
Encode = Callable[[object], object]


class _Broken:
    """A cell value (or combination) that breaks a rule: its rows go to the row converter."""

    __slots__ = ()


BROKEN = _Broken()
_ABSENT = object()  # an identity builder that does not produce a key for this value

_IDENTITY_KEYS = frozenset(IDENTITY_COLUMNS)

# Joins the cells an item reads into one dictionary key (see _observations).
_SEP = "\x1f"


def _one(key: str) -> tuple[str]:
    return (key,)


def _split(key: str) -> list[str]:
    return key.split(_SEP)


def _same(key: tuple[str, ...]) -> tuple[str, ...]:
    return key


# What json.dumps(..., ensure_ascii=False) escapes; a cell without these is written as it is.
_JSON_ESCAPED = re.compile(r'[\x00-\x1f\\"]')


@dataclass
class BuiltField:
    """An identity builder's results: cell → encoded columns ({} when blank or rejected), the
    columns it has set, and the cells it rejected."""

    cache: dict[str, dict[str, object]] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    bad: set[str] = field(default_factory=set)


@dataclass
class SharedResults:
    """What converters of one run share (all with the same ``encode``): identity builder results by
    field and settings, item outcomes by source and export date, allowed-value checks by source."""

    identity: dict[Hashable, BuiltField] = field(default_factory=dict)
    items: dict[Hashable, list[dict[Any, Any]]] = field(default_factory=dict)
    allowed: dict[Hashable, dict[str, dict[str, bool]]] = field(default_factory=dict)


@dataclass
class ConvertedRows:
    """One chunk of rows: the loaded ones column by column, the quarantined ones with their problems."""

    row_numbers: list[int] = field(default_factory=list)
    local_ids: list[str] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)
    identity: dict[str, list[object]] = field(default_factory=dict)  # encoded, one list per column
    observations: list[Sequence[ObservationValues | None]] = field(default_factory=list)  # per loaded row
    # (row number, problems, raw cells, the row's key where readable: ConvertedRow.local_id / readable_local_id)
    quarantined: list[tuple[int, list[tuple[str, str, str]], str, str | None]] = field(default_factory=list)
    flagged: list[tuple[int, list[tuple[str, str, str]], str, str | None]] = field(default_factory=list)  # loaded rows


def _map_unique(column: Sequence[K], cache: dict[K, T], compute: Callable[[K], T]) -> tuple[list[T], set[K]]:
    """Values for every row, computing each distinct input once; also the distinct inputs of this column."""
    distinct = _fill(column, cache, compute)
    return list(map(cache.__getitem__, column)), distinct


def _fill(column: Sequence[K], cache: dict[K, T], compute: Callable[[K], T]) -> set[K]:
    """Compute each distinct input of the column not yet in the cache; return the column's distinct inputs."""
    distinct = set(column)
    for value in distinct.difference(cache):
        cache[value] = compute(value)
    return distinct


def _rows_with(column: Sequence[K], values: set[K]) -> Iterable[int]:
    return (i for i, v in enumerate(column) if v in values) if values else ()


def _raw_template(header: list[str]) -> tuple[str, list[int]]:
    """A %-template writing a full-width row as json.dumps(dict(zip(header, cells))) does, and the
    cell positions to fill it with: a repeated column name keeps its first place and its last value,
    as in a dict. (%-formatting is about twice as fast as str.format here.)
    """
    last = {name: i for i, name in enumerate(header)}
    keys = [json.dumps(name, ensure_ascii=False).replace("%", "%%") for name in dict.fromkeys(header)]
    return "{" + ", ".join(f'{key}: "%s"' for key in keys) + "}", [last[name] for name in dict.fromkeys(header)]


class ColumnConverter:
    """Converts the rows of one file column-wise; falls back to ``rows`` for rows with problems.

    ``encode`` turns a converted value into what the vault binds (LoadWriter.encode); it must
    return text unchanged, which lets text columns skip it. ``shared`` keeps results between the
    files of one run; it must only be shared by converters with the same ``encode`` and manifests.
    """

    def __init__(self, rows: RowConverter, encode: Encode, shared: SharedResults | None = None) -> None:
        if encode("") != "":
            raise ValueError("encode must leave text unchanged")
        self.rows = rows
        self.encode = encode
        self.width = len(rows.header)
        self._template, self._template_cells = _raw_template(rows.header)
        # Caches live for the whole file (later chunks reuse what earlier ones computed), and those
        # in ``shared`` for the run (the many files of one source repeat values, and departments
        # share names and addresses).
        self._escaped: dict[str, bool] = {}
        self._folded: dict[str, dict[str, str]] = {}  # per plain field: non-ASCII cell → _fold(cell)
        shared = shared if shared is not None else SharedResults()
        self._built_fields = shared.identity
        source = rows.manifest.source
        self._allowed = shared.allowed.setdefault(source, {})
        # An item's outcome also depends on the export date (the default observation date, the
        # catalogue's checks) and on the file's Excel date system.
        self._items: list[dict[Any, ObservationValues | _Broken | None]] = shared.items.setdefault(
            (source, rows.export_date, rows.date1904), [{} for _ in rows.items]
        )

    def convert(self, rows: Sequence[tuple[int, list[str]]]) -> ConvertedRows:
        n = len(rows)
        out = ConvertedRows()
        if n == 0:
            return out
        cell_lists = [cells for _, cells in rows]
        width = self.width
        broken: set[int] = set()
        if not all(len(cells) == width for cells in cell_lists):
            # Rows the row converter must judge: fewer cells than the header, or more that are not
            # blank. Blank cells past the header change nothing (json.dumps(dict(zip())) drops them).
            broken = {
                i for i, cells in enumerate(cell_lists)
                if len(cells) < width or (len(cells) > width and any(c.strip() for c in cells[width:]))
            }
            blank = [""] * width
            cell_lists = [blank if i in broken else c[:width] for i, c in enumerate(cell_lists)]
        columns: list[tuple[str, ...]] = list(zip(*cell_lists, strict=True))
        local_ids = self._local_ids(columns, broken)
        identity = self._identities(columns, broken)
        self._check_allowed(columns, broken)
        observations = self._observations(columns, broken)
        raws = self._raws(columns, [cells for _, cells in rows])
        keep = [True] * n
        for i in sorted(broken):
            number, cells = rows[i]
            result = self.rows.convert(cells)
            if isinstance(result, ConvertedRow):  # loaded by the row converter, maybe with flagged values
                self._take_row(result, i, local_ids, raws, identity, observations)
                if result.flags:
                    out.flagged.append((number, [(p.column, p.value, p.rule) for p in result.flags], "\t".join(cells),
                                        result.local_id))
            else:
                keep[i] = False
                out.quarantined.append((number, [(p.column, p.value, p.rule) for p in result], "\t".join(cells),
                                        self.rows.readable_local_id(cells, result)))
        out.row_numbers = list(compress((number for number, _ in rows), keep))
        out.local_ids = list(compress(local_ids, keep))
        out.raws = list(compress(raws, keep))
        out.identity = {key: list(compress(values, keep)) for key, values in identity.items()}
        out.observations = list(compress(observations, keep))
        return out

    def _column(self, columns: list[tuple[str, ...]], name: str) -> tuple[str, ...]:
        return columns[self.rows.index[name]]

    def _local_ids(self, columns: list[tuple[str, ...]], broken: set[int]) -> list[str]:
        parts = []
        for name in self.rows.manifest.local_id:
            stripped = list(map(str.strip, self._column(columns, name)))  # mostly distinct: no cache
            if not "".join(stripped).isascii():  # as the row converter: width-folded (NFKC is the identity on ASCII)
                stripped = [v if v.isascii() else _fold(v) for v in stripped]
            if "" in stripped:
                broken.update(i for i, v in enumerate(stripped) if not v)
            parts.append(stripped)
        return parts[0] if len(parts) == 1 else list(map(":".join, zip(*parts, strict=True)))

    def _identities(self, columns: list[tuple[str, ...]], broken: set[int]) -> dict[str, list[object]]:
        """Identity columns as the row converter fills its dict: field by field, a later field winning a key."""
        identity: dict[str, list[object]] = {}
        null = self.encode(None)
        for fieldname, name in self.rows.manifest.identifiers.items():
            column = self._column(columns, name)
            produced = self._plain(fieldname, column) if fieldname in PLAIN_IDENTIFIERS else (
                self._built(fieldname, column, broken)
            )
            for key, values, has_absent in produced:
                if not has_absent:
                    identity[key] = values
                elif key not in identity:
                    identity[key] = [null if v is _ABSENT else v for v in values]
                else:  # an earlier field's value stays where this field does not set the key
                    identity[key] = [old if v is _ABSENT else v for old, v in zip(identity[key], values, strict=True)]
        return identity

    def _plain(self, fieldname: str, column: tuple[str, ...]) -> list[tuple[str, list[object], bool]]:
        """A field the row converter stores as _fold(text): mostly distinct values, so no cache for ASCII.

        NFKC leaves ASCII unchanged and the text is already stripped, so for ASCII _fold is the identity.
        """
        stripped = list(map(str.strip, column))
        values: list[object] = list(stripped)
        if not "".join(stripped).isascii():
            cache = self._folded.setdefault(fieldname, {})
            _fill([v for v in stripped if not v.isascii()], cache, _fold)
            values = [v if v.isascii() else cache[v] for v in stripped]
        if "" not in stripped:
            return [(fieldname, values, False)]
        return [(fieldname, [v if text else _ABSENT for v, text in zip(values, stripped, strict=True)], True)]

    def _built(self, fieldname: str, column: tuple[str, ...], broken: set[int]) -> list[tuple[str, list[object], bool]]:
        """A field through its identity builder, once per distinct value; _ABSENT where it sets no key.

        Every cell maps to a dict of encoded columns (empty when blank), so each column is taken out
        with ``map`` over the rows, without Python code per row.
        """
        build = self.rows._identity[fieldname]
        encode = self.encode
        shared_key = (fieldname, identity_settings(self.rows.manifest, fieldname, self.rows.export_date,
                                                   self.rows.date1904))
        if shared_key not in self._built_fields:
            self._built_fields[shared_key] = BuiltField()
        results_so_far = self._built_fields[shared_key]
        cache, keys, bad = results_so_far.cache, results_so_far.keys, results_so_far.bad

        def outcome(raw: str) -> dict[str, object]:
            text = raw.strip()
            if not text:
                return {}
            try:
                built = build(text)
            except ValueError:
                bad.add(raw)
                return {}
            encoded = {k: v if v.__class__ is str else encode(v) for k, v in built.items() if k in _IDENTITY_KEYS}
            keys.update(encoded)
            return encoded

        distinct = _fill(column, cache, outcome)
        broken.update(_rows_with(column, bad.intersection(distinct)))
        found = list(map(cache.__getitem__, column))
        results: list[tuple[str, list[object], bool]] = []
        for column_name in IDENTITY_COLUMNS:
            if column_name in keys:  # set by this field somewhere before (maybe not in this chunk: then NULL)
                values = list(map(methodcaller("get", column_name, _ABSENT), found))
                results.append((column_name, values, _ABSENT in values))
        return results

    def _check_allowed(self, columns: list[tuple[str, ...]], broken: set[int]) -> None:
        for name, allowed in self.rows.manifest.allowed_values.items():

            def ok(raw: str, allowed: list[str] = allowed) -> bool:
                text = _fold(raw)
                return not text or text in allowed

            cache = self._allowed.setdefault(name, {})
            column = self._column(columns, name)
            distinct = _fill(column, cache, ok)
            broken.update(_rows_with(column, {v for v in distinct if not cache[v]}))

    def _observations(self, columns: list[tuple[str, ...]], broken: set[int]) -> list[Sequence[ObservationValues | None]]:
        per_item: list[list[ObservationValues | _Broken | None]] = []
        for (mapping, item), cache in zip(self.rows.items, self._items, strict=True):
            names = [mapping.column, *(mapping.when or {})]
            if mapping.observed_on != "export_date":
                names.append(mapping.observed_on)
            cells = [self._column(columns, c) for c in names]
            keys: Sequence[Any]
            split: Callable[[Any], Sequence[str]]
            if len(cells) == 1:
                keys, split = cells[0], _one
            elif not any(_SEP in "".join(c) for c in cells):
                # One string per row hashes once and compares fast (tuples are several times slower);
                # the separator occurs in no cell, so splitting gives the cells back exactly.
                keys, split = list(map(_SEP.join, zip(*cells, strict=True))), _split
            else:
                keys, split = list(zip(*cells, strict=True)), _same

            def outcome(key: Any, mapping: ItemMapping = mapping, item: DataItem = item,
                        split: Callable[[Any], Sequence[str]] = split) -> ObservationValues | _Broken | None:
                return self._item_outcome(mapping, item, split(key))

            values, distinct = _map_unique(keys, cache, outcome)
            broken.update(_rows_with(keys, {k for k in distinct if cache[k] is BROKEN}))
            per_item.append(values)
        if not per_item:
            return [()] * len(columns[0])
        # Broken entries only occur in broken rows, which the row converter redoes.
        return list(zip(*per_item, strict=True))

    def _item_outcome(self, mapping: ItemMapping, item: DataItem, cells: Sequence[str]) -> ObservationValues | _Broken | None:
        """RowConverter._observations for one item, on the cells it reads (value, conditions, date)."""
        text = cells[0].strip()
        when = mapping.when or {}
        date1904 = self.rows.date1904
        if when and not all(_condition(c.strip(), want) for c, want in zip(cells[1:], when.values(), strict=False)):
            if text and mapping.present_means is None:
                try:
                    _typed(item, text, mapping, date1904)
                except (ValueError, DateParseError):
                    return BROKEN
            return None
        value: Value
        if not text:
            if mapping.blank_means is None:
                return self._date_alone(mapping, cells)
            value = mapping.blank_means
        else:
            try:
                value = typed_value(item, text, mapping, self.rows.export_date, date1904)
            except (ValueError, DateParseError):
                return BROKEN
        observed_on = self.rows.export_date
        if mapping.observed_on != "export_date":
            when_text = cells[-1].strip()
            if not when_text:
                return BROKEN
            try:
                observed_on = parse_cell_date(when_text, mapping.observed_style or self.rows.manifest.date_style,
                                              date1904)
            except DateParseError:
                return BROKEN
        return self._encoded(_observation(item.id, value, observed_on))

    def _date_alone(self, mapping: ItemMapping, cells: Sequence[str]) -> _Broken | None:
        """RowConverter._check_date_alone: no value to record, but a broken date breaks the row."""
        if mapping.observed_on == "export_date" or not cells[-1].strip():
            return None
        try:
            parse_cell_date(cells[-1].strip(), mapping.observed_style or self.rows.manifest.date_style,
                            self.rows.date1904)
        except DateParseError:
            return BROKEN
        return None

    def _encoded(self, o: Observation) -> ObservationValues:
        e = self.encode
        return (o.item_id, e(o.value_text), e(o.value_num), e(o.value_bool), e(o.observed_on))

    def _raws(self, columns: list[tuple[str, ...]], originals: list[list[str]]) -> list[str]:
        """The row as json.dumps writes it; rows with cells that need escaping go through json.dumps."""
        raws = list(map(self._template.__mod__, zip(*(columns[i] for i in self._template_cells), strict=True)))
        if _JSON_ESCAPED.search(",".join(map(",".join, columns))) is None:
            return raws  # the common case: no cell needs escaping
        special: set[int] = set()
        for column in columns:
            distinct = _fill(column, self._escaped, lambda v: _JSON_ESCAPED.search(v) is not None)
            special.update(_rows_with(column, {v for v in distinct if self._escaped[v]}))
        header = self.rows.header
        for i in special:
            raws[i] = json.dumps(dict(zip(header, originals[i], strict=False)), ensure_ascii=False)
        return raws

    def _take_row(self, row: ConvertedRow, i: int, local_ids: list[str], raws: list[str],
                  identity: dict[str, list[object]], observations: list[Sequence[ObservationValues | None]]) -> None:
        """Put a row the row converter loaded in place of the column-wise values at position ``i``."""
        encode = self.encode
        local_ids[i] = row.local_id
        raws[i] = row.raw
        for key in IDENTITY_COLUMNS:
            if key in row.identity and key not in identity:
                identity[key] = [encode(None)] * len(local_ids)
        for key, values in identity.items():
            values[i] = encode(row.identity.get(key))
        observations[i] = tuple(self._encoded(o) for o in row.observations)
