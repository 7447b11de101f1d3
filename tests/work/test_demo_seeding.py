"""The demo's 社会資源 directory (an editable YAML) and the cases given to cgc and the SSW (issue 19, 6 and 11)."""

from __future__ import annotations

from sqlalchemy import func, select

from tsunagu.demo_accounts import CASES_PER_WORKER, ensure_demo_accounts
from tsunagu.privacy import Subject
from tsunagu.work.access import relationship
from tsunagu.work.models import CaseAssignment, SupportResource
from tsunagu.work.resources import directory_file, seed_directory
from work.builders import Home

ADMIN = Subject("tsunagu-demo", "administrator", "it")


def _count(home: Home) -> int:
    with home.factory() as session:
        return int(session.scalar(select(func.count()).select_from(SupportResource)) or 0)


def test_the_packaged_directory_is_seeded_once_and_edits_stay(home: Home) -> None:
    before = _count(home)
    with home.factory.begin() as session:
        added = seed_directory(session, ADMIN, "administration", home.settings.home)
    assert added >= 15 and _count(home) == before + added
    with home.factory.begin() as session:
        row = session.scalars(select(SupportResource).where(SupportResource.name == "就学援助")).one()
        row.contact = "学務課 就学援助係（直通）"  # edited by staff since
        assert seed_directory(session, ADMIN, "administration", home.settings.home) == 0
    with home.factory() as session:
        assert session.scalars(select(SupportResource.contact).where(SupportResource.name == "就学援助")).one() \
            == "学務課 就学援助係（直通）"


def test_a_municipality_supplies_its_own_directory_in_its_home(home: Home) -> None:
    own = home.settings.home / "resources.yaml"
    own.write_text("resources:\n  - {name: みのお子ども食堂, category: 居場所・こども食堂, area: 北部}\n", encoding="utf-8")
    assert directory_file(home.settings.home) == own
    with home.factory.begin() as session:
        assert seed_directory(session, ADMIN, "administration", home.settings.home) == 1
    with home.factory() as session:
        assert session.scalars(select(SupportResource.area).where(SupportResource.name == "みのお子ども食堂")).one() == "北部"


def test_the_demo_gives_the_guidance_centre_and_the_ssw_cases_of_their_own(home: Home) -> None:
    with home.factory.begin() as session:
        ensure_demo_accounts(session, home.settings.home)
    with home.factory() as session:
        held = {user: set(session.scalars(select(CaseAssignment.person_id).where(
            CaseAssignment.user_id == user, CaseAssignment.ended_at.is_(None)))) for user in ("cgc", "ssw", "centre")}
        assert 0 < len(held["cgc"]) <= CASES_PER_WORKER and held["centre"] == set()  # the centre sees all anyway
        person = sorted(held["cgc"])[0]
        assert relationship(session, Subject("cgc", "child_guidance_caseworker", "child_guidance"), person) \
            == "assigned_case"
    # the small home's school has four pupils, the teacher takes the first five: none left for the SSW
    with home.factory.begin() as session:
        ensure_demo_accounts(session, home.settings.home)  # again: nothing assigned twice
    with home.factory() as session:
        again = set(session.scalars(select(CaseAssignment.person_id).where(
            CaseAssignment.user_id == "cgc", CaseAssignment.ended_at.is_(None))))
        assert again == held["cgc"]
