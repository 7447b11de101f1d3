"""統計: the statistics report (suppressed tables, charts, budget, evaluation) and its downloads.

Every route builds the same ``Report`` as ``tsunagu stats`` (one ``statistics.read`` entry,
an aggregate: no child is named), so the page, its JSON, CSV, Excel and PDF publish the same
numbers. Nothing here opens a child's page or list.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from tsunagu.privacy import Subject
from tsunagu.stats.charts import chart_for, cost_chart
from tsunagu.stats.export import csv_text, pdf_bytes, workbook_bytes
from tsunagu.stats.report import SECTIONS, Report, build_report
from tsunagu.stats.service import programmes_for
from tsunagu.stats.tables import grid
from tsunagu.web.charts import stats_svg
from tsunagu.web.deps import CurrentSubject, State, render
from tsunagu.web.state import AppState
from tsunagu.work.rights.pdf import FontMissingError, register_font
from tsunagu.yamlstrict import ConfigError

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _report(state: AppState, subject: Subject) -> Report:
    hub = state.hub
    try:
        programmes, problem = programmes_for(hub.settings)
    except ConfigError as exc:  # only a named file raises; the home's own is reported beside
        programmes, problem = None, str(exc)
    with hub.reading() as session:
        return build_report(session, hub.nodes(), subject, k=hub.settings.statistics_k, programmes=programmes,
                            programmes_error=problem, key=hub.signing_key)


@router.get("/statistics")
def statistics_page(request: Request, state: State, subject: CurrentSubject) -> Response:
    report = _report(state, subject)
    charts = {t.id: stats_svg(chart_for(t)) for t in report.tables()}
    cost = stats_svg(cost_chart([p.name for p in report.programmes], [p.cost_per_child for p in report.programmes],
                                report.fiscal_year))
    grids = {t.id: grid(t) for t in report.tables()}
    return render(request, state, "statistics.html", report=report, sections=SECTIONS, charts=charts, cost_chart=cost,
                  grids=grids)


@router.get("/statistics.json")
def statistics_json(state: State, subject: CurrentSubject) -> Response:
    return JSONResponse(_report(state, subject).public())


@router.get("/statistics.csv")
def statistics_csv(state: State, subject: CurrentSubject) -> Response:
    # BOM: spreadsheet software on Japanese Windows reads UTF-8 CSV correctly only with it.
    return _file("\ufeff" + csv_text(_report(state, subject)), "text/csv; charset=utf-8", "csv")


@router.get("/statistics.xlsx")
def statistics_xlsx(state: State, subject: CurrentSubject) -> Response:
    return _file(workbook_bytes(_report(state, subject)), XLSX, "xlsx")


@router.get("/statistics.pdf")
def statistics_pdf(state: State, subject: CurrentSubject) -> Response:
    try:
        register_font()  # before the read: a report that cannot be rendered is not read
    except FontMissingError as exc:
        raise HTTPException(status_code=500, detail=str(exc)) from exc
    return _file(pdf_bytes(_report(state, subject), state.settings.municipality_name or ""), "application/pdf", "pdf")


def _file(body: bytes | str, media: str, suffix: str) -> Response:
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="statistics_{stamp}.{suffix}"'})
