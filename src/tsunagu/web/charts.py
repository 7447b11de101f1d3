"""The trend chart as inline SVG (no script, no external asset), with a text alternative."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from tsunagu.stats.charts import Chart as StatsChart
from tsunagu.stats.charts import Dot, Line, Rect, Text
from tsunagu.work.child import TrendPoint

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
    return Markup("".join(parts))


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
    return Markup("".join(parts))


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
