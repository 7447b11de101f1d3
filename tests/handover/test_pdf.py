"""The hand-over PDF as the receiving caseworker reads it (text extracted with pypdf): Japanese only,
the time in 日本時間, no column left empty on every row, each record once."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from pypdf import PdfReader

from handover.conftest import B_CODE, TODAY, Side
from handover.test_two_municipalities import _case_records
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.handover import contents, detect
from tsunagu.handover.legal import SECTION_LABELS
from tsunagu.handover.pdf import render_pdf


def _content(kind_label: str = "情報提供", **sections: Any) -> dict[str, Any]:
    return {
        "kind_label": kind_label, "from": {"code": "272205", "name": "つなぐ市"}, "to": {"code": B_CODE, "name": "みらい市"},
        "prepared_at": "2026-12-07T18:35:12+00:00", "prepared_by": {"name": "中村 センター", "role": "相談員"},
        "legal": {"provision_basis": "個人情報の保護に関する法律第69条第2項第3号", "laws": ["児童福祉法第25条の3"]},
        "child": {"full_name": "佐藤　花子", "reading": "サトウ　ハナコ", "birth_date": "2018-04-01", "sex": "F",
                  "address": "つなぐ市中央町1丁目2番3号"},
        "move": {"moved_on": "2026-12-01", "reasons": ["open_case"]},
        "section_labels": [[name, SECTION_LABELS[name]] for name in sections], "sections": sections,
        "unavailable": {"maternal_child_health": "この利用目的では提供できる情報がありません / nothing released for this purpose"},
    }


def _text(content: dict[str, Any]) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(render_pdf(content))).pages)


def test_the_paper_is_in_japanese_with_the_time_in_japan() -> None:
    text = _text(_content(summary={"items": [], "active_plans": 0}))
    assert "2026-12-08 03:35（日本時間）" in text and "UTC" not in text
    # A node's refusal is written for the logs in both languages; the paper names the department.
    assert "健康増進課" in text and "この利用目的では提供できる情報がありません" in text
    assert "maternal_child_health" not in text and "released" not in text
    assert "こども家庭センターの記録（要対協への登録、相談の受付など）はありません。" in text


def test_a_case_section_without_free_text_has_no_empty_column() -> None:
    history = [{"date": "2026-06-01", "what": "状況の変更: 確認中 → 支援中", "detail": None}]
    ledger = [{"date": "2026-06-01", "what": "登録: 要支援児童、主担当機関 こども家庭センター", "detail": None}]
    text = _text(_content(case_history=history, ledger=ledger))
    assert "記録（記述）" not in text and "状況の変更: 確認中 → 支援中" in text
    assert "（情報提供では、状況の変更の理由などの記述を含めません）" in text
    with_detail = _text(_content("ケース移管", case_history=[{**history[0], "detail": "登校が途切れた"}]))
    assert "記録（記述）" in with_detail and "登校が途切れた" in with_detail


def test_each_health_record_is_carried_once(pair: tuple[Side, Side]) -> None:
    """The 母子健康手帳 and the vaccinations share the child's 宛名番号: the node answers both sources
    for one local id, and asking once per link carried every checkup twice."""
    a, _b = pair
    with a.home.factory.begin() as session:
        detect.detect(session, a.nodes, packaged_manifests(), today=TODAY)
    _case_records(a)
    with a.home.factory() as session:
        content = contents.build(session, "P0002", "case_transfer", nodes=a.nodes, cipher=a.home.cipher,
                                 sender={"code": "272205", "name": "つなぐ市"}, recipient={"code": B_CODE, "name": "みらい市"},
                                 prepared_by={"user_id": "cw1", "name": "中村 センター", "role": "相談員"},
                                 moved_on=date(2026, 12, 1), reasons=["open_case"], role="centre_caseworker")
    checkups = [(r["item_id"], r["observed_on"]) for r in content["sections"]["health_checkups"]]
    assert len(checkups) == len(set(checkups)) == 4
    assert [r["value"] for r in content["sections"]["vaccinations"]] == ["2"]
    text = _text(content)
    assert text.count("3歳児健診") == 1 and text.count("定期予防接種の未接種数") == 1
