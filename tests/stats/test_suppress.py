"""Suppression: hand-made tables with known answers, then random tables checked by a linear programme."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stats.oracle import exposures, truth_of
from tsunagu.stats.suppress import movable, protect, separate_lines, two_way
from tsunagu.stats.tables import publish


def _table(counts: list[list[int]], k: int = 10, layout: str = "two_way"):  # type: ignore[no-untyped-def]
    rows = [f"r{i}" for i in range(len(counts))]
    cols = [f"c{j}" for j in range(len(counts[0]))]
    return publish("t", "t", "行", "列", rows, cols, counts, k=k, layout=layout)  # type: ignore[arg-type]


def test_a_small_cell_and_its_complement_in_each_line() -> None:
    table = _table([[3, 20, 30], [40, 50, 60], [25, 35, 45]])
    assert table.cells[0][0].status == "primary"
    # Row 0 and column 0 each need a second suppressed cell; the smallest others are 20 and 25,
    # and the corner (1..2, 1..2) closes the rectangle.
    hidden = {(i, j) for i, row in enumerate(table.cells) for j, c in enumerate(row) if c.suppressed}
    assert (0, 0) in hidden and len(hidden) >= 4
    assert all(sum(1 for j in range(3) if (i, j) in hidden) != 1 for i in range(3))
    assert all(sum(1 for i in range(3) if (i, j) in hidden) != 1 for j in range(3))
    assert table.total is not None and table.total.value == 308
    assert exposures(table, truth_of([[3, 20, 30], [40, 50, 60], [25, 35, 45]], "two_way"), 10) == []


def test_a_total_under_k_is_suppressed_and_protected_by_another_total() -> None:
    counts = [[2, 3], [30, 40], [50, 60]]
    table = _table(counts)
    assert table.row_totals[0].suppressed  # 5 < 10
    assert sum(1 for c in table.row_totals if c.suppressed) >= 2  # otherwise the grand total gives it away
    assert exposures(table, truth_of(counts, "two_way"), 10) == []


def test_zero_cells_are_published() -> None:
    table = _table([[0, 15], [12, 0]])
    assert table.cells[0][0].value == 0 and table.cells[1][1].value == 0


def test_a_reader_who_takes_suppressed_counts_for_at_least_one_cannot_pin_a_one() -> None:
    # Row 0 is 1, 1, 30: the line rule hides the two 1s, and x + y = 2 with x, y >= 1 gives x = y = 1.
    # The exact check sees it and hides more, until a cycle can move the 1.
    counts = [[1, 1, 30], [40, 50, 60]]
    net, cells, *_ = two_way(counts)
    protect(net, 10)
    assert movable(net, cells[0][0], lower=1) and movable(net, cells[0][1], lower=1)
    assert sum(e.suppressed for row in cells for e in row) > 2
    assert exposures(_table(counts), truth_of(counts, "two_way"), 10) == []


def test_separate_lines_protect_each_row_on_its_own() -> None:
    counts = [[4, 30, 25], [11, 12, 13]]
    table = _table(counts, layout="lines")
    assert table.cells[0][0].suppressed and sum(c.suppressed for c in table.cells[0]) >= 2
    assert not any(c.suppressed for c in table.cells[1])
    assert table.col_totals == [] and table.total is None
    assert exposures(table, truth_of(counts, "lines"), 10) == []


def test_a_one_row_line_under_k_everywhere() -> None:
    net, cells, totals = separate_lines([[1, 2]])
    protect(net, 10)
    assert all(e.suppressed for e in cells[0]) and totals[0].suppressed


def test_negative_counts_and_k_below_one_are_refused() -> None:
    with pytest.raises(ValueError):
        _table([[-1, 2]])
    with pytest.raises(ValueError):
        _table([[1, 2]], k=0)


counts_strategy = st.integers(1, 5).flatmap(lambda n_rows: st.integers(1, 5).flatmap(lambda n_cols: st.lists(
    st.lists(st.one_of(st.integers(0, 12), st.integers(0, 60)), min_size=n_cols, max_size=n_cols),
    min_size=n_rows, max_size=n_rows)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=counts_strategy, k=st.integers(2, 12), layout=st.sampled_from(["two_way", "lines"]))
def test_no_published_table_lets_a_small_cell_be_recomputed(counts: list[list[int]], k: int, layout: str) -> None:
    table = _table(counts, k=k, layout=layout)
    truth = truth_of(counts, layout)
    published = [c for row in table.cells for c in row] + table.row_totals + table.col_totals
    assert all(c.value is None or not 0 < c.value < k for c in published)  # every small count hidden
    for i, row in enumerate(table.cells):  # and every published count true
        for j, cell in enumerate(row):
            assert cell.value is None or cell.value == counts[i][j]
    assert exposures(table, truth, k) == []
