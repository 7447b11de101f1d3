"""Published tables: counts after suppression, the one shape the command, page, CSV, Excel and PDF share.

A published table never says which suppressed cells were small and which were suppressed to
protect them: both are shown as 秘匿, so a reader cannot tell a cell is under k from its mark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

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


def publish(table_id: str, title: str, row_title: str, col_title: str, rows: Sequence[str], cols: Sequence[str],
            counts: Sequence[Sequence[int]], *, k: int = DEFAULT_K, layout: Layout = "two_way", note: str = "",
            chart: str = "bar") -> StatTable:
    """Suppress ``counts`` (rows × cols of children) and return the table to publish.

    ``two_way``: every child in exactly one row and one column (totals add up both ways).
    ``lines``: each row stands alone (a child may be in several rows, or rows are different runs).
    """
    if any(len(row) != len(cols) for row in counts) or len(counts) != len(rows):
        raise ValueError(f"{table_id}: 行・列の数が件数と合いません")
    if layout == "two_way":
        net, cells, row_totals, col_totals, grand = two_way(counts)
        protect(net, k)
        return StatTable(table_id, title, row_title, col_title, list(rows), list(cols), layout,
                         [[_cell(e) for e in row] for row in cells], [_cell(e) for e in row_totals],
                         [_cell(e) for e in col_totals], _cell(grand), note, chart)
    net, cells, totals = separate_lines(counts)
    protect(net, k)
    return StatTable(table_id, title, row_title, col_title, list(rows), list(cols), layout,
                     [[_cell(e) for e in row] for row in cells], [_cell(e) for e in totals], note=note, chart=chart)


def share(part: Cell, whole: Cell) -> float | None:
    """A proportion shown only when both counts are published (a share of a suppressed count is one too)."""
    if part.value is None or whole.value is None or whole.value == 0:
        return None
    return part.value / whole.value
