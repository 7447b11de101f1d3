"""An independent check of a published table: a linear programme (scipy's HiGHS) for the range a
reader can narrow each suppressed count to, from the published numbers and additivity alone.

It knows nothing of the suppression code's network: it rebuilds the equations from the table as
published (rows add up to row totals, columns to column totals, totals to the grand total).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from tsunagu.stats.tables import Cell, StatTable


@dataclass(frozen=True)
class Exposure:
    where: tuple[str, ...]
    value: int
    low: float
    high: float


def _entries(table: StatTable) -> list[tuple[tuple[str, ...], Cell]]:
    out: list[tuple[tuple[str, ...], Cell]] = []
    for i, row in enumerate(table.cells):
        out.extend((("cell", str(i), str(j)), cell) for j, cell in enumerate(row))
    out.extend((("row", str(i)), c) for i, c in enumerate(table.row_totals))
    out.extend((("col", str(j)), c) for j, c in enumerate(table.col_totals))
    if table.total is not None:
        out.append((("all",), table.total))
    return out


def _equations(table: StatTable) -> list[list[tuple[str, ...]]]:
    """Each equation as the keys that add to zero: the first key minus the rest."""
    n_rows, n_cols = len(table.rows), len(table.cols)
    eqs = [[("row", str(i)), *[("cell", str(i), str(j)) for j in range(n_cols)]] for i in range(n_rows)]
    if table.layout == "two_way":
        eqs += [[("col", str(j)), *[("cell", str(i), str(j)) for i in range(n_rows)]] for j in range(n_cols)]
        eqs.append([("all",), *[("row", str(i)) for i in range(n_rows)]])
        eqs.append([("all",), *[("col", str(j)) for j in range(n_cols)]])
    return eqs


def exposures(table: StatTable, truth: dict[tuple[str, ...], int], k: int) -> list[Exposure]:
    """Suppressed counts under k whose feasible range is a single value (empty list: safe)."""
    entries = _entries(table)
    hidden = [key for key, cell in entries if cell.suppressed]
    index = {key: n for n, key in enumerate(hidden)}
    known = {key: cell.value for key, cell in entries if not cell.suppressed}
    rows_a, rows_b = [], []
    for eq in _equations(table):
        coef = np.zeros(len(hidden))
        rhs = 0.0
        for n, key in enumerate(eq):
            sign = 1.0 if n == 0 else -1.0
            if key in index:
                coef[index[key]] += sign
            else:
                value = known[key]
                assert value is not None
                rhs -= sign * value
        if coef.any():
            rows_a.append(coef)
            rows_b.append(rhs)
        else:
            assert abs(rhs) < 1e-9, f"published numbers do not add up: {eq}"
    found = []
    for key in hidden:
        value = truth[key]
        if not 0 < value < k:
            continue
        if not rows_a:
            continue  # nothing ties it to anything: unbounded
        objective = np.zeros(len(hidden))
        objective[index[key]] = 1.0
        # The best-informed reader: every suppressed count that is not zero is at least one (zeros are
        # published, so most suppressed counts are), and the zeros suppressed as complements are known.
        bounds = [(1 if truth[h] > 0 else 0, None) for h in hidden]
        low = linprog(objective, A_eq=np.array(rows_a), b_eq=np.array(rows_b), bounds=bounds, method="highs")
        high = linprog(-objective, A_eq=np.array(rows_a), b_eq=np.array(rows_b), bounds=bounds, method="highs")
        assert low.status == 0, low.message
        top = float("inf") if high.status == 3 else -high.fun
        if top - low.fun < 0.5:
            found.append(Exposure(key, value, low.fun, top))
    return found


def truth_of(counts: list[list[int]], layout: str) -> dict[tuple[str, ...], int]:
    truth: dict[tuple[str, ...], int] = {}
    for i, row in enumerate(counts):
        for j, value in enumerate(row):
            truth[("cell", str(i), str(j))] = value
        truth[("row", str(i))] = sum(row)
    if layout == "two_way" and counts:
        for j in range(len(counts[0])):
            truth[("col", str(j))] = sum(row[j] for row in counts)
        truth[("all",)] = sum(map(sum, counts))
    return truth
