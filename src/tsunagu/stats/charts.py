"""Charts of published tables as plain shapes, drawn once and rendered twice: inline SVG for the
page (``web.charts.stats_svg``) and reportlab drawings for the PDF. Only published numbers are
drawn; what suppression hides in a row is one grey 秘匿分 segment (total minus the published
cells — which the table itself already tells), never a suppressed cell's own value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tsunagu.stats.tables import Cell, StatTable, single_row_turned

PALETTE = ("#1d4f91", "#d9822b", "#2f8f5b", "#8e44ad", "#c0392b", "#5d6d7e", "#16a085", "#7f6000")
HIDDEN = "#b8bec6"
INK = "#1f2933"
GRID = "#d5d9de"
WIDTH = 760


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    tip: str = ""


@dataclass(frozen=True)
class Line:
    points: tuple[tuple[float, float], ...]
    stroke: str
    width: float = 1.0


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: float = 11
    anchor: str = "start"  # start / middle / end
    fill: str = INK


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    fill: str
    tip: str = ""


@dataclass
class Chart:
    title: str
    width: float
    height: float
    shapes: list[Rect | Line | Text | Dot] = field(default_factory=list)
    description: str = ""


def chart_for(table: StatTable) -> Chart | None:
    """The table's chart, or None when there is nothing published to draw (all hidden, or all zero)."""
    if table.chart == "none" or not table.rows or not table.cols:
        return None
    cells_shown = any(c.value for row in table.cells for c in row)
    if not cells_shown:
        # Only totals left to draw (the split hidden): bars of the totals, or nothing at all.
        return stacked_bars(table) if any(t.value for t in table.row_totals) else None
    if table.chart == "line" and len(table.rows) > 1:
        return lines(table)
    if table.chart == "multiples":
        return multiples(table) if len(table.rows) > 1 else stacked_bars(single_row_turned(table), legend=False)
    return stacked_bars(table)


def _legend(chart: Chart, names: list[str], y: float, hidden: bool) -> float:
    x = 8.0
    entries = [(n, PALETTE[i % len(PALETTE)]) for i, n in enumerate(names)] + ([("秘匿分", HIDDEN)] if hidden else [])
    for name, colour in entries:
        step = 22 + 12 * len(name)
        if x + step > chart.width:
            x, y = 8.0, y + 18
        chart.shapes.append(Rect(x, y - 10, 12, 12, colour))
        chart.shapes.append(Text(x + 16, y, name, 11))
        x += step
    return y + 18


def stacked_bars(table: StatTable, legend: bool = True, unit: str = "") -> Chart:
    # Room for the longest label (a full-width character is about one font size wide).
    label_w, bar_h, gap = min(340.0, 16.0 + 11.5 * max((len(r) for r in table.rows), default=4)), 16.0, 8.0
    top = 10.0
    chart = Chart(table.title, WIDTH, 0)
    totals = [t.value if t.value is not None else sum(c.value or 0 for c in row) for t, row in
              zip(table.row_totals, table.cells, strict=True)]
    scale = (WIDTH - label_w - 70) / max(1, max(totals, default=1))
    hidden_any = False
    described = []
    for i, (label, row, total) in enumerate(zip(table.rows, table.cells, table.row_totals, strict=True)):
        y = top + i * (bar_h + gap)
        chart.shapes.append(Text(label_w - 8, y + bar_h - 3, label, 11, "end"))
        x = label_w
        for j, cell in enumerate(row):
            if cell.value:
                w = cell.value * scale
                chart.shapes.append(Rect(x, y, w, bar_h, PALETTE[j % len(PALETTE)], f"{label} {table.cols[j]} {cell.value:,}"))
                x += w
        rest = (total.value - sum(c.value or 0 for c in row)) if total.value is not None else 0
        if rest > 0:
            hidden_any = True
            chart.shapes.append(Rect(x, y, rest * scale, bar_h, HIDDEN, f"{label} 秘匿分"))
            x += rest * scale
        chart.shapes.append(Text(x + 4, y + bar_h - 3, total.text() + unit, 10))
        described.append(f"{label} {total.text()}")
    y = top + len(table.rows) * (bar_h + gap) + 16
    chart.height = (_legend(chart, table.cols, y, hidden_any) if legend else y) + 4
    chart.description = "、".join(described)
    return chart


def _plot_frame(chart: Chart, x0: float, y0: float, w: float, h: float, peak: int, labels: list[str],
                size: float = 10) -> None:
    for frac in (0.0, 0.5, 1.0):
        y = y0 + h - h * frac
        chart.shapes.append(Line(((x0, y), (x0 + w, y)), GRID))
        chart.shapes.append(Text(x0 - 4, y + 4, f"{round(peak * frac):,}", size, "end"))
    for i, label in enumerate(labels):
        x = x0 + (w * i / max(1, len(labels) - 1) if len(labels) > 1 else w / 2)
        chart.shapes.append(Text(x, y0 + h + 14, label, size, "middle"))


def _series(chart: Chart, x0: float, y0: float, w: float, h: float, peak: int, values: list[int | None],
            colour: str, name: str, labels: list[str], radius: float = 4) -> None:
    points: list[tuple[float, float]] = []
    n = len(values)
    for i, value in enumerate(values):
        x = x0 + (w * i / max(1, n - 1) if n > 1 else w / 2)
        if value is None:  # suppressed: a gap, not a zero
            if len(points) > 1:
                chart.shapes.append(Line(tuple(points), colour, 2.5))
            points = []
            continue
        y = y0 + h - h * value / max(1, peak)
        points.append((x, y))
        chart.shapes.append(Dot(x, y, radius, colour, f"{name} {labels[i]} {value:,}"))
    if len(points) > 1:
        chart.shapes.append(Line(tuple(points), colour, 2.5))


def lines(table: StatTable) -> Chart:
    chart = Chart(table.title, WIDTH, 0)
    x0, y0, w, h = 70.0, 12.0, WIDTH - 110.0, 180.0
    labels = [r.replace(" 実行", "") for r in table.rows]
    peak = max((c.value or 0 for row in table.cells for c in row), default=0)
    _plot_frame(chart, x0, y0, w, h, peak, labels)
    for j, col in enumerate(table.cols):
        _series(chart, x0, y0, w, h, peak, [row[j].value for row in table.cells], PALETTE[j % len(PALETTE)], col, labels)
    bottom = _legend(chart, table.cols, y0 + h + 40, False)
    if any(c.value is None for row in table.cells for c in row):
        chart.shapes.append(Text(8, bottom, "線が途切れている所は秘匿です。", 11))
        bottom += 18
    chart.height = bottom + 4
    chart.description = "。".join(f"{col}: " + "、".join(f"{labels[i]} {row[j].text()}" for i, row in enumerate(table.cells))
                                 for j, col in enumerate(table.cols))
    return chart


def multiples(table: StatTable, per_row: int = 4) -> Chart:
    """One small line chart per column (a school, a band) over the rows (the runs), on one scale."""
    chart = Chart(table.title, WIDTH, 0)
    panel_w, panel_h, pad = WIDTH / per_row, 120.0, 10.0
    labels = [r.replace(" 実行", "")[5:] for r in table.rows]  # MM-DD: room is short in a panel
    peak = max((c.value or 0 for row in table.cells for c in row), default=0)
    for j, col in enumerate(table.cols):
        px, py = (j % per_row) * panel_w, (j // per_row) * (panel_h + 40)
        chart.shapes.append(Text(px + panel_w / 2, py + 14, col, 11, "middle"))
        x0, y0, w, h = px + 40, py + 24, panel_w - 40 - 2 * pad, panel_h - 40
        _plot_frame(chart, x0, y0, w, h, peak, labels, 9)
        _series(chart, x0, y0, w, h, peak, [row[j].value for row in table.cells], PALETTE[0], col, labels, 3)
    rows = (len(table.cols) + per_row - 1) // per_row
    chart.height = rows * (panel_h + 40)
    chart.description = "。".join(f"{col}: " + "、".join(f"{table.rows[i]} {row[j].text()}" for i, row in enumerate(table.cells))
                                 for j, col in enumerate(table.cols))
    return chart


def cost_chart(names: list[str], costs: list[int | None], year: int | None) -> Chart | None:
    """Cost per child reached by programme (yen); programmes whose figure is not shown are left out."""
    shown = [(n, c) for n, c in zip(names, costs, strict=True) if c is not None]
    if not shown:
        return None
    table = StatTable("budget_cost", f"{year}年度 利用した子ども1人あたりの費用（円）", "事業", "費用", [n for n, _c in shown],
                      ["利用した子ども1人あたりの費用（円）"], "lines", [[Cell(c)] for _n, c in shown],
                      [Cell(c) for _n, c in shown])
    chart = stacked_bars(table, legend=False, unit="円")
    chart.description = "、".join(f"{n} {c:,}円" for n, c in shown)
    return chart
