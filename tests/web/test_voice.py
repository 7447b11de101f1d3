"""The children's pages (/kodomo), the consultation inbox and the 心の天気 board: services, pages and the
security meta-test over every children's route."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from tsunagu.privacy import AuditEntry, Subject
from tsunagu.privacy.policy import JST
from tsunagu.web.app import create_app
from tsunagu.web.kodomo import COOKIE
from tsunagu.web.security import SESSION_COOKIE
from tsunagu.work.voice import alerts, kokoro, threads
from tsunagu.work.voice.codes import CodeLocked, code_key
from tsunagu.work.voice.config import fold, urgent_terms
from tsunagu.work.voice.models import KokoroCheckIn, VoiceAlert, VoiceMessage
from web.conftest import Browser
from web.test_meta import flat_routes, routes_of
from web.voice_support import CENTRE, PRINCIPAL, TEACHER, Child, seed_voice
from work.builders import Home

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

OPEN_CHILD_PAGES = {"/kodomo/", "/kodomo/about"}


@pytest.fixture
def child(home: Home) -> Iterator[Callable[[], Child]]:
    app = create_app(home.settings)
    clients: list[TestClient] = []

    def make() -> Child:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Child(client)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def child_routes(home: Home) -> list[tuple[str, str]]:
    app = create_app(home.settings)
    found = []
    for route in flat_routes(app.routes):
        if isinstance(route, APIRoute) and route.path.startswith("/kodomo"):
            found += [(m, route.path) for m in sorted(route.methods or ()) if m not in ("HEAD", "OPTIONS")]
    return found


# -- urgent words ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["死にたい", "しにたい", "シニタイ", "ｼﾆﾀｲ", "死 に た い", "しにたぃ", "もう、しにたーい"])
def test_urgent_words_are_found_in_every_way_a_child_writes_them(text: str) -> None:
    assert urgent_terms(text) == ["suicide_want"]


def test_urgent_words_cover_the_briefs_examples_and_leave_ordinary_words_alone() -> None:
    assert urgent_terms("お父さんに 殴られる") == ["hit"]
    assert urgent_terms("イエニ カエリタクナイ") == ["no_home"]
    assert urgent_terms("きょうは えんぴつを 見つけられなかった") == []
    assert fold("ア　イ！") == "あい"


# -- consultation ---------------------------------------------------------------------------------
def test_an_urgent_message_alerts_everyone_on_duty_and_comes_first(home: Home) -> None:
    seeded = seed_voice(home)
    with home.factory.begin() as session:
        thread, _key, _word = threads.start_anonymous(session, code_key=b"k")
        threads.write(session, thread, "いえに かえりたくない。なぐられる", cipher=home.cipher)
        urgent_id = thread.id
    with home.factory.begin() as session:
        rows = threads.inbox(session, CENTRE, cipher=home.cipher)
        assert [r.thread.id for r in rows] == [urgent_id, seeded.thread_id]
        assert rows[0].urgent == ["殴られる・たたかれる", "家に帰りたくない"]
        assert alerts.open_alerts(session, "cw1").urgent == 1
        assert alerts.open_alerts(session, "teacher1").urgent == 0  # not on duty
        threads.read_thread(session, CENTRE, urgent_id, cipher=home.cipher)
    with home.factory() as session:
        assert alerts.open_alerts(session, "cw1").urgent == 0  # opening the thread acknowledged it
        stored = session.scalars(select(VoiceMessage.body_enc).where(VoiceMessage.thread_id == urgent_id)).one()
    assert "なぐられる".encode() not in stored  # encrypted at rest


def test_a_thread_is_linked_to_the_childs_record_only_with_the_writers_consent(home: Home) -> None:
    key_codes = seed_voice(home)
    with home.factory.begin() as session:
        code = kokoro.sign_in(session, key_codes.codes["0001"], code_key=_key(home), ip="t")
        thread = threads.write(session, None, "べんきょうが わからない", cipher=home.cipher, code=code)
        no_consent = thread.id
    with home.factory.begin() as session, pytest.raises(Exception, match="同意"):
        threads.link(session, CENTRE, no_consent)
    with home.factory.begin() as session:
        assert threads.link(session, CENTRE, key_codes.thread_id) == "P0002"
    with home.factory() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "voice.link")
                                .order_by(AuditEntry.seq.desc())).first()
    assert entry is not None and entry.person_id == "P0002" and entry.outcome == "allowed"


def test_a_teacher_cannot_open_the_consultation_inbox(home: Home) -> None:
    seed_voice(home)
    with home.factory.begin() as session, pytest.raises(Exception, match="拒否"):
        threads.inbox(session, TEACHER, cipher=home.cipher)


# -- 心の天気 ---------------------------------------------------------------------------------------
def _key(home: Home) -> bytes:
    return code_key(home.settings.home)


def _rainy_days(home: Home, pupil: str, code: str, days: int, weather: str = "雨") -> int:
    alerted = 0
    start = datetime.now(UTC) - timedelta(days=days - 1)
    with home.factory.begin() as session:
        row = kokoro.sign_in(session, code, code_key=_key(home), ip="t")
        for n in range(days):
            alerted += kokoro.check_in(session, row, weather, "", cipher=home.cipher, streak_entries=5,
                                       now=start + timedelta(days=n))
    return alerted


def test_a_streak_of_rain_alerts_the_class_teacher_and_the_ssw_once(home: Home) -> None:
    seeded = seed_voice(home)
    assert _rainy_days(home, "0001", seeded.codes["0001"], 4) == 0
    with home.factory.begin() as session:
        row = kokoro.sign_in(session, seeded.codes["0001"], code_key=_key(home), ip="t")
        assert kokoro.check_in(session, row, "雷", "", cipher=home.cipher, streak_entries=5,
                               now=datetime.now(UTC) + timedelta(days=1)) == 2
    with home.factory() as session:
        recipients = sorted(session.scalars(select(VoiceAlert.user_id).where(VoiceAlert.kind == "streak")))
    assert recipients == ["ssw1", "teacher1"]


def test_the_board_shows_today_two_weeks_and_who_has_not_checked_in(home: Home) -> None:
    seeded = seed_voice(home)
    with home.factory.begin() as session:
        row = kokoro.sign_in(session, seeded.codes["0002"], code_key=_key(home), ip="t")
        kokoro.check_in(session, row, "くもり", "ねむい", cipher=home.cipher, streak_entries=5)
    with home.factory.begin() as session:
        view = kokoro.board(session, TEACHER, seeded.class_id, today=datetime.now(JST).date(), cipher=home.cipher,
                            streak_entries=5)
    assert len(view.days) == 14
    assert view.missing == ["0001", "0004"]
    assert [(r.pupil_no, r.days[-1], r.word_today) for r in view.rows if r.pupil_no == "0002"] == [
        ("0002", "くもり", "ねむい")]
    with home.factory() as session:
        read = session.scalars(select(AuditEntry.person_id).where(AuditEntry.action == "kokoro.board",
                                                                  AuditEntry.person_id.is_not(None))).all()
    assert {"P0001", "P0002"} <= set(read)  # every pupil's read is on record


def test_another_teacher_and_the_centre_cannot_open_the_board(home: Home) -> None:
    seeded = seed_voice(home)
    for who in (Subject("teacher2", "teacher", "S002"), CENTRE):
        with home.factory.begin() as session, pytest.raises(Exception, match="拒否"):
            kokoro.board(session, who, seeded.class_id, today=date.today(), cipher=home.cipher, streak_entries=5)


def test_an_opted_out_pupil_stores_nothing_and_shows_nothing(home: Home) -> None:
    seeded = seed_voice(home)
    _rainy_days(home, "0002", seeded.codes["0002"], 2)
    with home.factory.begin() as session:
        assert kokoro.record_opt_out(session, TEACHER, seeded.class_id, "0002", date.today()) == 2
    with home.factory.begin() as session, pytest.raises(kokoro.KokoroUnavailable):
        row = kokoro.sign_in(session, seeded.codes["0002"], code_key=_key(home), ip="t")
        kokoro.check_in(session, row, "晴れ", "", cipher=home.cipher, streak_entries=5)
    with home.factory.begin() as session:
        stored = session.scalar(select(func.count()).select_from(KokoroCheckIn).where(KokoroCheckIn.pupil_no == "0002"))
        view = kokoro.board(session, TEACHER, seeded.class_id, today=date.today(), cipher=home.cipher, streak_entries=5)
    assert stored == 0
    assert [r.opted_out for r in view.rows if r.pupil_no == "0002"] == [True]
    assert "0002" not in view.missing
    with home.factory.begin() as session:  # the guardian changes their mind: entries are stored again
        assert kokoro.withdraw_opt_out(session, TEACHER, seeded.class_id, "0002") is True
        row = kokoro.sign_in(session, seeded.codes["0002"], code_key=_key(home), ip="t")
        kokoro.check_in(session, row, "晴れ", "", cipher=home.cipher, streak_entries=5)
    with home.factory() as session:
        assert session.scalar(select(func.count()).select_from(KokoroCheckIn).where(KokoroCheckIn.pupil_no == "0002")) == 1


def test_reissuing_revokes_the_old_code_and_the_export_feeds_the_kokoro_manifest(home: Home) -> None:
    seeded = seed_voice(home)
    _rainy_days(home, "0001", seeded.codes["0001"], 3)
    with home.factory.begin() as session:
        text = kokoro.export_csv(session, PRINCIPAL, date.today() - timedelta(days=30), date.today() + timedelta(days=1))
    lines = text.splitlines()
    assert lines[1] == "学校コード,児童生徒番号,日付,天気" and len(lines) == 2 + 3
    assert all(line.startswith("S001,0001,") and line.endswith(",雨") for line in lines[2:])
    with home.factory.begin() as session:
        _klass, issued = kokoro.issue_codes(session, TEACHER, label="5年1組", pupils=["0002"], code_key=_key(home))
    with home.factory.begin() as session, pytest.raises(kokoro.CodeRefused):
        kokoro.sign_in(session, seeded.codes["0002"], code_key=_key(home), ip="t")
    with home.factory.begin() as session:  # the new card opens the same conversation
        row = kokoro.sign_in(session, issued[0].code, code_key=_key(home), ip="t")
        thread = threads.thread_of_code(session, row)
        assert thread is not None and thread.id == seeded.thread_id


def test_wrong_codes_lock_the_address(home: Home) -> None:
    seed_voice(home)
    for _ in range(10):
        with home.factory.begin() as session, pytest.raises(kokoro.CodeRefused):
            kokoro.sign_in(session, "AAAAA-AAAAA", code_key=_key(home), ip="10.0.0.9")
    with home.factory.begin() as session, pytest.raises(CodeLocked):
        kokoro.sign_in(session, "AAAAA-AAAAA", code_key=_key(home), ip="10.0.0.9")


# -- the security meta-test over every children's route ---------------------------------------------
def _child_call(c: Child, method: str, path: str):  # type: ignore[no-untyped-def]
    if method == "GET":
        return c.client.get(path, follow_redirects=False)
    return c.post(path, {"text": "staff cookie", "code": "x", "word": "x", "weather": "晴れ"})


def test_no_staff_session_opens_a_childs_page(home: Home, browser: Callable[..., Browser]) -> None:
    seeded = seed_voice(home)
    routes = child_routes(home)
    assert len(routes) >= 10 and not any("{" in path for _m, path in routes)  # no id in any children's URL
    for user in ("cw1", "teacher1"):
        staff = browser(user)
        as_child = Child(staff.client)
        as_child.csrf = staff.csrf  # the staff CSRF token is no child's token either
        for method, path in routes:
            response = _child_call(as_child, method, path)
            if method == "GET" and path in OPEN_CHILD_PAGES:
                assert response.status_code == 200, path
            elif method == "GET":
                assert response.status_code == 303 and response.headers["location"] == "/kodomo/", (user, path)
            else:
                assert response.status_code == 403, (user, method, path, response.status_code)
            assert "けんか" not in response.text  # pupil 0002's thread
        assert SESSION_COOKIE in staff.client.cookies  # the staff cookie was sent all along
    with home.factory() as session:
        assert session.scalar(select(func.count()).select_from(VoiceMessage)) == 1  # nothing was written
    assert seeded.thread_id == 1


def test_no_child_session_reaches_a_staff_page(home: Home, child: Callable[[], Child]) -> None:
    seeded = seed_voice(home)
    pupil = child()
    assert pupil.sign_in(seeded.codes["0001"]) == 303
    anonymous = child()
    anonymous.anonymous()
    cookie = pupil.client.cookies.get(COOKIE)
    assert cookie
    for c in (pupil, anonymous):
        # The child's cookie is sent to the staff app under the staff cookie's name too: still nobody.
        c.client.cookies.set(SESSION_COOKIE, cookie)
        for method, template in routes_of(home):
            if template in {"/", "/login", "/public/resources", "/openapi.json", "/docs", "/docs/oauth2-redirect",
                            "/redoc"}:
                continue
            url = re.sub(r"{(\w+)}", "1", template)
            if method == "GET":
                response = c.client.get(url, follow_redirects=False)
                if template.startswith("/api/"):
                    assert response.status_code == 401, template
                else:
                    assert response.status_code == 303 and response.headers["location"].startswith("/?next="), template
            else:
                response = c.post(url)
                assert response.status_code in (401, 403), (template, response.status_code)


def test_a_pupil_cannot_read_another_pupils_or_an_anonymous_thread(home: Home, child: Callable[[], Child]) -> None:
    seeded = seed_voice(home)
    writer = child()
    word = writer.anonymous()
    assert writer.post("/kodomo/soudan", {"text": "ひみつの そうだん"}).status_code == 303
    other = child()
    assert other.sign_in(seeded.codes["0001"]) == 303
    page = other.client.get("/kodomo/soudan").text
    assert "けんか" not in page and "ひみつ" not in page
    owner = child()
    assert owner.sign_in(seeded.codes["0002"]) == 303
    assert "けんか" in owner.client.get("/kodomo/soudan").text
    back = child()
    token = re.search(r'name="csrf_token" value="([^"]+)"', back.client.get("/kodomo/").text)
    assert token is not None
    assert back.client.post("/kodomo/reentry", data={"word": word, "csrf_token": token.group(1)},
                            follow_redirects=False).status_code == 303
    assert "ひみつの そうだん" in back.client.get("/kodomo/soudan").text
    # the word replaced the old key: the first browser's cookie no longer opens the thread
    assert "ひみつ" not in writer.client.get("/kodomo/soudan", follow_redirects=True).text


# -- pages ------------------------------------------------------------------------------------------
def test_the_on_duty_staff_page_shows_the_banner_and_the_urgent_thread_first(
        home: Home, browser: Callable[..., Browser], child: Callable[[], Child]) -> None:
    seed_voice(home)
    kid = child()
    kid.anonymous()
    assert kid.post("/kodomo/soudan", {"text": "しにたい"}).status_code == 303
    staff = browser("cw1")
    dashboard = staff.client.get("/dashboard").text
    assert "緊急の相談があります（1件）" in dashboard
    inbox = staff.client.get("/voice").text
    assert inbox.index("しにたい") < inbox.index("ともだちと けんかした")
    assert "緊急の相談があります" not in browser("teacher1").client.get("/dashboard").text


def test_the_check_in_page_of_an_opted_out_pupil_says_only_that_it_cannot_be_used(
        home: Home, child: Callable[[], Child]) -> None:
    seeded = seed_voice(home)
    with home.factory.begin() as session:
        kokoro.record_opt_out(session, TEACHER, seeded.class_id, "0002", date.today())
    kid = child()
    assert kid.sign_in(seeded.codes["0002"]) == 303
    page = kid.client.get("/kodomo/tenki").text
    assert "いまは つかえません" in page and "保護者" not in page and "おうち" not in page
    assert kid.post("/kodomo/tenki", {"weather": "雨"}).status_code == 200
    with home.factory() as session:
        assert session.scalar(select(func.count()).select_from(KokoroCheckIn)) == 0


def test_the_retention_run_purges_old_threads_and_check_ins_and_keeps_recent_ones(home: Home) -> None:
    from tsunagu.hub import Hub
    from tsunagu.work.rights.retention import run_retention

    seeded = seed_voice(home)
    _rainy_days(home, "0001", seeded.codes["0001"], 1)
    with home.factory.begin() as session:
        old, _thread_key, _word = threads.start_anonymous(session, code_key=b"k",
                                                    now=datetime.now(UTC) - timedelta(days=4 * 365))
        threads.write(session, old, "しにたい", cipher=home.cipher, now=datetime.now(UTC) - timedelta(days=4 * 365))
        old_id = old.id
    admin = Subject("po1", "privacy_officer", "privacy")
    with Hub(home.settings) as hub:
        later = date.today() + timedelta(days=400)  # the check-in is past its year, thread 1 is not past three
        report = run_retention(home.settings, admin, today=later, sessions=hub.sessions, nodes={}, vaults=False)
    assert report.hub["voice_threads"] == 1 and report.hub["voice_messages"] == 1
    assert report.hub["voice_alerts"] == 1 and report.hub["kokoro_checkins"] == 1
    with home.factory() as session:
        assert session.get(threads.VoiceThread, old_id) is None
        assert session.get(threads.VoiceThread, seeded.thread_id) is not None


def test_a_streak_of_check_ins_adds_a_screening_reason_but_never_raises_a_tier_alone(home: Home) -> None:
    """The check-ins, exported as the schools' 心の天気 file, read by the baseline rules: the streak is a
    reason (nonc_kokoro_streak) and the tier stays 対象外; with a low non-cognitive score it is 見守り."""
    from pathlib import Path

    from tsunagu.screen import load_rule_set
    from tsunagu.screen.scenarios import Expect, LoadedScenario, Person, Record, Scenario, run_scenario

    seeded = seed_voice(home)
    last = datetime.now(UTC)
    with home.factory.begin() as session:
        row = kokoro.sign_in(session, seeded.codes["0001"], code_key=_key(home), ip="t")
        for n, weather in enumerate(["晴れ", "雨", "雷", "雨", "雨", "雷", "くもり"]):
            kokoro.check_in(session, row, weather, "", cipher=home.cipher, streak_entries=5,
                            now=last - timedelta(days=6 - n))
        text = kokoro.export_csv(session, PRINCIPAL, date.today() - timedelta(days=30), date.today() + timedelta(days=1))
    records = [Record(item="kokoro_weather", value=w, observed_on=date.fromisoformat(d))
               for _school, _no, d, w in (line.split(",") for line in text.splitlines()[2:])]
    assert len(records) == 7
    rules = load_rule_set(Path(__file__).resolve().parents[2] / "rules", None)
    as_of = last.astimezone(JST).date()
    alone = Scenario(name="心の天気だけ", as_of=as_of, person=Person(birth_date=date(2015, 5, 1), grade=5),
                     records=records, expect=Expect(tier="対象外", reasons=["nonc_kokoro_streak"]))
    outcome = run_scenario(LoadedScenario(alone, "test_voice", None, None), rules)
    assert outcome.passed, outcome.differences
    with_low = alone.model_copy(update={
        "records": [*records, Record(item="noncognitive_score", value=36, observed_on=as_of - timedelta(days=60))],
        "expect": Expect(tier="見守り", domains=["noncognitive"], reasons=["nonc_kokoro_streak", "nonc_low"])})
    outcome = run_scenario(LoadedScenario(with_low, "test_voice", None, None), rules)
    assert outcome.passed, outcome.differences


def test_a_teacher_prints_a_class_set_of_slips_and_a_refused_form_keeps_what_was_typed(
        home: Home, browser: Callable[..., Browser]) -> None:
    teacher = browser("teacher1")
    response = teacher.post("/kokoro/codes", {"label": "6年2組", "pupils": "0001\n0003"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and b"IPAexGothic" in response.content
    refused = teacher.post("/kokoro/codes", {"label": "6年3組", "pupils": "0001\n番号？"})
    assert refused.status_code == 422
    assert 'value="6年3組"' in refused.text and "番号？" in refused.text
    assert re.search(r'id="k-pupils-error"[^>]*>児童生徒番号を1行に1つずつ', refused.text)  # beside the field
    notice = teacher.client.get("/kokoro/notice.pdf")
    assert notice.status_code == 200 and b"IPAexGothic" in notice.content
    with home.factory() as session:
        from tsunagu.work.voice.models import PupilCode

        issued = session.scalars(select(PupilCode.pupil_no).where(PupilCode.issued_by == "teacher1")).all()
    assert sorted(issued) == ["0001", "0003"]


def _beside(page: str, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field_id}-error" role="alert">([^<]+)</p>', page)
    assert found is not None, f"no message beside {field_id}"
    return found.group(1)


def test_a_refused_staff_form_comes_back_on_its_page_with_what_was_typed(
        home: Home, browser: Callable[..., Browser]) -> None:
    seeded = seed_voice(home)
    cw = browser("cw1")
    long_reply = "はなしてくれて ありがとう。" * 200  # over 2,000 characters
    refused = cw.post(f"/voice/threads/{seeded.thread_id}/reply", {"text": long_reply})
    assert refused.status_code == 422 and "2000文字以内" in _beside(refused.text, "reply-text")
    assert f">{long_reply}</textarea>" in refused.text and "ともだちと けんかした" in refused.text  # the thread itself
    refused = cw.post(f"/voice/threads/{seeded.thread_id}/triage", {"priority": "high", "category": "school",
                                                                     "status": "open", "assigned_to": "teacher1"})
    assert refused.status_code == 422 and "職員から選んでください" in _beside(refused.text, "t-assigned")
    assert re.search(r'<option value="high" selected>', refused.text)  # the priority chosen stays chosen
    refused = cw.post("/voice/duty", {"on_duty": ["cw1", "teacher1"]})  # type: ignore[dict-item]
    assert refused.status_code == 422 and "当番にできるのは" in _beside(refused.text, "duty")
    assert re.search(r'value="cw1" checked', refused.text)
    teacher = browser("teacher1")
    refused = teacher.post(f"/kokoro/classes/{seeded.class_id}/opt-out", {"pupil_no": "0004", "received_on": "4月1日"})
    assert refused.status_code == 422 and "YYYY-MM-DD" in _beside(refused.text, "o-day")
    assert 'value="0004"' in refused.text and 'value="4月1日"' in refused.text
    with home.factory() as session:
        assert not kokoro.opted_out(session, "S001", "0004")  # nothing recorded


def test_a_childs_refused_form_keeps_what_they_typed(home: Home, child: Callable[[], Child]) -> None:
    seeded = seed_voice(home)
    visitor = child()
    token = re.search(r'name="csrf_token" value="([^"]+)"', visitor.client.get("/kodomo/").text)
    assert token is not None
    wrong = visitor.client.post("/kodomo/signin", data={"code": "ZZZZZ-ZZZZZ", "csrf_token": token.group(1)})
    assert wrong.status_code >= 400 and 'value="ZZZZZ-ZZZZZ"' in wrong.text and 'id="start-error"' in wrong.text
    pupil = child()
    assert pupil.sign_in(seeded.codes["0001"]) == 303
    no_weather = pupil.post("/kodomo/tenki", {"weather": "", "word": "きょうは ねむい"})
    assert no_weather.status_code == 422 and "てんきを ひとつ" in no_weather.text
    assert ">きょうは ねむい</textarea>" in no_weather.text
    too_long = "ながい " * 600  # over 2,000 characters
    refused = pupil.post("/kodomo/soudan", {"text": too_long})
    assert refused.status_code == 422 and f">{too_long}</textarea>" in refused.text and 'id="soudan-error"' in refused.text
