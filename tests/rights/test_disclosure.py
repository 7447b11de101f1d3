"""The disclosure pack holds everything the hub and the departments hold about the child."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from rights.conftest import CASEWORKER, OFFICER, Town
from tsunagu.link.models import HouseholdMember, PersonLink
from tsunagu.privacy import AuditEntry, Subject
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.work.child import open_child
from tsunagu.work.errors import Refused
from tsunagu.work.models import Review, SupportPlan
from tsunagu.work.plans import add_referral, create_plan
from tsunagu.work.resources import ResourceEntry, add_resource
from tsunagu.work.reviews import record_observation, record_review
from tsunagu.work.rights import pdf
from tsunagu.work.rights.disclosure import build_pack, pack_json
from tsunagu.work.rights.requests import complete, create_request

TEACHER = Subject("t9", "teacher", "C999999")


def _work_on_child(town: Town) -> None:
    """Accesses and human work by the centre, and one refused look by an unrelated teacher."""
    with town.factory.begin() as session:
        open_child(session, CASEWORKER, "assessment", town.child, nodes=town.nodes, manifests=town.manifests,
                   cipher=town.cipher)
        record_review(session, CASEWORKER, "assessment", town.child, decision="support",
                      rationale="欠席の増加と給食費の滞納が重なっている", override_reason="区分より強い支援が必要と判断した",
                      cipher=town.cipher)
        record_observation(session, CASEWORKER, "assessment", town.child, observations=[("mood", "some")],
                           note="表情が暗い日が続いている", cipher=town.cipher)
        resource = add_resource(session, Subject("setup", "administrator", "cli"), "administration",
                                ResourceEntry(name="学習支援教室", category="学習支援"))
        plan = create_plan(session, CASEWORKER, "support_coordination", town.child, goals="学習支援につなぐ",
                           responsible_body="こども家庭センター", next_review_on=date(2027, 1, 31), cipher=town.cipher)
        add_referral(session, CASEWORKER, "support_coordination", plan.id, resource_id=resource.id, note="紹介した",
                     cipher=town.cipher)
    session = town.factory()
    try:
        with pytest.raises(Refused):
            open_child(session, TEACHER, "assessment", town.child, nodes=town.nodes, manifests=town.manifests,
                       cipher=town.cipher)
        session.commit()  # the refusal stays on record
    finally:
        session.close()


def _count(town: Town, model: type[object], *where: object) -> int:
    with town.factory() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def test_the_pack_holds_every_link_result_record_and_access(town: Town) -> None:
    _work_on_child(town)
    with town.factory.begin() as session:
        request = create_request(session, OFFICER, town.child, "disclosure", requester_kind="legal_representative",
                                 requester_note="母（親権者）", received_on=date(2026, 11, 2), today=date(2026, 11, 5))
        data = build_pack(session, OFFICER, request.id, nodes=town.nodes, manifests=town.manifests,
                          cipher=town.cipher, formats="JSON・PDF")
    child = town.child
    assert data["person_id"] == child
    assert len(data["links"]) == _count(town, PersonLink, PersonLink.person_id == child) > 1
    assert len(data["screening"]) == _count(town, ScreeningResult, ScreeningResult.person_id == child) >= 1
    assert len(data["reviews"]) == _count(town, Review, Review.person_id == child) == 2
    assert len(data["plans"]) == _count(town, SupportPlan, SupportPlan.person_id == child) == 1
    assert len(data["plans"][0]["referrals"]) == 1
    assert len(data["household"]) == _count(town, HouseholdMember, HouseholdMember.person_id == child)
    accesses = [a for a in data["access_history"] if a["kind"] == "access"]
    assert len(accesses) == _count(town, AuditEntry, AuditEntry.person_id == child)
    assert any(a["outcome"] == "拒否" and a["role"] == "担任" for a in accesses)
    assert any(a["role"] == "こども家庭センター職員" and a["action"] == "子どもの概要の閲覧" for a in accesses)
    runs = [a for a in data["access_history"] if a["kind"] == "screening_run"]
    assert runs and all(a["role"] == "一次スクリーニング（システム）" for a in runs)
    assert all("actor" not in a for a in data["access_history"])  # bodies and roles, not staff members
    # The departments released their items for disclosure; sensitivity 3 is withheld and named.
    assert data["identities"] and data["items"]
    assert {i["department_label"] for i in data["items"]} >= {"市立小・中学校"}
    withheld = {d["department_label"] for d in data["withheld"]}
    assert "こども家庭センター" in withheld
    # The privacy officer may not read sensitivity 3: case notes are marked, not shown.
    assert not data["notes_included"]
    assert all("機微度3" in r["rationale"] for r in data["reviews"])
    assert "欠席の増加" not in pack_json(data).decode("utf-8")


def test_pdf_renders_japanese_with_the_person_id(town: Town) -> None:
    _work_on_child(town)
    with town.factory.begin() as session:
        request = create_request(session, OFFICER, town.child, "disclosure", requester_kind="person",
                                 received_on=date(2026, 11, 2), today=date(2026, 11, 5))
        data = build_pack(session, OFFICER, request.id, nodes=town.nodes, manifests=town.manifests,
                          cipher=town.cipher)
        done = complete(session, OFFICER, request.id, "全部開示（機微度3の項目は保有部署から別途回答）")
    assert done.status == "completed"
    document = pdf.render_pdf(data)
    reader = PdfReader(io.BytesIO(document))
    assert len(reader.pages) >= 2
    text = "".join(page.extract_text() for page in reader.pages)
    assert town.child in text
    assert "保有個人情報開示資料" in text and "アクセスの記録" in text


def test_a_missing_font_names_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(pdf.FontMissingError, match="fonts-ipaexfont-gothic"):
        pdf.render_pdf({"request": {"id": 1}, "person_id": "X"}, font_path=tmp_path / "nothing.ttf")
