"""Downloads of the statistics report: CSV (Excel-safe), an Excel workbook and the council's PDF.

All three are written from the published ``Report`` — the same suppressed numbers as the page and
``tsunagu stats --json``. The CSV has a UTF-8 BOM (Excel on Windows reads it as UTF-8, not CP932)
and every text cell that a spreadsheet would run as a formula is escaped; the workbook stores
text as text, escaped the same way, since openpyxl writes a string starting with "=" as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from reportlab.graphics.shapes import Circle, Drawing, PolyLine, String
from reportlab.graphics.shapes import Rect as PdfRect
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from tsunagu.csvout import escape_cell
from tsunagu.stats.charts import Chart, Dot, Line, Rect, Text, chart_for, cost_chart
from tsunagu.stats.report import SECTIONS, Report
from tsunagu.stats.tables import ShareTable, StatTable, grid, percent
from tsunagu.work.rights.pdf import register_font


def table_rows(table: StatTable) -> Iterator[list[object]]:
    """Header, the rows (with their totals) and the totals row as shown: text for suppressed cells."""
    shown = grid(table)
    yield list(shown.header)
    for label, cells in shown.rows + ([shown.totals] if shown.totals else []):
        yield [label, *[c.value if c.value is not None else c.text() for c in cells]]


def share_rows(table: ShareTable) -> Iterator[list[str]]:
    yield [table.row_title, *table.cols]
    for label, values in zip(table.rows, table.values, strict=True):
        yield [label, *[percent(v) for v in values]]


def _preamble(report: Report) -> list[str]:
    return [f"基準日 {report.as_of or '—'}", f"{report.k}人未満のセルと、そこから逆算できるセルは「秘匿」",
            f"利用の根拠 {report.basis}"]


def csv_text(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([escape_cell(t) for t in ["統計（つなぐ）", *_preamble(report)]])
    for name, tables in report.sections.items():
        for table in tables:
            writer.writerow([])
            writer.writerow([escape_cell(f"{SECTIONS[name]}：{table.title}")])
            for row in table_rows(table):
                writer.writerow([escape_cell(v) for v in row])
    for share_table in report.shares:
        writer.writerow([])
        writer.writerow([escape_cell(share_table.title)])
        for texts in share_rows(share_table):
            writer.writerow([escape_cell(v) for v in texts])
    if report.programmes:
        writer.writerow([])
        writer.writerow([escape_cell(f"{report.fiscal_year}年度 事業別の費用と利用した子ども1人あたりの費用")])
        writer.writerow(["事業", "年間事業費（円）", "紹介した子ども", "利用した子ども", "利用した子ども1人あたり（円）"])
        for line in report.programmes:
            writer.writerow([escape_cell(line.name), line.yearly_cost, _or_mark(line.referred), _or_mark(line.took_up),
                             _or_mark(line.cost_per_child)])
    return out.getvalue()


def _or_mark(value: int | None) -> object:
    return value if value is not None else "秘匿"


def write_csv(report: Report, path: Path) -> None:
    path.write_text(csv_text(report), encoding="utf-8-sig", newline="")


def workbook_bytes(report: Report) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "説明"
    for n, text in enumerate(["統計（つなぐ）", *_preamble(report)], start=1):
        sheet.cell(n, 1, escape_cell(text))
    bold, hidden = Font(bold=True), PatternFill("solid", fgColor="E1E4E8")
    for number, table in enumerate(report.tables(), start=1):
        ws = book.create_sheet(f"{number:02d} {table.row_title}"[:31].translate(str.maketrans("[]:*?/\\", "（）：＊？／＼")))
        ws.cell(1, 1, escape_cell(table.title)).font = bold
        for r, row in enumerate(table_rows(table), start=3):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(r, c, escape_cell(value) if isinstance(value, str) else value)
                if isinstance(value, str) and r > 3 and c > 1:
                    cell.fill, cell.alignment = hidden, Alignment(horizontal="right")
                if r == 3:
                    cell.font = bold
        ws.column_dimensions["A"].width = 28
    for share_table in report.shares:
        ws = book.create_sheet("割合の推移")
        ws.cell(1, 1, escape_cell(share_table.title)).font = bold
        for texts in share_rows(share_table):
            ws.append([escape_cell(v) for v in texts])
        ws.column_dimensions["A"].width = 28
    if report.programmes:
        ws = book.create_sheet("事業と費用")
        ws.append(["事業", "年間事業費（円）", "紹介した子ども", "利用した子ども", "利用した子ども1人あたり（円）"])
        for line in report.programmes:
            ws.append([escape_cell(line.name), line.yearly_cost, _or_mark(line.referred), _or_mark(line.took_up),
                       _or_mark(line.cost_per_child)])
        ws.column_dimensions["A"].width = 30
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_xlsx(report: Report, path: Path) -> None:
    path.write_bytes(workbook_bytes(report))


# -- PDF ------------------------------------------------------------------------------------------

def drawing(chart: Chart, font: str, width: float) -> Drawing:
    """The chart's shapes as a reportlab drawing, scaled to ``width`` points (y flipped)."""
    scale = width / chart.width
    d = Drawing(width, chart.height * scale)

    def y(v: float) -> float:
        return (chart.height - v) * scale

    for s in chart.shapes:
        if isinstance(s, Rect):
            d.add(PdfRect(s.x * scale, y(s.y + s.h), s.w * scale, s.h * scale, fillColor=colors.HexColor(s.fill),  # type: ignore[arg-type]
                          strokeColor=None))  # type: ignore[arg-type]
        elif isinstance(s, Line):
            pts = [v for x, yy in s.points for v in (x * scale, y(yy))]
            d.add(PolyLine(pts, strokeColor=colors.HexColor(s.stroke), strokeWidth=s.width * scale))
        elif isinstance(s, Dot):
            d.add(Circle(s.x * scale, y(s.y), s.r * scale, fillColor=colors.HexColor(s.fill), strokeColor=None))
        elif isinstance(s, Text):
            d.add(String(s.x * scale, y(s.y), s.text, fontName=font, fontSize=s.size * scale,
                         fillColor=colors.HexColor(s.fill), textAnchor=s.anchor))  # type: ignore[arg-type]
    return d


def _pdf_table(table: StatTable, style: ParagraphStyle, width: float) -> Table:
    number = ParagraphStyle("num", parent=style, alignment=2)
    shown = list(table_rows(table))
    rows = [[Paragraph(escape(f"{v:,}" if isinstance(v, int) else str(v)), style if c == 0 else number)
             for c, v in enumerate(row)] for row in shown]
    first = min(45 * mm, width * 0.3)
    rest = (width - first) / max(1, len(shown[0]) - 1)
    t = Table(rows, colWidths=[first] + [rest] * (len(shown[0]) - 1), repeatRows=1)
    commands: list[tuple[object, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    for r, row in enumerate(shown):
        for c, value in enumerate(row):
            if r and c and value == "秘匿":
                commands.append(("BACKGROUND", (c, r), (c, r), colors.HexColor("#e1e4e8")))
    t.setStyle(TableStyle(commands))  # type: ignore[arg-type]
    return t


def pdf_bytes(report: Report, municipality: str) -> bytes:
    font = register_font()
    base = ParagraphStyle("b", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
    title = ParagraphStyle("t", parent=base, fontSize=16, leading=22, spaceAfter=4 * mm)
    h2 = ParagraphStyle("h2", parent=base, fontSize=13, leading=18, spaceBefore=4 * mm, spaceAfter=2 * mm,
                        textColor=colors.HexColor("#1f3a5f"))
    h3 = ParagraphStyle("h3", parent=base, fontSize=10, leading=14, spaceBefore=3 * mm, spaceAfter=1 * mm)
    cell = ParagraphStyle("c", parent=base, fontSize=8, leading=10)
    note = ParagraphStyle("n", parent=base, fontSize=8, leading=11, textColor=colors.HexColor("#444444"))
    width = A4[0] - 30 * mm
    flow: list[Flowable] = [Paragraph(escape(f"{municipality} 子どもの状況・予算・支援の評価（統計報告）"), title)]
    for line in _preamble(report):
        flow.append(Paragraph(escape(line), base))
    flow.append(Paragraph(escape(report.basis_reason), note))
    for name, tables in report.sections.items():
        if not tables:
            continue
        flow.append(Paragraph(escape(SECTIONS[name]), h2))
        if name == "budget" and report.programmes:
            cost = cost_chart([p.name for p in report.programmes], [p.cost_per_child for p in report.programmes],
                              report.fiscal_year)
            block: list[Flowable] = [Paragraph(escape(f"{report.fiscal_year}年度 事業別の費用と、利用した子ども1人あたりの費用"), h3)]
            if cost is not None:
                block.append(drawing(cost, font, width))
            block.append(_programme_table(report, cell, width))
            flow.append(KeepTogether(block))
        for table in tables:
            block = [Paragraph(escape(table.title), h3)]
            chart = chart_for(table)
            if chart is not None:
                block += [drawing(chart, font, width), Spacer(1, 2 * mm)]
            # The title stays with its chart; a long table may run on to the next page (its header repeats).
            flow.append(KeepTogether(block))
            flow.append(_pdf_table(table, cell, width))
            if table.note:
                flow.append(Paragraph(escape(table.note), note))
        if name == "aggregates":
            for share_table in report.shares:
                flow.append(Paragraph(escape(share_table.title), h3))
                flow.append(_share_table(share_table, cell, width))
        flow.append(PageBreak())
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title="統計報告", author=municipality)
    doc.build(flow, onFirstPage=_footer(font), onLaterPages=_footer(font))
    return out.getvalue()


def _share_table(table: ShareTable, style: ParagraphStyle, width: float) -> Table:
    number = ParagraphStyle("num", parent=style, alignment=2)
    rows = [[Paragraph(escape(v), style if c == 0 else number) for c, v in enumerate(row)] for row in share_rows(table)]
    first = min(45 * mm, width * 0.3)
    t = Table(rows, colWidths=[first] + [(width - first) / max(1, len(table.cols))] * len(table.cols), repeatRows=1)
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
                           ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6"))]))
    return t


def _programme_table(report: Report, style: ParagraphStyle, width: float) -> Table:
    header = ["事業", "年間事業費", "紹介した子ども", "利用した子ども", "利用した子ども1人あたり"]
    rows: list[Sequence[object]] = [header]
    for line in report.programmes:
        rows.append([line.name, f"{line.yearly_cost:,}円", _text(line.referred, "人"), _text(line.took_up, "人"),
                     "—" if line.took_up == 0 else _text(line.cost_per_child, "円")])
    data = [[Paragraph(escape(str(v)), style) for v in row] for row in rows]
    t = Table(data, colWidths=[width * 0.32] + [width * 0.17] * 4, repeatRows=1)
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
                           ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6"))]))
    return t


def _text(value: int | None, unit: str) -> str:
    return "秘匿" if value is None else f"{value:,}{unit}"


def _footer(font: str):  # type: ignore[no-untyped-def]
    def draw(canvas, doc) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"{doc.page} ページ　少数のセルは秘匿しています")
        canvas.restoreState()
    return draw


def write_pdf(report: Report, path: Path, municipality: str) -> None:
    path.write_bytes(pdf_bytes(report, municipality))
