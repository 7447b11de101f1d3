"""相談する from the family portal: the services (over the channel's own threads) and the pages."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from family.builders import SATO
from family.web import csrf_of, enrol, issue
from tsunagu.hub import Hub
from tsunagu.privacy import AuditEntry, Subject
from tsunagu.web.app import create_app
from tsunagu.web.family.session import COOKIE
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.rights.retention import delete_planned, packaged_periods, plan_hub
from tsunagu.work.voice import alerts, guardian, threads
from tsunagu.work.voice.models import VoiceAlert, VoiceMessage, VoiceThread
from web.conftest import Browser
from work.builders import Home

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

MOTHER = Subject("guardian:1", "guardian", "家族向けページ")
OTHER = Subject("guardian:2", "guardian", "家族向けページ")
CENTRE = Subject("cw1", "centre_caseworker", "family_centre")
SATO_CHILDREN = {"P0002", "P0005"}


def _denied(hub: Hub, user_id: str, action: str) -> int:
    with hub.unit() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.actor == user_id, AuditEntry.action == action, AuditEntry.outcome == "denied")) or 0)


def test_an_urgent_guardian_message_alerts_those_on_duty_and_comes_first(family_hub: Hub) -> None:
    with family_hub.unit() as session:
        alerts.set_duty(session, CENTRE, ["cw1"])
        code_thread = threads.start_anonymous(session, code_key=b"k" * 32)[0]
        threads.write(session, code_thread, "ともだちと けんかした", cipher=family_hub.note_cipher)
        thread = guardian.start(session, MOTHER, "夫に殴られることがあり、子どもと家に帰りたくないです",
                                cipher=family_hub.note_cipher, about="P0005", about_relationship="own_child",
                                key=family_hub.signing_key)
        thread_id = thread.id
    with family_hub.unit() as session:
        stored = session.get(VoiceThread, thread_id)
        assert stored is not None and stored.writer_kind == "guardian" and stored.guardian_account == "guardian:1"
        assert stored.urgent and stored.about_person_id == "P0005" and stored.linked_person_id is None
        body = session.scalars(select(VoiceMessage.body_enc).where(VoiceMessage.thread_id == thread_id)).one()
        assert "殴".encode() not in body  # encrypted like every message of the channel
        assert session.scalars(select(VoiceAlert.user_id).where(VoiceAlert.thread_id == thread_id)).all() == ["cw1"]
        rows = threads.inbox(session, CENTRE, cipher=family_hub.note_cipher, key=family_hub.signing_key)
    assert rows[0].thread.id == thread_id and rows[0].urgent == ["殴られる・たたかれる", "家に帰りたくない"]
    assert len(rows) == 2


def test_a_guardian_names_only_their_own_child_and_a_refusal_writes_nothing(family_hub: Hub) -> None:
    before = _denied(family_hub, "guardian:1", "family.consult.about")
    with pytest.raises(Refused), family_hub.unit() as session:
        guardian.start(session, MOTHER, "相談です", cipher=family_hub.note_cipher, about="P0003", about_relationship="none",
                       key=family_hub.signing_key)
    assert _denied(family_hub, "guardian:1", "family.consult.about") == before + 1
    with family_hub.unit() as session:
        assert session.scalar(select(func.count()).select_from(VoiceThread)) == 0
    with pytest.raises(Invalid), family_hub.unit() as session:
        guardian.start(session, MOTHER, "   ", cipher=family_hub.note_cipher, key=family_hub.signing_key)


def test_a_guardian_never_opens_another_guardian_s_or_a_child_s_thread(family_hub: Hub) -> None:
    with family_hub.unit() as session:
        theirs = guardian.start(session, OTHER, "ほかの家庭の相談", cipher=family_hub.note_cipher,
                                key=family_hub.signing_key).id
        child = threads.start_anonymous(session, code_key=b"k" * 32)[0]
        threads.write(session, child, "こどもの そうだん", cipher=family_hub.note_cipher)
        child_id = child.id
        mine = guardian.start(session, MOTHER, "自分の相談", cipher=family_hub.note_cipher, key=family_hub.signing_key).id
    for thread_id in (theirs, child_id, 9999):
        for action, call in (("family.consult.read", lambda s, t: guardian.read(s, MOTHER, t, cipher=family_hub.note_cipher)),
                             ("family.consult.write", lambda s, t: guardian.write(s, MOTHER, t, "のぞき見",
                                                                                  cipher=family_hub.note_cipher))):
            before = _denied(family_hub, "guardian:1", action)
            with pytest.raises(Refused), family_hub.unit() as session:
                call(session, thread_id)
            assert _denied(family_hub, "guardian:1", action) == before + 1
    with family_hub.unit() as session:
        assert [s.id for s in guardian.my_threads(session, MOTHER)] == [mine]
        _thread, lines = guardian.read(session, MOTHER, mine, cipher=family_hub.note_cipher)
        assert [line.text for line in lines] == ["自分の相談"]
        assert session.scalar(select(func.count()).select_from(VoiceMessage).where(
            VoiceMessage.thread_id == theirs)) == 1  # the refused write added nothing


def test_consent_is_the_guardian_s_and_only_for_a_child_still_theirs_then_staff_link(family_hub: Hub) -> None:
    with family_hub.unit() as session:
        thread_id = guardian.start(session, MOTHER, "発達のことで相談したい", cipher=family_hub.note_cipher, about="P0005",
                                   about_relationship="own_child", key=family_hub.signing_key).id
        plain = guardian.start(session, MOTHER, "子育ての相談", cipher=family_hub.note_cipher).id
    with pytest.raises(Invalid, match="同意"), family_hub.unit() as session:
        threads.link(session, CENTRE, thread_id)
    with pytest.raises(Refused), family_hub.unit() as session:  # another guardian cannot consent for her
        guardian.consent(session, OTHER, thread_id, own_children={"P0005"})
    with pytest.raises(Refused), family_hub.unit() as session:  # the child left her household
        guardian.consent(session, MOTHER, thread_id, own_children=set())
    with pytest.raises(Invalid), family_hub.unit() as session:  # no child named: nothing to link to
        guardian.consent(session, MOTHER, plain, own_children=SATO_CHILDREN)
    with family_hub.unit() as session:
        guardian.consent(session, MOTHER, thread_id, own_children=SATO_CHILDREN)
        stored = session.get(VoiceThread, thread_id)
        assert stored is not None and threads.suggested_person(session, stored) == "P0005"
        assert threads.link(session, CENTRE, thread_id) == "P0005"
    with family_hub.unit() as session:
        stored = session.get(VoiceThread, thread_id)
        assert stored is not None and stored.linked_person_id == "P0005" and stored.linked_by == "cw1"


def test_the_pages_keep_what_was_typed_and_show_the_thread(family_home: Home) -> None:
    app = create_app(family_home.settings)
    with TestClient(app) as client:
        csrf = enrol(client, issue(family_home, SATO))
        guardian_cookie = client.cookies.get(COOKIE)
        assert guardian_cookie
        page = client.get("/family/consult")
        assert page.status_code == 200 and "相談する" in page.text and "189" in page.text
        assert "佐藤　陽太" in page.text and "鈴木" not in page.text
        refused = client.post("/family/consult", data={"csrf_token": csrf, "text": " ", "about": "P0005"})
        assert refused.status_code == 422 and "書いてから送ってください" in refused.text
        assert 'value="P0005" selected' in refused.text
        sent = client.post("/family/consult", data={"csrf_token": csrf, "text": "夜泣きがつらいです", "about": "P0005"},
                           follow_redirects=False)
        assert sent.status_code == 303
        thread = client.get(sent.headers["location"])
        assert "夜泣きがつらいです" in thread.text and "佐藤　陽太さんの記録と結び付けてよい" in thread.text
        url = sent.headers["location"].split("?")[0]
        thread_id = url.rsplit("/", 1)[1]
    with TestClient(app) as staff_client:  # the centre sees it as 保護者から, not which child, no consent yet
        staff = Browser(staff_client)
        assert staff.sign_in("cw1") == 303
        inbox = staff_client.get("/voice")
        assert "保護者から" in inbox.text and "夜泣きがつらいです" in inbox.text
        staff_page = staff_client.get(f"/voice/threads/{thread_id}")
        assert "保護者の同意はまだありません" in staff_page.text and "保護者が読みます" in staff_page.text
        assert "陽太" not in staff_page.text and "P0005" not in staff_page.text
    with TestClient(app) as client:
        client.cookies.set(COOKIE, guardian_cookie)
        assert client.post(f"{url}/consent", data={"csrf_token": csrf_of(thread.text)},
                           follow_redirects=False).status_code == 303
        assert "受け付けました" in client.get(url).text
        stranger = client.post("/family/consult", data={"csrf_token": csrf, "text": "相談", "about": "P0003"})
        assert stranger.status_code == 403 and "鈴木" not in stranger.text


def test_a_guardian_s_thread_is_kept_and_purged_by_the_channel_s_retention(family_hub: Hub) -> None:
    with family_hub.unit() as session:
        old = guardian.start(session, MOTHER, "昔の相談", cipher=family_hub.note_cipher,
                             now=datetime(2020, 1, 6, 10, 0, tzinfo=UTC)).id
        recent = guardian.start(session, MOTHER, "今の相談", cipher=family_hub.note_cipher).id
    with family_hub.unit() as session:
        plan = plan_hub(session, packaged_periods(), date(2026, 12, 7))
        assert old in plan.ids["voice_threads"] and recent not in plan.ids["voice_threads"]
        delete_planned(session, plan)
    with family_hub.unit() as session:
        assert [s.id for s in guardian.my_threads(session, MOTHER)] == [recent]
