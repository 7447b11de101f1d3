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
