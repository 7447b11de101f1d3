"""Loading the child guidance centre's past intakes (anonymised) into the hub, for the estimate.

The file is the centre's export: case number, date of 受理, age, who reported, nationality and
public assistance (kept only to report error rates by group — never model inputs), whether the
case led to 一時保護, the outcome, and one column per item id holding the grade's rank (程度) or
不明. Every row is loaded or quarantined with its reason; a file where more than
``MAX_QUARANTINE_SHARE`` of rows are refused changes nothing (a wrong file, not a few bad rows).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.errors import InputError
from tsunagu.work.urgency.estimate import REPORTER_KINDS, CaseInput
from tsunagu.work.urgency.items import UNKNOWN, ItemSet, default_items
from tsunagu.work.urgency.models import PastCase

BASE_COLUMNS = ("事例番号", "受理日", "年齢", "通告者区分", "国籍", "生活保護", "一時保護", "転帰")
MAX_QUARANTINE_SHARE = 0.05


class HistoryRefused(InputError, ValueError):
    """The whole file was refused; nothing was loaded."""

    code = "history_refused"


@dataclass
class HistoryReport:
    file: str
    loaded: int = 0
    already_loaded: int = 0
    quarantined: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise HistoryRefused(f"{path.name}: UTF-8 でも CP932 でも読めません。")


def _grade(items: ItemSet, item_id: str, cell: str) -> str:
    item = items.item(item_id)
    text = cell.strip()
    if text in ("", "不明"):
        return UNKNOWN  # not recorded is not "none"
    for g in item.grades:
        if not g.unknown and str(g.rank) == text:
            return g.code
    raise ValueError(f"{item_id} の程度 {text!r} は項目にありません（{', '.join(str(g.rank) for g in item.known_grades)}・不明）")


def _row(items: ItemSet, row: dict[str, str], source: str, now: datetime) -> PastCase:
    case_no = (row.get("事例番号") or "").strip()
    if not case_no:
        raise ValueError("事例番号が空です")
    received = date.fromisoformat((row.get("受理日") or "").strip())
    age_text = (row.get("年齢") or "").strip()
    age = int(age_text) if age_text else None
    if age is not None and not 0 <= age <= 17:
        raise ValueError(f"年齢 {age} は0〜17ではありません")
    reporter = (row.get("通告者区分") or "").strip()
    if reporter not in REPORTER_KINDS:
        raise ValueError(f"通告者区分 {reporter!r} は一覧にありません")
    protected = (row.get("一時保護") or "").strip()
    if protected not in ("有", "無"):
        raise ValueError(f"一時保護 {protected!r} は 有・無 のどちらでもありません")
    grades = {it.id: _grade(items, it.id, row.get(it.id) or "") for it in items.items}
    groups = {"国籍": (row.get("国籍") or "").strip() or "不明", "生活保護": (row.get("生活保護") or "").strip() or "不明"}
    return PastCase(case_no=case_no, received_on=received, age_years=age, reporter_kind=reporter,
                    grades_json=json.dumps(grades, ensure_ascii=False), protected=protected == "有",
                    outcome=(row.get("転帰") or "").strip()[:40], groups_json=json.dumps(groups, ensure_ascii=False),
                    loaded_from=source[:200], loaded_at=now)


def load_history(session: Session, path: Path, *, items: ItemSet | None = None) -> HistoryReport:
    """Load a history file in the caller's transaction; raise HistoryRefused (nothing added) when refused."""
    items = items or default_items()
    reader = csv.DictReader(io.StringIO(_read_text(path)))
    header = reader.fieldnames or []
    missing = [c for c in (*BASE_COLUMNS, *items.ids) if c not in header]
    if missing:
        raise HistoryRefused(f"{path.name}: 列 {', '.join(missing)} がありません。")
    report = HistoryReport(path.name)
    existing = set(session.scalars(select(PastCase.case_no)))
    now = datetime.now(UTC)
    rows: list[PastCase] = []
    for line, row in enumerate(reader, start=2):
        try:
            case = _row(items, row, path.name, now)
        except ValueError as exc:
            report.quarantined.append((line, str(exc)))
            continue
        if case.case_no in existing:
            report.already_loaded += 1
            continue
        existing.add(case.case_no)
        rows.append(case)
    total = len(rows) + report.already_loaded + len(report.quarantined)
    if total == 0:
        raise HistoryRefused(f"{path.name}: 事例が1件もありません。")
    if len(report.quarantined) > MAX_QUARANTINE_SHARE * total:
        first = "; ".join(f"{line}行目: {why}" for line, why in report.quarantined[:3])
        raise HistoryRefused(f"{path.name}: {len(report.quarantined)}/{total} 行が不正のため、ファイル全体を取り込みませんでした"
                             f"（{first}）。")
    session.add_all(rows)
    session.flush()
    report.loaded = len(rows)
    return report


@dataclass(frozen=True)
class PastRow:
    case_no: str
    received_on: date
    case: CaseInput
    protected: bool
    outcome: str
    groups: dict[str, str]


def past_rows(session: Session, *, before: date | None = None) -> list[PastRow]:
    stmt = select(PastCase).order_by(PastCase.received_on, PastCase.case_no)
    if before is not None:
        stmt = stmt.where(PastCase.received_on < before)
    return [to_row(r) for r in session.scalars(stmt)]


def to_row(r: PastCase) -> PastRow:
    return PastRow(r.case_no, r.received_on, CaseInput(json.loads(r.grades_json), r.age_years, r.reporter_kind),
                   r.protected, r.outcome, json.loads(r.groups_json))


def cases_of(rows: Sequence[PastRow]) -> list[CaseInput]:
    return [r.case for r in rows]
