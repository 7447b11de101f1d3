"""Correction: the disputed value goes to the holding department and stays marked until it answers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from rights.conftest import OFFICER, Town
from tsunagu.link.models import PersonLink
from tsunagu.privacy import AuditEntry, PrivacyNotification, Subject
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.rights import corrections, requests
from tsunagu.work.rights.disclosure import build_pack

SCHOOLS = Subject("st-school", "data_steward", "schools")
REGISTRY = Subject("st-juki", "data_steward", "resident_registry")
TAX = Subject("st-tax", "data_steward", "tax")


def _local_id(town: Town, source: str) -> str:
    with town.factory() as session:
        found = session.scalars(select(PersonLink.local_id).where(PersonLink.person_id == town.child,
                                                                  PersonLink.source == source)).first()
    assert found is not None
    return found


def _claims(town: Town) -> list[corrections.CorrectionClaim]:
    return [corrections.CorrectionClaim("juki_jumin", _local_id(town, "juki_jumin"), "full_name", "髙橋　蒼空"),
            corrections.CorrectionClaim("school_kiroku", _local_id(town, "school_meibo"), "absence_days", "0")]


def test_a_correction_marks_the_value_disputed_and_notifies_the_holder(town: Town) -> None:
    with town.factory.begin() as session:
        request = requests.create_request(session, OFFICER, town.child, "correction", requester_kind="person",
                                          received_on=date(2026, 11, 2), claims=_claims(town), manifests=town.manifests)
    assert [(n.department, n.field_kind, n.status) for n in request.notices] == [
        ("resident_registry", "identity", "open"), ("schools", "item", "open")]
    with town.factory.begin() as session:
        school_notices = corrections.list_notices(session, SCHOOLS)
        registry_notices = corrections.list_notices(session, REGISTRY)
        assert corrections.list_notices(session, TAX) == []
        assert [n.field for n in school_notices] == ["absence_days"]
        assert [n.field for n in registry_notices] == ["full_name"]
        assert {d.field for d in corrections.disputes_of(session, town.child, active_only=True)} == \
            {"full_name", "absence_days"}
        disclosure = requests.create_request(session, OFFICER, town.child, "disclosure", requester_kind="person",
                                             received_on=date(2026, 11, 2))
        pack = build_pack(session, OFFICER, disclosure.id, nodes=town.nodes, manifests=town.manifests,
                          cipher=town.cipher)
    disputed_items = {i["item_id"] for i in pack["items"] if i["disputed"]}
    assert disputed_items == {"absence_days"}
    assert all(i["disputed"] for i in pack["items"] if i["item_id"] == "absence_days")
    assert any(f["field"] == "full_name" and f["disputed"] for i in pack["identities"] if i["source"] == "juki_jumin"
               for f in i["fields"])
    assert len(pack["disputes"]) == 2
    # The steward's list view is in the family's access history.
    with town.factory() as session:
        steward_reads = session.scalars(select(AuditEntry).where(
            AuditEntry.person_id == town.child, AuditEntry.role == "data_steward")).all()
    assert len(steward_reads) == 2


def test_only_the_holding_department_answers_and_the_request_completes_after(town: Town) -> None:
    with town.factory.begin() as session:
        request = requests.create_request(session, OFFICER, town.child, "correction", requester_kind="person",
                                          received_on=date(2026, 11, 2), claims=_claims(town), manifests=town.manifests)
    registry_notice, school_notice = request.notices
    session = town.factory()
    try:
        with pytest.raises(Refused, match="他部署"):
            corrections.resolve_notice(session, TAX, school_notice.id, "corrected",
                                       corrected_export_on=requests.jst_today())
        session.commit()
    finally:
        session.close()
    with town.factory.begin() as session, pytest.raises(Invalid, match="回答を待って"):
        requests.complete(session, OFFICER, request.id, "訂正しました")
    with town.factory.begin() as session, pytest.raises(Invalid, match="より前の出力"):
        corrections.resolve_notice(session, SCHOOLS, school_notice.id, "corrected",
                                   corrected_export_on=date(2020, 1, 1))
    with town.factory.begin() as session:
        corrections.resolve_notice(session, SCHOOLS, school_notice.id, "corrected",
                                   corrected_export_on=requests.jst_today())
        with pytest.raises(Invalid, match="理由"):
            corrections.resolve_notice(session, REGISTRY, registry_notice.id, "rejected", note="違う")
        corrections.resolve_notice(session, REGISTRY, registry_notice.id, "rejected",
                                   note="住民票の記載は届出のとおりで誤りはありません")
        done = requests.complete(session, OFFICER, request.id, "出席簿を訂正。氏名は住民票のとおり")
        assert done.status == "completed"
        assert corrections.disputes_of(session, town.child, active_only=True) == []
        statuses = {d.field: d.status for d in corrections.disputes_of(session, town.child)}
        assert statuses == {"absence_days": "corrected", "full_name": "rejected"}
        assert [e.event for e in done.events].count("notice") == 2
        notes = session.scalars(select(PrivacyNotification).where(PrivacyNotification.kind == "correction_answered"))
        assert len(list(notes)) == 2
    with town.factory() as session:
        denied = session.scalars(select(AuditEntry).where(AuditEntry.rule == corrections.OTHER_DEPARTMENT_RULE)).all()
    assert [(e.role, e.person_id, e.outcome) for e in denied] == [("data_steward", town.child, "denied")]


def test_a_claim_about_another_childs_record_is_refused(town: Town) -> None:
    with town.factory() as session:
        other = session.scalars(select(PersonLink.local_id).where(PersonLink.person_id != town.child,
                                                                  PersonLink.source == "juki_jumin")).first()
    assert other is not None
    with town.factory.begin() as session, pytest.raises(Invalid, match="名寄せされた記録ではありません"):
        requests.create_request(session, OFFICER, town.child, "correction", requester_kind="person",
                                received_on=date(2026, 11, 2), manifests=town.manifests,
                                claims=[corrections.CorrectionClaim("juki_jumin", other, "full_name", "誰か")])
    with town.factory.begin() as session, pytest.raises(Invalid, match="項目"):
        requests.create_request(session, OFFICER, town.child, "correction", requester_kind="person",
                                received_on=date(2026, 11, 2), manifests=town.manifests,
                                claims=[corrections.CorrectionClaim("juki_jumin", other, "shoe_size", "22")])
