"""``tsunagu manifest check``: what a file would give under a manifest, without loading anything.

The file goes through the same reader, header checks and row converter as ``tsunagu ingest``; the
result is counted instead of written. Problems are reported by column and rule with row numbers,
never with the cell values (the file holds personal data and the report is printed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tsunagu.catalog import Catalog, default_catalog
from tsunagu.catalog.manifest import Manifest
from tsunagu.ingest.convert import ConvertedRow, Problem, RowConverter
from tsunagu.ingest.load import FileRefusedError, refuse_bad_header
from tsunagu.ingest.readers import UnreadableFileError, read_table

_FIRST_ROWS = 10  # row numbers listed per problem


@dataclass
class ProblemCount:
    column: str
    rule: str
    outcome: str  # quarantined (the row is not loaded) / flagged (loaded without the value)
    rows: int = 0
    first_rows: list[int] = field(default_factory=list)


@dataclass
class CheckReport:
    file: str
    source: str
    status: str = "ok"  # ok / refused / held
    reason: str = ""
    encoding: str = ""
    export_date: str = ""
    rows_in: int = 0
    would_load: int = 0
    would_flag: int = 0
    would_quarantine: int = 0
    problems: list[ProblemCount] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


_DATE_RULE = "日付として読めないか、ありえない日付です（存在しない日・出力日より後など） / unreadable or impossible date"


def _date_columns(manifest: Manifest, catalog: Catalog) -> frozenset[str]:
    """Columns holding dates: their messages restate the date read, so they are reported without them."""
    columns = {manifest.identifiers.get("birth_date", "")}
    for mapping in manifest.items:
        if catalog.item(mapping.item).value_type == "date":
            columns.add(mapping.column)
        if mapping.observed_on != "export_date":
            columns.add(mapping.observed_on)
    return frozenset(columns - {""})


def _rule_without_value(problem: Problem, date_columns: frozenset[str]) -> str:
    """The rule text with the cell value taken out (no value of the file reaches the report)."""
    if problem.column in date_columns:
        return _DATE_RULE
    rule = problem.rule
    if problem.value:
        rule = rule.replace(repr(problem.value), "…").replace(problem.value, "…")
    return rule


def _count(found: dict[tuple[str, str, str], ProblemCount], row: int, problems: list[Problem], outcome: str,
           date_columns: frozenset[str] = frozenset()) -> None:
    for problem in problems:
        key = (problem.column, _rule_without_value(problem, date_columns), outcome)
        entry = found.setdefault(key, ProblemCount(*key))
        entry.rows += 1
        if len(entry.first_rows) < _FIRST_ROWS:
            entry.first_rows.append(row)


def _warnings(manifest: Manifest, path: Path, export_date: date | None) -> list[str]:
    notes = []
    if not manifest.matches(path.name):
        notes.append(f"ファイル名が取込定義の files「{manifest.files}」に合いません（取込では対象外になります）")
    if export_date is None:
        notes.append("ファイル名から出力日（YYYYMMDD）が読めません（取込では拒否されます）")
    if "要記入" in manifest.legal_use.reason:
        notes.append("legal_use.reason が「要記入」のままです: 目的外利用の相当の理由を書いてください")
    if not manifest.release:
        notes.append("release が空です: どの目的にも項目が渡りません")
    return notes


def check_file(path: Path, manifest: Manifest, catalog: Catalog | None = None) -> CheckReport:
    """Read and convert ``path`` under ``manifest`` as ingest would, counting instead of loading."""
    catalog = catalog or default_catalog()
    report = CheckReport(str(path), manifest.source)
    export_date = manifest.export_date_of(path.name)
    report.export_date = export_date.isoformat() if export_date else ""
    report.warnings = _warnings(manifest, path, export_date)
    try:
        table = read_table(path, manifest.format, manifest.encoding, manifest.header_row)
        refuse_bad_header(path, manifest, table.header)
        converter = RowConverter(manifest, catalog, table.header, export_date or date.today(),
                                 table.date1904)
        missing = converter.missing_columns()
        if missing:
            raise FileRefusedError(f"{path.name}: 必須の列{''.join(f'「{c}」' for c in missing)}がありません"
                                   f" / required columns missing: {', '.join(missing)}")
    except (UnreadableFileError, FileRefusedError, FileNotFoundError) as exc:
        report.status, report.reason = "refused", str(exc)
        return report
    report.encoding, report.rows_in = table.encoding_note, table.rows_in
    found: dict[tuple[str, str, str], ProblemCount] = {}
    dates = _date_columns(manifest, catalog)
    for bad in table.bad_lines:
        _count(found, bad.row, [Problem("(行全体)", "", bad.reason)], "quarantined")
    report.would_quarantine = len(table.bad_lines)
    for row_number, cells in table.rows:
        converted = converter.convert(cells)
        if isinstance(converted, ConvertedRow):
            report.would_load += 1
            if converted.flags:
                report.would_flag += 1
                _count(found, row_number, converted.flags, "flagged", dates)
        else:
            report.would_quarantine += 1
            _count(found, row_number, converted, "quarantined", dates)
    report.problems = sorted(found.values(), key=lambda p: (p.outcome != "quarantined", -p.rows, p.column))
    if report.would_load == 0 and not manifest.snapshot_guard.allow_empty:
        report.status = "held"
        report.reason = ("取り込める行がありません: 取込では保留になります（文字コード・見出し行・列の対応を確かめてください）"
                         " / no loadable row: ingest would hold this file")
    return report
