"""個人情報保護 → 請求 in the browser: list with due dates, create, advance, download; the stewards' notices."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2 in its test client; httpx is what we have
    from fastapi.testclient import TestClient

from support.hubs import copy_home
from tsunagu.web.app import create_app
from tsunagu.web.state import make_templates
from tsunagu.work.rights.corrections import DisputeView
from tsunagu.work.rights.requests import jst_today
from web.conftest import Browser
from work.builders import Home, build_home, open_home


@pytest.fixture(scope="module")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build_home(tmp_path_factory.mktemp("rights-web"))
    built.close()
    return built.settings.home


@pytest.fixture
def browser(web_template: Path, tmp_path: Path) -> Iterator[Callable[[str], Browser]]:
    target = tmp_path / "home"
    copy_home(web_template, target)
    home: Home = open_home(target)
    app = create_app(home.settings)
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
    home.close()


def _created(response: object) -> str:
    location = response.headers["location"]  # type: ignore[attr-defined]
    found = re.match(r"/privacy/requests/(\d+)\?saved=created", location)
    assert found, location
    return found.group(1)


def test_the_officer_receives_tracks_and_answers_a_disclosure_request(browser: Callable[[str], Browser]) -> None:
    po = browser("po1")
    assert "/privacy/requests" in po.client.get("/privacy").text
    late = (jst_today() - timedelta(days=40)).isoformat()
    number = _created(po.post("/privacy/requests", {"person_id": "P0002", "kind": "disclosure",
                                                    "requester_kind": "legal_representative",
                                                    "requester_note": "母（親権者）", "received_on": late}))
    listing = po.client.get("/privacy/requests")
    assert listing.status_code == 200 and "期限超過 10日" in listing.text and "期限を過ぎた請求が 1件" in listing.text
    page = po.client.get(f"/privacy/requests/{number}")
    assert "第83条第1項" in page.text and "開示資料（PDF）" in page.text
    document = po.client.get(f"/privacy/requests/{number}/disclosure", params={"format": "pdf"})
    assert document.status_code == 200 and document.headers["content-type"] == "application/pdf"
    assert document.content.startswith(b"%PDF") and "attachment" in document.headers["content-disposition"]
    pack = po.client.get(f"/privacy/requests/{number}/disclosure", params={"format": "json"})
    data = json.loads(pack.content)
    assert data["person_id"] == "P0002" and data["links"] and data["screening"]
    done = po.post(f"/privacy/requests/{number}", {"action": "complete", "note": "全部開示"})
    assert done.status_code == 303
    page = po.client.get(f"/privacy/requests/{number}")
    assert "完了" in page.text and "開示資料の作成" in page.text


def test_a_correction_reaches_the_holding_departments_steward(browser: Callable[[str], Browser]) -> None:
    po = browser("po1")
    number = _created(po.post("/privacy/requests", {
        "person_id": "P0002", "kind": "correction", "requester_kind": "person", "source": "juki_jumin",
        "local_id": "1000000002", "field": "full_name", "claimed_value": "佐藤　華子"}))
    steward = browser("steward1")
    dashboard = steward.client.get("/dashboard")
    assert 'href="/privacy/corrections"' in dashboard.text
    notices = steward.client.get("/privacy/corrections")
    assert notices.status_code == 200 and "佐藤　華子" in notices.text and "回答する" in notices.text
    notice = re.search(r'action="/privacy/corrections/(\d+)"', notices.text)
    assert notice is not None
    short = steward.post(f"/privacy/corrections/{notice.group(1)}", {"outcome": "rejected", "note": "違う"})
    assert short.status_code == 422
    answered = steward.post(f"/privacy/corrections/{notice.group(1)}",
                            {"outcome": "rejected", "note": "住民票は届出のとおりで誤りはありません"})
    assert answered.status_code == 303
    refused = steward.client.get(f"/privacy/requests/{number}")
    assert refused.status_code == 403 and "拒否" in refused.text
    page = po.client.get(f"/privacy/requests/{number}")
    assert "訂正しない（理由あり）" in page.text and "保有部署からの回答" in page.text


def test_a_teacher_is_refused_the_requests_page(browser: Callable[[str], Browser]) -> None:
    teacher = browser("teacher1")
    response = teacher.client.get("/privacy/requests")
    assert response.status_code == 403 and "拒否" in response.text


def test_the_disputes_partial_for_the_child_page_renders() -> None:
    template = make_templates().env.get_template("_disputes.html")
    assert template.render(disputes=[]).strip() == ""
    shown = template.render(disputes=[DisputeView("juki_jumin", "1000000002", "full_name", "氏名", "disputed",
                                                  "係争中（訂正請求あり）", datetime(2026, 11, 2, tzinfo=UTC), 1, 7)])
    assert "係争中" in shown and "氏名" in shown and "受付番号 7" in shown
