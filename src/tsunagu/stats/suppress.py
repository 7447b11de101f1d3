"""Cell suppression for published counts: primary (fewer than k children) and complementary.

A table and its totals are seen as flows in a small network, one edge per published number:

    two-way table   src ─r_i─▶ row_i ─x_ij─▶ col_j ─c_j─▶ snk ─T─▶ src
    one-way table   src ─x_i─▶ snk ─T─▶ src
    separate lines  (rows that overlap, e.g. a child in several domains, or runs of different
                     dates) each row its own one-way table: src_i ─x_ij─▶ snk_i ─r_i─▶ src_i

Every node says "what comes in goes out" — a row adds up to its total, the totals to the grand
total. A reader who knows the published numbers and that no count is negative can narrow a
suppressed count to an interval; the count can be *recomputed* exactly when that interval is one
value. From the true table (a feasible point) a suppressed edge can move iff a cycle of suppressed
edges passes through it in the residual network: forward along any suppressed edge, backward
only along one whose count is above the reader's lower bound (1: zeros are published, so the
reader may take every suppressed count for at least one child). So the check is graph
reachability, exact for integers too (the constraint matrix of a network is totally unimodular,
so the interval's ends are whole numbers).

Policy (stated in docs/statistics.md):
- primary: every count 1 … k−1, totals included, is suppressed;
- zero cells are published (a zero describes no child); they are chosen as complements only
  when a line has no other candidate;
- complementary: a line (node) with exactly one suppressed number would give it away, so the
  smallest non-zero published number of that line is suppressed too, inner cells before totals,
  repeated to a fixpoint; totals' own lines (the grand total's node) come first, so that tables
  sharing a margin publish it alike;
- the exact check then runs on every primary cell; one still recomputable gets the smallest
  non-zero published neighbour suppressed and the loop repeats. Suppressing everything is
  always safe, so the loop ends.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tsunagu.stats.errors import StatisticsInputError

DEFAULT_K = 10
# What the reader is assumed to know of every suppressed non-zero count: at least 1. Zeros are
# published, so a reader may well take any suppressed count for one child or more; the check
# assumes so (a suppressed zero complement can only move up, whatever the reader assumes).
READER_LOWER = 1
Status = Literal["published", "primary", "complementary"]
EdgeKind = Literal["cell", "total"]


@dataclass
class Edge:
    """One published number: a cell or a total, as a flow from ``tail`` to ``head``."""

    key: tuple[str, ...]
    tail: str
    head: str
    value: int
    kind: EdgeKind
    status: Status = "published"

    @property
    def suppressed(self) -> bool:
        return self.status != "published"


@dataclass
class Network:
    edges: list[Edge] = field(default_factory=list)

    def add(self, key: tuple[str, ...], tail: str, head: str, value: int, kind: EdgeKind) -> Edge:
        if value < 0:
            raise StatisticsInputError(f"負の件数は集計できません: {key} = {value}")
        edge = Edge(key, tail, head, value, kind)
        self.edges.append(edge)
        return edge

    def lines(self) -> dict[str, list[Edge]]:
        """Each node's edges: the numbers that must add up there."""
        by_node: dict[str, list[Edge]] = defaultdict(list)
        for edge in self.edges:
            by_node[edge.tail].append(edge)
            by_node[edge.head].append(edge)
        return by_node


def two_way(counts: Sequence[Sequence[int]]) -> tuple[Network, list[list[Edge]], list[Edge], list[Edge], Edge]:
    """A table with row totals, column totals and a grand total (rows and columns each partition)."""
    net = Network()
    n_cols = len(counts[0]) if counts else 0
    row_totals = [net.add(("row", str(i)), "src", f"r{i}", sum(row), "total") for i, row in enumerate(counts)]
    col_totals = [net.add(("col", str(j)), f"c{j}", "snk", sum(row[j] for row in counts), "total")
                  for j in range(n_cols)]
    grand = net.add(("all",), "snk", "src", sum(sum(row) for row in counts), "total")
    cells = [[net.add(("cell", str(i), str(j)), f"r{i}", f"c{j}", value, "cell") for j, value in enumerate(row)]
             for i, row in enumerate(counts)]
    return net, cells, row_totals, col_totals, grand


def separate_lines(counts: Sequence[Sequence[int]]) -> tuple[Network, list[list[Edge]], list[Edge]]:
    """Rows that do not add up across (overlapping groups, different runs): each row with its own total."""
    net = Network()
    totals = [net.add(("row", str(i)), f"t{i}", f"s{i}", sum(row), "total") for i, row in enumerate(counts)]
    cells = [[net.add(("cell", str(i), str(j)), f"s{i}", f"t{i}", value, "cell") for j, value in enumerate(row)]
             for i, row in enumerate(counts)]
    return net, cells, totals


def protect(net: Network, k: int = DEFAULT_K) -> None:
    """Mark primary and complementary suppressions on ``net`` in place (see the module's policy)."""
    if k < 1:
        raise StatisticsInputError("k は1以上です")
    for edge in net.edges:
        if 0 < edge.value < k:
            edge.status = "primary"
    lines = net.lines()
    margin_nodes = [node for node, edges in lines.items() if all(e.kind == "total" for e in edges)]
    _line_fixpoint(lines, margin_nodes)
    _line_fixpoint(lines, list(lines))
    while True:
        exposed = [e for e in net.edges if e.status == "primary" and not movable(net, e, READER_LOWER)]
        if not exposed:
            return
        if not _widen(lines, exposed[0], net):
            return  # nothing left to suppress (cannot happen: all suppressed is never exposed)
        _line_fixpoint(lines, list(lines))


def _candidates(edges: Iterable[Edge]) -> list[Edge]:
    """Published numbers to suppress as complements, best first: non-zero, inner cells, smallest."""
    open_ = [e for e in edges if not e.suppressed]
    return sorted(open_, key=lambda e: (e.value == 0, e.kind != "cell", e.value, e.key))


def _line_fixpoint(lines: dict[str, list[Edge]], nodes: Sequence[str]) -> None:
    changed = True
    while changed:
        changed = False
        for node in nodes:
            edges = lines[node]
            if sum(1 for e in edges if e.suppressed) == 1:
                options = _candidates(edges)
                if options:
                    options[0].status = "complementary"
                    changed = True


def _widen(lines: dict[str, list[Edge]], exposed: Edge, net: Network) -> bool:
    """Suppress one more number near an exposed cell: its lines first, then anywhere in the table."""
    for options in (_candidates(lines[exposed.tail] + lines[exposed.head]), _candidates(net.edges)):
        if options:
            options[0].status = "complementary"
            return True
    return False


def movable(net: Network, edge: Edge, lower: int = 0) -> bool:
    """Whether a reader who sees the published numbers cannot pin ``edge`` to one value.

    ``lower`` is what the reader knows every suppressed count to be at least (0: only that
    counts are not negative). True iff a residual cycle of suppressed edges passes ``edge``.
    """
    if not edge.suppressed:
        return False
    arcs: dict[str, list[str]] = defaultdict(list)
    for other in net.edges:
        if other is edge or not other.suppressed:
            continue
        arcs[other.tail].append(other.head)  # can always carry more
        if other.value > lower:
            arcs[other.head].append(other.tail)  # can carry less
    if _reaches(arcs, edge.head, edge.tail):
        return True  # more along edge, back round the cycle
    return edge.value > lower and _reaches(arcs, edge.tail, edge.head)


def _reaches(arcs: dict[str, list[str]], start: str, goal: str) -> bool:
    seen = {start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            return True
        for nxt in arcs.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return False
