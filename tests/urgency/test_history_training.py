"""Past cases load row by row; a version learns only from before its cut-off and is validated after it."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.hub import Hub
from tsunagu.work.urgency.history import HistoryRefused, load_history, past_rows
from tsunagu.work.urgency.items import default_items
from tsunagu.work.urgency.models import PastCase, UrgencyModel
from tsunagu.work.urgency.training import Gates, fit
from tsunagu.work.urgency.versions import in_force, validate_in_force

ITEMS = default_items()
HEADER = "事例番号,受理日,年齢,通告者区分,国籍,生活保護,一時保護,転帰," + ",".join(ITEMS.ids)


def _line(case_no: str, injury: str = "0", protected: str = "無", reporter: str = "学校") -> str:
    cells = ["0"] * len(ITEMS.ids)
    cells[ITEMS.ids.index("injury")] = injury
    cells[ITEMS.ids.index("neglect")] = ""  # blank: not recorded
    return f"{case_no},2024-05-01,7,{reporter},日本,無,{protected},継続指導," + ",".join(cells)


@pytest.fixture
def empty(sqlite_hub: Hub) -> sessionmaker[Session]:
    return sqlite_hub.sessions


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "jisou_history_20261031.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def test_rows_load_or_are_quarantined_with_line_and_reason(empty: sessionmaker[Session], tmp_path: Path) -> None:
    good = [_line(f"H-{n:03d}", injury=str(n % 4)) for n in range(40)]
    path = _write(tmp_path, [*good, _line("H-bad", injury="7")])
    with empty() as session:
        report = load_history(session, path)
        session.commit()
        assert report.loaded == 40
        assert report.quarantined == [(42, "injury の程度 '7' は項目にありません（0, 1, 2, 3・不明）")]
        stored = session.scalars(select(PastCase).where(PastCase.case_no == "H-001")).one()
        grades = json.loads(stored.grades_json)
        assert grades["injury"] == "minor" and grades["neglect"] == "unknown"  # blank is 不明, never なし
        again = load_history(session, path)
        assert again.loaded == 0 and again.already_loaded == 40


def test_a_file_with_many_bad_rows_changes_nothing(empty: sessionmaker[Session], tmp_path: Path) -> None:
    lines = [_line(f"H-{n:03d}") for n in range(10)] + [_line(f"B-{n}", reporter="占い師") for n in range(3)]
    with empty() as session:
        with pytest.raises(HistoryRefused, match="3/13"):
            load_history(session, _write(tmp_path, lines))
        session.rollback()
        assert session.scalar(select(func.count()).select_from(PastCase)) == 0


def test_a_file_without_an_item_column_is_refused(empty: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(HEADER.replace(",isolation", "") + "\n", encoding="utf-8")
    with empty() as session, pytest.raises(HistoryRefused, match="isolation"):
        load_history(session, path)


def test_the_version_in_force_was_validated_on_later_cases_only(trained: sessionmaker[Session]) -> None:
    with trained() as session:
        row = in_force(session)
        assert row is not None
        card = json.loads(row.card_json)
        assert card["data"]["training_to"] < row.cutoff.isoformat() <= card["data"]["held_out_from"]
        metrics = validate_in_force(session)
    assert metrics["critical_recall"] == 1.0 and metrics["critical_cases"] > 0
    assert metrics["held_out_cases"] >= 200 and metrics["ece"] <= 0.03 and metrics["auc"] > 0.65
    assert metrics["interval_coverage"] >= 0.9
    assert {g["group"] for g in metrics["groups"]} >= {"国籍: 外国", "生活保護: 有", "年齢: 0〜2歳"}
    assert card["limits"] and card["weights"]


def test_outcomes_after_the_cut_off_cannot_reach_the_fit(trained: sessionmaker[Session]) -> None:
    with trained() as session:
        rows = past_rows(session)
        cutoff = session.scalars(select(UrgencyModel.cutoff)).one()
    flipped = [dataclasses.replace(r, protected=not r.protected) if r.received_on >= cutoff else r for r in rows]
    a = fit(rows, cutoff, bootstrap=2)
    b = fit(flipped, cutoff, bootstrap=2)
    assert np.allclose(a.coef, b.coef) and a.platt == b.platt
    c = fit(rows, cutoff + timedelta(days=200), bootstrap=2)
    assert not np.allclose(a.coef, c.coef)


def test_gates_refuse_a_poorly_calibrated_or_unsafe_version() -> None:
    gates = Gates(0.03, 0.65, 0.9)
    assert gates.failures({"ece": 0.02, "auc": 0.7, "critical_recall": 1.0, "interval_coverage": 0.95}) == []
    assert len(gates.failures({"ece": 0.05, "auc": 0.6, "critical_recall": 0.99, "interval_coverage": 0.8})) == 4
    assert len(gates.failures({"ece": 0.02, "auc": 0.7, "critical_recall": 1.0, "interval_coverage": None})) == 1
