"""Report intake: due times, the floor of the hard rules, reasons where a decision differs, escalation
with a fixed clock, re-assessment on new information, and who may see which intake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select
from sqlalchemy import text as sql

from support.hubs import ON_POSTGRES
from tsunagu.privacy import AuditEntry, Subject
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.urgency import intake as svc
from tsunagu.work.urgency.models import Intake
from work.builders import Home

CGC = Subject("cgc1", "child_guidance_caseworker", "child_guidance_centre")
CENTRE = Subject("cw1", "centre_caseworker", "family_centre")
RECEIVED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _form(**grades: str) -> svc.IntakeForm:
    return svc.IntakeForm(received_at=RECEIVED, reporter_kind="学校", concern="顔にあざ。家に帰りたくないと話す",
                          grades=grades, person_id="P0002", reporter_note="担任から電話", supervisor="boss1")


def test_an_intake_gets_its_due_time_and_the_hard_rules_floor(uhome: Home) -> None:
    with uhome.factory.begin() as session:
        view = svc.record_intake(session, CGC, _form(child_wish="not_home"), cipher=uhome.cipher, hours=48)
    assert view.due_at == RECEIVED + timedelta(hours=48)
    latest = view.latest
    assert latest is not None and latest.hard_level == "緊急"
    assert latest.estimate["available"] is True
    assert 0 <= latest.estimate["model"]["low"] <= latest.estimate["model"]["share"] <= latest.estimate["model"]["high"]
    assert latest.estimate["knn"]["k"] == 30 and len(latest.estimate["knn"]["cases"]) == 10
    assert "予測ではありません" in latest.estimate["wording"]
    assert latest.estimate["levers"], "an unknown item worth asking is named"


def test_the_municipality_may_set_a_shorter_period_never_a_longer(uhome: Home) -> None:
    home_dir = uhome.settings.home
    assert svc.safety_hours(home_dir) == 48
    (home_dir / "urgency.yaml").write_text("safety_check_hours: 24\nreference: 市の要綱第3条\n", encoding="utf-8")
    assert svc.safety_hours(home_dir) == 24
    (home_dir / "urgency.yaml").write_text("safety_check_hours: 72\nreference: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"urgency\.yaml:1"):
        svc.safety_hours(home_dir)


def test_a_decision_below_the_floor_needs_a_reason_which_is_kept_sealed(uhome: Home) -> None:
    with uhome.factory.begin() as session:
        view = svc.record_intake(session, CGC, _form(sexual_abuse="disclosed"), cipher=uhome.cipher, hours=48)
    with uhome.factory.begin() as session, pytest.raises(Invalid, match="ハードルールの区分（緊急）より低い"):
        svc.decide(session, CGC, view.id, level="通常", protect=False, reason="", cipher=uhome.cipher)
    reason = "本日中に学校で面接し母方祖母宅に避難済みを確認"
    with uhome.factory.begin() as session:
        done = svc.decide(session, CGC, view.id, level="通常", protect=False, reason=reason, cipher=uhome.cipher)
    assert done.latest is not None and done.latest.differs and done.latest.reason == reason
    with uhome.factory.begin() as session:  # agreeing with the floor needs no reason
        same = svc.decide(session, CGC, view.id, level="緊急", protect=True, reason="", cipher=uhome.cipher)
    assert same.latest is not None and not same.latest.differs
    assert not _stored_in_clear(uhome, reason.encode())


def _stored_in_clear(home: Home, text: bytes) -> bool:
    """Whether ``text`` is anywhere in the hub store: its SQLite file's bytes, or any value of any table."""
    if not ON_POSTGRES:
        with open(home.settings.hub_url.removeprefix("sqlite:///"), "rb") as fh:
            return text in fh.read()
    with home.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(sql(f'SELECT * FROM "{table}"')):
                if any(text in (v.encode() if isinstance(v, str) else bytes(v)) for v in row
                       if isinstance(v, str | bytes | memoryview)):
                    return True
    return False


def test_overdue_intakes_escalate_once_with_a_fixed_clock(uhome: Home) -> None:
    with uhome.factory.begin() as session:
        view = svc.record_intake(session, CGC, _form(injury="minor"), cipher=uhome.cipher, hours=48)
    with uhome.factory.begin() as session:
        assert svc.escalate_overdue(session, RECEIVED + timedelta(hours=47, minutes=59)) == []
        rows = svc.due_list(session, CGC, RECEIVED + timedelta(hours=47), cipher=uhome.cipher)
        assert [(r.intake.id, r.state) for r in rows] == [(view.id, "期限内")]
    with uhome.factory.begin() as session:
        assert svc.escalate_overdue(session, RECEIVED + timedelta(hours=49)) == [view.id]
        assert svc.escalate_overdue(session, RECEIVED + timedelta(hours=50)) == []
        rows = svc.due_list(session, CGC, RECEIVED + timedelta(hours=49), cipher=uhome.cipher)
        assert rows[0].state == "期限超過" and rows[0].intake.escalated_at is not None
        boss = Subject("boss1", "child_guidance_caseworker", "child_guidance_centre")
        assert [r.intake.id for r in svc.due_list(session, boss, RECEIVED, cipher=uhome.cipher)] == [view.id]
    with uhome.factory.begin() as session:
        checked = svc.record_safety_check(session, CGC, view.id, seen_at=RECEIVED + timedelta(hours=50),
                                          note="自宅で本人と面接、外傷なし", cipher=uhome.cipher)
        assert checked.status == "checked"
        assert svc.due_list(session, CGC, RECEIVED + timedelta(hours=51), cipher=uhome.cipher) == []
    kinds = [e["kind"] for e in checked.events]
    assert kinds == ["escalation", "safety_check"]


def test_new_information_re_assesses(uhome: Home) -> None:
    with uhome.factory.begin() as session:
        view = svc.record_intake(session, CGC, _form(injury="minor"), cipher=uhome.cipher, hours=48)
        assert view.latest is not None and view.latest.hard_level == "職員が判断"
        again = svc.add_information(session, CGC, view.id, grades={"neglect": "severe"}, note="保育所から: 体重減少",
                                    cipher=uhome.cipher)
    assert again.latest is not None and again.latest.hard_level == "緊急" and again.latest.trigger == "new_information"
    assert again.latest.grades["injury"] == "minor"  # the earlier answers are kept
    assert len(again.assessments) == 2


def test_each_agency_sees_its_own_intakes_and_every_view_is_audited(uhome: Home) -> None:
    with uhome.factory.begin() as session:
        view = svc.record_intake(session, CGC, _form(), cipher=uhome.cipher, hours=48)
    with uhome.factory() as session:
        before = len(session.scalars(select(AuditEntry).where(AuditEntry.person_id == "P0002")).all())
        with pytest.raises(Refused):
            svc.get_intake(session, CENTRE, view.id, cipher=uhome.cipher)
        session.commit()
        assert svc.get_intake(session, CGC, view.id, cipher=uhome.cipher).id == view.id
        session.commit()
        entries = session.scalars(select(AuditEntry).where(AuditEntry.person_id == "P0002")
                                  .order_by(AuditEntry.seq)).all()
        assert [(e.action, e.outcome) for e in entries[before:]] == [("intake.read", "denied"),
                                                                     ("intake.read", "allowed")]
        assert svc.due_list(session, CENTRE, RECEIVED, cipher=uhome.cipher) == []
    teacher = Subject("teacher1", "teacher", "S001")
    with uhome.factory() as session, pytest.raises(Refused):
        svc.record_intake(session, teacher, _form(), cipher=uhome.cipher, hours=48)


def test_an_unlinked_intake_needs_at_least_a_name(uhome: Home) -> None:
    form = svc.IntakeForm(received_at=RECEIVED, reporter_kind="近隣・知人", concern="夜に泣き声", grades={})
    with uhome.factory.begin() as session, pytest.raises(Invalid, match="氏名"):
        svc.record_intake(session, CENTRE, form, cipher=uhome.cipher, hours=48)
    named = svc.IntakeForm(received_at=RECEIVED, reporter_kind="近隣・知人", concern="夜に泣き声", grades={},
                           child_name="（3階の女の子、5歳くらい）")
    with uhome.factory.begin() as session:
        view = svc.record_intake(session, CENTRE, named, cipher=uhome.cipher, hours=24)
        assert view.agency == "centre" and view.person_id is None
        assert session.get(Intake, view.id) is not None


def test_break_glass_opens_another_agencys_intake_for_that_child_only(uhome: Home) -> None:
    from tsunagu.privacy.breakglass import break_glass

    with uhome.factory.begin() as session:
        view = svc.record_intake(session, CENTRE, _form(), cipher=uhome.cipher, hours=48)
    with uhome.factory() as session:
        with pytest.raises(Refused):
            svc.get_intake(session, CGC, view.id, cipher=uhome.cipher)
        session.commit()
        break_glass(session, CGC, "intake.read", "assessment", "P0002", "夜間に警察から同じ子どもの通告があり至急確認する",
                    15, sensitivity=3)
        session.commit()
        assert svc.get_intake(session, CGC, view.id, cipher=uhome.cipher).id == view.id
        with pytest.raises(Refused):  # reading is unlocked, writing is not
            svc.decide(session, CGC, view.id, level="緊急", protect=True, reason="", cipher=uhome.cipher)
