"""Published tables: counts after suppression, the one shape the command, page, CSV, Excel and PDF share.

A published table never says which suppressed cells were small and which were suppressed to
protect them: both are shown as 秘匿, so a reader cannot tell a cell is under k from its mark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tsunagu.stats.errors import StatisticsInputError
from tsunagu.stats.suppress import DEFAULT_K, Edge, protect, separate_lines, two_way

Layout = Literal["two_way", "lines"]
SUPPRESSED_MARK = "秘匿"


@dataclass(frozen=True)
class Cell:
    value: int | None  # None: suppressed
    status: str = "published"  # kept for tests and the audit, never published

    @property
    def suppressed(self) -> bool:
        return self.value is None

    def text(self) -> str:
        return SUPPRESSED_MARK if self.value is None else f"{self.value:,}"

    def public(self) -> dict[str, Any]:
        return {"value": self.value, "suppressed": self.value is None}


@dataclass
class StatTable:
    id: str
    title: str
    row_title: str
    col_title: str
    rows: list[str]
    cols: list[str]
    layout: Layout
    cells: list[list[Cell]]
    row_totals: list[Cell]
    col_totals: list[Cell] = field(default_factory=list)
    total: Cell | None = None
    note: str = ""
    chart: str = "bar"  # bar / line / multiples / none

    def public(self) -> dict[str, Any]:
        """The table as the command's --json and the page's JSON print it."""
        return {
            "id": self.id, "title": self.title, "row_title": self.row_title, "column_title": self.col_title,
            "rows": self.rows, "columns": self.cols, "layout": self.layout, "note": self.note,
            "cells": [[c.public() for c in row] for row in self.cells],
            "row_totals": [c.public() for c in self.row_totals],
            "column_totals": [c.public() for c in self.col_totals],
            "total": self.total.public() if self.total is not None else None,
        }

    def suppressed_count(self) -> int:
        every = [c for row in self.cells for c in row] + self.row_totals + self.col_totals
        return sum(1 for c in every if c.suppressed) + (1 if self.total is not None and self.total.suppressed else 0)


def _cell(edge: Edge) -> Cell:
    return Cell(None if edge.suppressed else edge.value, edge.status)


EntryKey = tuple[str, frozenset[str]]  # (population, {"dimension=value", …}): the number's meaning


@dataclass
class Spec:
    """A table to publish: counts of children, and what each number means.

    ``population`` names the children counted (e.g. ``listed@<run>``). When ``row_populations``
    is given (rows are different runs) each row is its own population. Numbers with the same
    meaning in two tables (the same total, say) are suppressed alike (see ``publish_all``).
    """

    id: str
    title: str
    row_title: str
    col_title: str
    rows: list[str]
    cols: list[str]
    counts: list[list[int]]
    population: str
    row_dim: str
    col_dim: str
    layout: Layout = "two_way"
    row_populations: list[str] | None = None
    note: str = ""
    chart: str = "bar"

    def keyed_network(self, forced: set[EntryKey]) -> tuple[list[tuple[EntryKey, Edge]], Any]:
        if any(len(row) != len(self.cols) for row in self.counts) or len(self.counts) != len(self.rows):
            raise StatisticsInputError(f"{self.id}: 行・列の数が件数と合いません")
        r = [f"{self.row_dim}={v}" for v in self.rows]
        c = [f"{self.col_dim}={v}" for v in self.cols]
        keyed: list[tuple[EntryKey, Edge]] = []
        if self.layout == "two_way":
            net, cells, row_totals, col_totals, grand = two_way(self.counts)
            keyed += [((self.population, frozenset({r[i], c[j]})), e) for i, row in enumerate(cells) for j, e in enumerate(row)]
            keyed += [((self.population, frozenset({r[i]})), e) for i, e in enumerate(row_totals)]
            keyed += [((self.population, frozenset({c[j]})), e) for j, e in enumerate(col_totals)]
            keyed.append(((self.population, frozenset()), grand))
            built: Any = (cells, row_totals, col_totals, grand)
        else:
            net, cells, totals = separate_lines(self.counts)
            pops = self.row_populations
            for i, row in enumerate(cells):
                pop, base = (pops[i], frozenset[str]()) if pops else (self.population, frozenset({r[i]}))
                keyed += [((pop, base | {c[j]}), e) for j, e in enumerate(row)]
                keyed.append(((pop, base), totals[i]))
            built = (cells, totals)
        for key, edge in keyed:
            if key in forced:
                edge.status = "complementary"
        return keyed, (net, built)

    def table(self, built: Any) -> StatTable:
        if self.layout == "two_way":
            cells, row_totals, col_totals, grand = built
            return StatTable(self.id, self.title, self.row_title, self.col_title, self.rows, self.cols, self.layout,
                             [[_cell(e) for e in row] for row in cells], [_cell(e) for e in row_totals],
                             [_cell(e) for e in col_totals], _cell(grand), self.note, self.chart)
        cells, totals = built
        return StatTable(self.id, self.title, self.row_title, self.col_title, self.rows, self.cols, self.layout,
                         [[_cell(e) for e in row] for row in cells], [_cell(e) for e in totals], note=self.note,
                         chart=self.chart)


def publish_all(specs: Sequence[Spec], k: int = DEFAULT_K) -> list[StatTable]:
    """Suppress every table, then make numbers that mean the same suppressed in every table that
    shows them, protecting again until nothing changes (suppression only grows, so this ends).

    Without this a total suppressed in one table as a complement could be read in another.
    """
    forced: set[EntryKey] = set()
    while True:
        built = []
        hidden: set[EntryKey] = set()
        for spec in specs:
            keyed, (net, parts) = spec.keyed_network(forced)
            protect(net, k)
            hidden |= {key for key, edge in keyed if edge.suppressed}
            built.append(parts)
        if hidden <= forced:
            return [spec.table(parts) for spec, parts in zip(specs, built, strict=True)]
        forced |= hidden


def publish(table_id: str, title: str, row_title: str, col_title: str, rows: Sequence[str], cols: Sequence[str],
            counts: Sequence[Sequence[int]], *, k: int = DEFAULT_K, layout: Layout = "two_way", note: str = "",
            chart: str = "bar") -> StatTable:
    """One table on its own (``publish_all`` for tables that share numbers).

    ``two_way``: every child in exactly one row and one column (totals add up both ways).
    ``lines``: each row stands alone (a child may be in several rows, or rows are different runs).
    """
    spec = Spec(table_id, title, row_title, col_title, list(rows), list(cols), [list(r) for r in counts], table_id,
                "row", "col", layout, note=note, chart=chart)
    return publish_all([spec], k)[0]


def share(part: Cell, whole: Cell) -> float | None:
    """A proportion shown only when both counts are published (a share of a suppressed count is one too)."""
    if part.value is None or whole.value is None or whole.value == 0:
        return None
    return part.value / whole.value


WIDE = 8  # more columns than this are shown turned (a column per run, a row per school)


@dataclass(frozen=True)
class Grid:
    """A table as shown: header, labelled rows of cells, and a bold totals row if there is one."""

    header: list[str]
    rows: list[tuple[str, list[Cell]]]
    totals: tuple[str, list[Cell]] | None


def grid(table: StatTable) -> Grid:
    if table.layout == "lines" and len(table.cols) > WIDE:
        # Rows that stand alone (runs) with many columns (schools): one column per run, the runs' totals last.
        rows = [(col, [row[j] for row in table.cells]) for j, col in enumerate(table.cols)]
        return Grid([table.col_title, *table.rows], rows, ("計", list(table.row_totals)))
    rows = [(label, [*cells, total]) for label, cells, total in zip(table.rows, table.cells, table.row_totals, strict=True)]
    totals = ("計", [*table.col_totals, table.total]) if table.col_totals and table.total is not None else None
    return Grid([table.row_title, *table.cols, "計"], rows, totals)


def single_row_turned(table: StatTable) -> StatTable:
    """A one-row table as one bar per column (a chart of one run's schools)."""
    cells = [[row[0]] for row in zip(*table.cells, strict=True)]
    return StatTable(table.id, table.title, table.col_title, table.row_title, list(table.cols), [table.rows[0]], "lines",
                     cells, [c[0] for c in cells], chart="bar")


@dataclass(frozen=True)
class ShareTable:
    """Proportions derived from two published tables (shown only where both counts are published)."""

    id: str
    title: str
    row_title: str
    rows: list[str]
    cols: list[str]
    values: list[list[float | None]]

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "row_title": self.row_title, "rows": self.rows,
                "columns": self.cols, "values": self.values}


def percent(value: float | None) -> str:
    return SUPPRESSED_MARK if value is None else f"{value * 100:.1f}%"


def listed_shares(listed: StatTable, screened: StatTable) -> ShareTable:
    """Listed share by group (columns of both tables) and run (rows), plus the whole town, turned for reading."""
    groups = ["市全体", *listed.cols]
    values = [[share(listed.row_totals[i], screened.row_totals[i]) for i in range(len(listed.rows))]]
    values += [[share(listed.cells[i][j], screened.cells[i][j]) for i in range(len(listed.rows))]
               for j in range(len(listed.cols))]
    return ShareTable("listed_share", "支援候補の割合の推移（スクリーニング対象に占める割合。実行ごと・学校別）",
                      listed.col_title, groups, list(listed.rows), values)
