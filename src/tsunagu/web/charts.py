"""The trend chart as inline SVG (no script, no external asset), with a text alternative."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import date
from html import escape

from markupsafe import Markup

from tsunagu.stats.charts import GRID, PALETTE, Dot, Line, Rect, Text
from tsunagu.stats.charts import Chart as StatsChart
from tsunagu.work.child import TimelineEntry, TrendPoint
from tsunagu.work.history import RunPoint

TIER_COLOURS = {"重点支援": "#8a1c1c", "予防的支援": "#b06a00", "見守り": "#0b4a8b"}

LEVELS = ("対象外", "見守り", "予防的支援", "重点支援")  # bottom to top
WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 96, 48, 16, 40  # room for the date labels at both ends


def trend_svg(points: Sequence[TrendPoint], title: str = "支援区分の推移") -> Markup:
    if not points:
        return Markup("")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(points) - 1)

    def y(tier: str) -> float:
        level = LEVELS.index(tier) if tier in LEVELS else 0
        return TOP + plot_h - plot_h * level / (len(LEVELS) - 1)

    coords = [(LEFT + (i * step if len(points) > 1 else plot_w / 2), y(p.tier)) for i, p in enumerate(points)]
    desc = "、".join(f"{p.as_of.isoformat()} {p.tier}（合計点 {p.score}）" for p in points)
    parts = [
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="trend-title trend-desc" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="trend-title">{escape(title)}</title><desc id="trend-desc">{escape(desc)}</desc>',
    ]
    for level in LEVELS:
        ly = y(level)
        parts.append(f'<line x1="{LEFT}" y1="{ly:.1f}" x2="{WIDTH - RIGHT}" y2="{ly:.1f}" stroke="#c8ccd2" '
                     f'stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{ly + 4:.1f}" text-anchor="end" font-size="12" fill="#1f2933">'
                     f'{escape(level)}</text>')
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1d4f91" stroke-width="2.5"/>')
    for (x, yy), p in zip(coords, points, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="5" fill="#1d4f91"><title>{escape(p.as_of.isoformat())} '
                     f'{escape(p.tier)}（合計点 {p.score}）</title></circle>')
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 14}" text-anchor="middle" font-size="12" fill="#1f2933">'
                     f'{escape(p.as_of.isoformat())}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # nosec B704: every value from data goes through html.escape above


def stats_svg(chart: StatsChart | None) -> Markup:
    """A statistics chart (``tsunagu.stats.charts``) as inline SVG with its title and a text alternative."""
    if chart is None:
        return Markup("")
    ident = f"c{zlib.crc32(chart.title.encode())}"
    parts = [
        f'<svg class="stats-chart" viewBox="0 0 {chart.width:.0f} {chart.height:.0f}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-t">{escape(chart.title)}</title><desc id="{ident}-d">{escape(chart.description)}</desc>',
    ]
    for shape in chart.shapes:
        parts.append(_stats_shape(shape))
    parts.append("</svg>")
    # nosec B704: texts and tips go through html.escape (_stats_shape); colours are the chart module's constants
    return Markup("".join(parts))  # nosec B704


def _stats_shape(shape: Rect | Line | Text | Dot) -> str:
    if isinstance(shape, Rect):
        tip = f"<title>{escape(shape.tip)}</title>" if shape.tip else ""
        return (f'<rect x="{shape.x:.1f}" y="{shape.y:.1f}" width="{shape.w:.1f}" height="{shape.h:.1f}" '
                f'fill="{shape.fill}">{tip}</rect>')
    if isinstance(shape, Line):
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in shape.points)
        return f'<polyline points="{points}" fill="none" stroke="{shape.stroke}" stroke-width="{shape.width}"/>'
    if isinstance(shape, Dot):
        tip = f"<title>{escape(shape.tip)}</title>" if shape.tip else ""
        return f'<circle cx="{shape.x:.1f}" cy="{shape.y:.1f}" r="{shape.r}" fill="{shape.fill}">{tip}</circle>'
    assert isinstance(shape, Text)
    return (f'<text x="{shape.x:.1f}" y="{shape.y:.1f}" font-size="{shape.size}" text-anchor="{shape.anchor}" '
            f'fill="{shape.fill}">{escape(shape.text)}</text>')


# The school's monthly attendance items, drawn side by side for each month.
ATTENDANCE_ITEMS = (("absence_days", "欠席"), ("late_count", "遅刻"), ("early_leave_count", "早退"))


def attendance_months(timeline: Sequence[TimelineEntry]) -> list[tuple[str, dict[str, float]]]:
    """(YYYY-MM, {item: value}) per month with any attendance figure, oldest first; the newest
    export of a month wins when a month was sent twice."""
    wanted = {item for item, _ in ATTENDANCE_ITEMS}
    months: dict[str, dict[str, tuple[date | None, float]]] = {}
    for e in timeline:
        if e.item_id not in wanted or e.number is None or e.observed_on is None:
            continue
        month = e.observed_on.strftime("%Y-%m")
        known = months.setdefault(month, {}).get(e.item_id)
        if known is None or (e.snapshot_date or date.min) >= (known[0] or date.min):
            months[month][e.item_id] = (e.snapshot_date, e.number)
    return [(m, {k: v for k, (_, v) in months[m].items()}) for m in sorted(months)]


def attendance_chart(timeline: Sequence[TimelineEntry], title: str = "月ごとの出欠（欠席・遅刻・早退）") -> StatsChart | None:
    """Grouped bars, one group per month (None when the page shows no attendance figure)."""
    months = attendance_months(timeline)
    if not months:
        return None
    left, right, top, bottom, height = 40.0, 12.0, 12.0, 46.0, 220.0
    width = max(420.0, left + right + 44.0 * len(months))
    chart = StatsChart(title, width, height)
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(1.0, max(v for _, values in months for v in values.values()))
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h - plot_h * frac
        chart.shapes.append(Line(((left, y), (left + plot_w, y)), GRID))
        chart.shapes.append(Text(left - 4, y + 4, f"{peak * frac:g}", 10, "end"))
    group = plot_w / len(months)
    bar = min(12.0, (group - 8) / len(ATTENDANCE_ITEMS))
    described = []
    for i, (month, values) in enumerate(months):
        x0 = left + group * i + (group - bar * len(ATTENDANCE_ITEMS)) / 2
        for j, (item, label) in enumerate(ATTENDANCE_ITEMS):
            value = values.get(item)
            if value is None:
                continue
            h = plot_h * value / peak
            chart.shapes.append(Rect(x0 + j * bar, top + plot_h - h, bar - 1, h, PALETTE[j],
                                     f"{month} {label} {value:g}回" if item != "absence_days" else f"{month} {label} {value:g}日"))
        chart.shapes.append(Text(left + group * (i + 0.5), top + plot_h + 14, month[2:].replace("-", "/"), 10, "middle"))
        described.append(f"{month}: " + "、".join(f"{label}{values[item]:g}" for item, label in ATTENDANCE_ITEMS
                                                 if item in values))
    x = left
    for j, (_, label) in enumerate(ATTENDANCE_ITEMS):
        chart.shapes.append(Rect(x, height - 16, 12, 12, PALETTE[j]))
        chart.shapes.append(Text(x + 16, height - 6, label, 11))
        x += 60
    chart.description = "。".join(described)
    return chart


def tier_chart(by_tier: dict[str, int]) -> Markup:
    """支援区分別の人数: one bar per listed tier (the numbers are written beside the bars too)."""
    tiers = list(TIER_COLOURS)
    chart = StatsChart("支援区分別の人数", 560, 0)
    peak = max((by_tier.get(t, 0) for t in tiers), default=0) or 1
    label_w, bar_h, gap, top = 96.0, 22.0, 10.0, 8.0
    for i, tier in enumerate(tiers):
        n = by_tier.get(tier, 0)
        y = top + i * (bar_h + gap)
        w = (560 - label_w - 70) * n / peak
        chart.shapes.append(Text(label_w - 8, y + bar_h - 6, tier, 13, "end"))
        chart.shapes.append(Rect(label_w, y, max(w, 1.0), bar_h, TIER_COLOURS[tier], f"{tier} {n:,}人"))
        chart.shapes.append(Text(label_w + max(w, 1.0) + 6, y + bar_h - 6, f"{n:,}人", 13))
    chart.height = top + len(tiers) * (bar_h + gap) + 4
    chart.description = "、".join(f"{t} {by_tier.get(t, 0):,}人" for t in tiers)
    return stats_svg(chart)


def history_chart(points: Sequence[RunPoint]) -> Markup:
    """候補の人数と新たに挙がった人数の推移（実行ごと）."""
    if not points:
        return Markup("")
    chart = StatsChart("候補の人数の推移（実行ごと）", 640, 0)
    x0, y0, w, h = 64.0, 12.0, 640 - 120.0, 160.0
    peak = max(max(p.listed for p in points), 1)
    for frac in (0.0, 0.5, 1.0):
        y = y0 + h - h * frac
        chart.shapes.append(Line(((x0, y), (x0 + w, y)), "#d5d9de"))
        chart.shapes.append(Text(x0 - 6, y + 4, f"{round(peak * frac):,}", 11, "end"))

    def x(i: int) -> float:
        return x0 + (w * i / (len(points) - 1) if len(points) > 1 else w / 2)

    for series, colour, values in (("候補の人数", "#1d4f91", [p.listed for p in points]),
                                   ("新たに挙がった人数", "#d9822b", [p.new for p in points])):
        coords = tuple((x(i), y0 + h - h * v / peak) for i, v in enumerate(values))
        if len(coords) > 1:
            chart.shapes.append(Line(coords, colour, 2.5))
        for (cx, cy), p, v in zip(coords, points, values, strict=True):
            chart.shapes.append(Dot(cx, cy, 4.5, colour, f"{p.as_of.isoformat()} {series} {v:,}人"))
    for i, p in enumerate(points):
        chart.shapes.append(Text(x(i), y0 + h + 16, p.as_of.isoformat(), 11, "middle"))
    legend_y = y0 + h + 40
    for j, (series, colour) in enumerate((("候補の人数", "#1d4f91"), ("新たに挙がった人数", "#d9822b"))):
        chart.shapes.append(Rect(x0 + j * 200, legend_y - 10, 12, 12, colour))
        chart.shapes.append(Text(x0 + j * 200 + 18, legend_y, series, 12))
    chart.height = legend_y + 10
    chart.description = "、".join(f"{p.as_of.isoformat()} 候補 {p.listed:,}人（新たに {p.new:,}人）" for p in points)
    return stats_svg(chart)
