"""The shared case: one status for both sides, hand-over as recorded acts with receipts, a hand-up
opening an intake on the 児相's list with its due time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tsunagu.privacy import Subject
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.urgency import intake as svc
from tsunagu.work.urgency import shared
from work.builders import Home

CGC = Subject("cgc1", "child_guidance_caseworker", "child_guidance_centre")
CENTRE = Subject("cw1", "centre_caseworker", "family_centre")


def _case(uhome: Home) -> int:
    with uhome.factory.begin() as session:
        svc.record_intake(session, CENTRE, svc.IntakeForm(
            received_at=datetime.now(UTC) - timedelta(days=3), reporter_kind="保育所・幼稚園", concern="登園しない日が続く",
            grades={"neglect": "moderate"}, person_id="P0001"), cipher=uhome.cipher, hours=48)
        return shared.open_case(session, CENTRE, "P0001", status="在宅支援", cipher=uhome.cipher).id


def test_both_sides_see_the_same_status_and_only_the_lead_changes_it(uhome: Home) -> None:
    case_id = _case(uhome)
    with uhome.factory.begin() as session:
        shared.set_status(session, CENTRE, case_id, status="調査中", next_contact_on=None, note="",
                          cipher=uhome.cipher)
        with pytest.raises(Invalid, match="主担当機関"):
            shared.set_status(session, CGC, case_id, status="終結", next_contact_on=None, note="", cipher=uhome.cipher)
        shared.send_message(session, CGC, case_id, note="先週の家庭訪問の結果を教えてください", cipher=uhome.cipher)
    with uhome.factory.begin() as session:
        a = shared.get_case(session, CENTRE, case_id, cipher=uhome.cipher)
        b = shared.get_case(session, CGC, case_id, cipher=uhome.cipher)
    assert (a.status, a.lead_label) == (b.status, b.lead_label) == ("調査中", "こども家庭センター")
    assert [x["label"] for x in a.acts] == [x["label"] for x in b.acts] == ["状況の変更", "連絡"]
    teacher = Subject("teacher1", "teacher", "S001")
    with uhome.factory() as session, pytest.raises(Refused):
        shared.get_case(session, teacher, case_id, cipher=uhome.cipher)


def test_a_hand_up_opens_an_intake_for_the_centre_of_guidance_and_waits_for_its_receipt(uhome: Home) -> None:
    case_id = _case(uhome)
    with uhome.factory.begin() as session:
        with pytest.raises(Invalid, match="10文字"):
            shared.hand_over(session, CENTRE, case_id, kind="hand_up", detail="送致", note="悪化", cipher=uhome.cipher,
                             hours=48)
        with pytest.raises(Invalid):
            shared.hand_over(session, CENTRE, case_id, kind="hand_back", detail="指導委託", note="x" * 12,
                             cipher=uhome.cipher, hours=48)
        view = shared.hand_over(session, CENTRE, case_id, kind="hand_up", detail="送致",
                                note="体重が減り、保護者が面会を拒むため送致します", cipher=uhome.cipher, hours=48)
    act = view.acts[-1]
    assert act["kind"] == "hand_up" and act["received_at"] is None and view.lead_agency == "centre"
    now = datetime.now(UTC)
    with uhome.factory.begin() as session:
        rows = svc.due_list(session, CGC, now, cipher=uhome.cipher)
        assert len(rows) == 1
        handed = rows[0].intake
        assert handed.reporter_kind == "こども家庭センター" and handed.person_id == "P0001"
        assert timedelta(hours=47) < handed.due_at - now <= timedelta(hours=48)
        assert handed.latest is not None and handed.latest.grades["neglect"] == "moderate"  # carried over
        with pytest.raises(Invalid, match="受けた機関"):
            shared.acknowledge(session, CENTRE, case_id, act["id"], cipher=uhome.cipher)
        received = shared.acknowledge(session, CGC, case_id, act["id"], cipher=uhome.cipher)
    assert received.lead_agency == "cgc" and received.status == "調査中"
    assert received.acts[-1]["received_by"] == "cgc1"
    back = None
    with uhome.factory.begin() as session:
        back = shared.hand_over(session, CGC, case_id, kind="hand_back", detail="指導委託",
                                note="一時保護は不要と判断し、在宅での指導を委託します", cipher=uhome.cipher, hours=48)
        assert back.acts[-1]["intake_id"] is None
        done = shared.acknowledge(session, CENTRE, case_id, back.acts[-1]["id"], cipher=uhome.cipher)
    assert done.lead_agency == "centre" and done.status == "指導委託中"


def test_the_latest_safety_check_of_either_side_is_shown(uhome: Home) -> None:
    case_id = _case(uhome)
    with uhome.factory.begin() as session:
        intake = svc.due_list(session, CENTRE, datetime.now(UTC), cipher=uhome.cipher)[0].intake
        seen = datetime.now(UTC) - timedelta(hours=1)
        svc.record_safety_check(session, CENTRE, intake.id, seen_at=seen, note="保育所で本人を確認", cipher=uhome.cipher)
        view = shared.get_case(session, CGC, case_id, cipher=uhome.cipher)
    assert view.latest_check is not None and abs(view.latest_check - seen) < timedelta(seconds=1)
    assert view.latest_check_by == "こども家庭センター"
