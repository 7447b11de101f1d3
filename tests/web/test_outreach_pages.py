"""The programme officer's pages: the take-up gap list and the outcomes of each wave."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from tsunagu.link.models import HouseholdMember
from tsunagu.outreach.models import (
    OutreachLanguage,
    OutreachNotice,
    OutreachOptOut,
    OutreachOutcome,
    OutreachResult,
    OutreachRun,
    OutreachWave,
)
from tsunagu.privacy import AuditEntry
from web.conftest import Browser
from work.builders import Home

CONDITIONS = [
    {"id": "public_assistance", "group": "any", "held": False, "evidence": []},
    {"id": "tax_exempt", "group": "any", "held": True,
     "evidence": [{"indicator": "tax_exempt", "value": "true", "department": "tax", "observed_on": "2026-06-01"}]},
    {"id": "child_rearing_allowance", "group": "any", "held": False, "evidence": []},
    {"id": "income_line", "group": "any", "held": None, "evidence": []},
]


def _seed(home: Home) -> None:
    now = datetime.now(UTC)
    with home.factory.begin() as session:
        session.add(OutreachRun(run_id="o-1", as_of=date(2026, 10, 31), started_at=now, finished_at=now,
                                programme_hash="x" * 64, programmes_json="{}",
                                counts_json=json.dumps({"school_aid": {"eligible": 3, "receiving": 2, "gap": 1,
                                                                       "receipt_unknown": 0, "undetermined": 0}}),
                                unavailable_json="[]", snapshots_json="{}", children=4))
        session.flush()
        session.add(OutreachResult(run_id="o-1", programme="school_aid", person_id="P0002", household_id="H:1",
                                   status="eligible", receiving=False, gap=True,
                                   conditions=json.dumps(CONDITIONS, ensure_ascii=False),
                                   unchecked=json.dumps(["income_line"]), receipt_on=None))
        session.add(OutreachWave(wave_id="20261110-AB12CD", run_id="o-1", department="board_of_education",
                                 programmes_json='["school_aid"]', sent_on=date(2026, 11, 10), created_at=now,
                                 created_by="officer1", letters=1, skipped_opt_out=0, skipped_no_address=0,
                                 languages_json="{}", folder=""))
        session.flush()
        session.add(OutreachNotice(wave_id="20261110-AB12CD", notice_no="20261110-AB12CD-00001", household_id="H:1",
                                   person_ids=json.dumps({"school_aid": ["P0002"]}), programmes='["school_aid"]',
                                   language="ja", file="letters_ja_001.pdf#1"))
        session.add(OutreachOutcome(wave_id="20261110-AB12CD", run_id="o-1", programme="school_aid", person_id="P0002",
                                    household_id="H:1", took_up=True, taken_on=date(2026, 11, 20), in_window=True))


def test_the_officer_sees_the_departments_gaps_without_other_departments_values(
    home: Home, browser: Callable[..., Browser],
) -> None:
    _seed(home)
    page = browser("officer1").client.get("/outreach")
    assert page.status_code == 200
    main = page.text[page.text.index("<main"):page.text.index("</main>")]
    text = re.sub(r"<[^>]+>", " ", main)  # what a person reads on the page, not attribute values
    assert "未利用の対象世帯（教育委員会 学務課）" in text and "就学援助" in text and "佐藤　花子" in text
    assert "経済的な事情による要件に当たる" in text and "他の部署が保有する要件" in text
    for secret in ("税務課", "非課税", "2026-06-01", "P0002", "school_aid", "board_of_education"):
        assert secret not in text, secret
    with home.factory() as session:
        listed = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "outreach.list", AuditEntry.person_id == "P0002", AuditEntry.outcome == "allowed"))
    assert listed == 1


def test_other_roles_are_refused_and_the_refusal_recorded(home: Home, browser: Callable[..., Browser]) -> None:
    _seed(home)
    page = browser("teacher1").client.get("/outreach")
    assert page.status_code == 403 and "拒否" in page.text
    with home.factory() as session:
        refused = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "outreach.list", AuditEntry.outcome == "denied"))
    assert refused == 1


def test_the_outcomes_page_shows_each_wave(home: Home, browser: Callable[..., Browser]) -> None:
    _seed(home)
    page = browser("officer1").client.get("/outreach/outcomes")
    assert page.status_code == 200
    assert "2026-11-10 発送" in page.text and "1人（120日以内）" in page.text and "100.0%" in page.text


def _household(home: Home) -> None:
    with home.factory.begin() as session:
        session.add(HouseholdMember(household_id="H:1", person_id="P0002", role="child", relationship="子",
                                    valid_from=datetime(2026, 10, 31, tzinfo=UTC), valid_to=None))


def test_a_familys_opt_out_and_language_are_recorded_from_the_list(home: Home, browser: Callable[..., Browser]) -> None:
    _seed(home)
    _household(home)
    officer = browser("officer1")
    page = officer.client.get("/outreach").text
    assert 'action="/outreach/people/P0002/opt-out"' in page and "案内の言語" in page and "ベトナム語" in page
    done = officer.post("/outreach/people/P0002/opt-out", {"programme": "school_aid", "reason": "電話で不要との申出（11/5）"})
    assert done.status_code == 303 and done.headers["location"] == "/outreach?saved=optout"
    assert officer.post("/outreach/people/P0002/language", {"language": "vi"}).status_code == 303
    with home.factory() as session:
        stop = session.scalars(select(OutreachOptOut)).one()
        assert (stop.household_id, stop.programme, stop.recorded_by) == ("H:1", "school_aid", "officer1")
        assert session.get(OutreachLanguage, "H:1").language == "vi"  # type: ignore[union-attr]
    after = officer.client.get("/outreach").text
    assert "案内停止の申出あり" in after


def test_a_refused_opt_out_comes_back_with_what_was_typed(home: Home, browser: Callable[..., Browser]) -> None:
    _seed(home)
    _household(home)
    officer = browser("officer1")
    refused = officer.post("/outreach/people/P0002/opt-out", {"programme": "nursery", "reason": "窓口で申出"})
    assert refused.status_code == 422
    assert "この部署が実施する制度に" in refused.text and 'value="窓口で申出"' in refused.text
    blank = officer.post("/outreach/people/P0002/opt-out", {"programme": "school_aid", "reason": " "})
    assert blank.status_code == 422 and "申出の内容を入力してください" in blank.text
    assert '<option value="school_aid" selected>' in blank.text
    with home.factory() as session:
        assert session.scalar(select(func.count()).select_from(OutreachOptOut)) == 0  # nothing half-recorded


def test_a_receipt_that_could_not_be_read_is_named_on_the_list(home: Home, browser: Callable[..., Browser]) -> None:
    now = datetime.now(UTC)
    with home.factory.begin() as session:
        session.add(OutreachRun(run_id="o-2", as_of=date(2026, 10, 31), started_at=now, finished_at=now,
                                programme_hash="y" * 64, programmes_json="{}", counts_json="{}",
                                unavailable_json="[]", snapshots_json="{}", children=1))
        session.flush()
        conditions = [*CONDITIONS, {"id": "receiving", "group": "receiving", "held": None, "evidence": [],
                                    "unreadable": True}]
        session.add(OutreachResult(run_id="o-2", programme="school_aid", person_id="P0002", household_id="H:1",
                                   status="eligible", receiving=None, gap=False,
                                   conditions=json.dumps(conditions, ensure_ascii=False),
                                   unchecked=json.dumps(["receiving"]), receipt_on=None))
    page = browser("officer1").client.get("/outreach").text
    assert "受給・利用の状況を確認できない" in page
    assert "就学援助の認定を受けている（直近13か月）：確認できない（受給データに読めない行があります）" in page
