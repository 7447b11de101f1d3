"""The intake pages: record in the browser's forms, see the due time, the hard rules before the
estimate, a decision refused without a reason (what was typed kept), the due list, the PDF."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tsunagu.web.app import create_app
from web.conftest import Browser
from work.builders import Home


@pytest.fixture
def ubrowser(uhome: Home) -> Iterator[Callable[[str], Browser]]:
    app = create_app(uhome.settings)
    clients: list[TestClient] = []

    def make(user_id: str) -> Browser:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        b = Browser(client)
        assert b.sign_in(user_id) == 303
        return b

    yield make
    for client in clients:
        client.__exit__(None, None, None)


FORM = {"received_at": "2026-11-20T09:30", "reporter_kind": "学校", "aza_number": "1000000002",
        "concern": "右腕に複数のあざ。家に帰りたくないと話す", "g_injury": "moderate", "g_child_wish": "not_home"}


def _record(b: Browser, **extra: str) -> int:
    response = b.post("/intakes/record", {**FORM, **extra})
    assert response.status_code == 303, response.text[:500]
    found = re.search(r"/intakes/(\d+)", response.headers["location"])
    assert found is not None
    return int(found.group(1))


def test_an_intake_recorded_in_the_form_shows_its_due_time_and_the_rules_first(
        ubrowser: Callable[[str], Browser]) -> None:
    b = ubrowser("cw1")
    form = b.client.get("/intakes/new")
    assert form.status_code == 200 and "重大項目" in form.text
    intake_id = _record(b)
    page = b.client.get(f"/intakes/{intake_id}")
    assert page.status_code == 200
    text = page.text
    assert "2026-11-22 09:30" in text and "受理から48時間" in text  # 09:30 JST + 48 h
    assert text.index("ハードルール") < text.index("似た過去事例の要約")
    assert '<p class="level urgent">緊急</p>' in text
    assert "予測ではありません" in text and "低" not in re.sub(r"低い", "", text.split("似た過去事例の要約")[0])
    visible = re.sub(r"<[^>]+>", " ", text.split("<main")[1])
    assert not re.search(r"neglect|injury|child_wish|unknown|cgc|centre", visible)
    due = b.client.get("/intakes?all=1")
    assert f"受理 {intake_id} を開く" in due.text


def test_a_decision_below_the_rules_is_refused_without_a_reason_and_keeps_what_was_typed(
        ubrowser: Callable[[str], Browser]) -> None:
    b = ubrowser("cw1")
    intake_id = _record(b)
    refused = b.post(f"/intakes/{intake_id}/decision", {"level": "通常", "protect": "no", "reason": "短い"})
    assert refused.status_code == 422
    assert "理由を10文字以上" in refused.text and ">短い</textarea>" in refused.text
    assert 'value="通常" required checked' in refused.text
    # Beside the reason (the field's own message, tied to it), not at the top of the page.
    text = refused.text
    assert 'aria-describedby="reason-error">短い</textarea>' in text
    assert text.index('id="reason-error"') > text.index('id="reason"') > text.index('id="decide-title"')
    assert '<p class="alert error"' not in text
    unseen = b.post(f"/intakes/{intake_id}/safety-check", {"seen_at": "2026-11-20T10:00", "note": " "})
    assert unseen.status_code == 422
    assert 'id="check_note-error"' in unseen.text and "確認した内容" in unseen.text
    assert 'value="2026-11-20T10:00"' in unseen.text  # the time typed, not the page's default
    saved = b.post(f"/intakes/{intake_id}/decision",
                   {"level": "通常", "protect": "no", "reason": "祖母宅に避難済みで本日中に面接予定のため"})
    assert saved.status_code == 303
    page = b.client.get(f"/intakes/{intake_id}")
    assert "ハードルール・推定と異なる判断（理由あり）" in page.text


def test_a_refused_intake_form_keeps_what_was_typed(ubrowser: Callable[[str], Browser]) -> None:
    b = ubrowser("cw1")
    response = b.post("/intakes/record", {**FORM, "aza_number": "9999999999"})
    assert response.status_code == 422
    assert "宛名番号 9999999999 の子どもは見つかりません" in response.text
    assert "右腕に複数のあざ" in response.text
    assert 'value="moderate" checked' in response.text


def test_the_intake_record_pdf(ubrowser: Callable[[str], Browser]) -> None:
    b = ubrowser("cw1")
    intake_id = _record(b)
    response = b.client.get(f"/intakes/{intake_id}/record.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)
    assert "通告・相談受理記録票" in text and "緊急" in text and "予測ではない" in text


def test_other_roles_are_refused_and_the_model_card_is_shown(ubrowser: Callable[[str], Browser]) -> None:
    intake_id = _record(ubrowser("cw1"))
    teacher = ubrowser("teacher1")
    assert teacher.client.get(f"/intakes/{intake_id}").status_code == 403
    assert teacher.client.get("/intakes").status_code == 403
    card = ubrowser("cw1").client.get("/urgency/model")
    assert card.status_code == 200 and "検証（学習に使っていない後の事例）" in card.text
    assert "neglect=" not in card.text


def test_the_due_list_escalates_overdue_intakes(ubrowser: Callable[[str], Browser]) -> None:
    b = ubrowser("cw1")
    old = (datetime.now(UTC) - timedelta(hours=60)).astimezone().strftime("%Y-%m-%dT%H:%M")
    intake_id = _record(b, received_at=old, g_child_wish="none", g_injury="minor")
    due = b.client.get("/intakes")
    row = due.text.split(f"受理 {intake_id} を開く")[0].rsplit("<tr", 1)[1]
    assert "期限超過" in row and "上席へ" in row
