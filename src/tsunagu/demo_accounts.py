"""One demo account per role, so a visitor can see what each kind of user sees.

Passwords are generated, printed once per demo run and stored only as argon2 hashes; running the
demo again gives each demo account a fresh password (the earlier one stops working).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import Subject, load_or_create_signing_key
from tsunagu.privacy.policy import policy_of
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.work.access import is_centre_wide
from tsunagu.work.assignments import assign
from tsunagu.work.models import CaseAssignment, User
from tsunagu.work.users import create_user, generate_password, set_password


@dataclass(frozen=True)
class DemoAccount:
    user_id: str
    role: str
    label: str
    organisation: str
    password: str


ROLES: tuple[tuple[str, str, str, str], ...] = (
    # user id, role, 日本語, organisation ("school" = the school with most candidates)
    ("ssw", "school_social_worker", "スクールソーシャルワーカー", "school"),
    ("centre", "centre_caseworker", "こども家庭センター職員", "family_centre"),
    ("nurse", "public_health_nurse", "保健師", "maternal_child_health"),
    ("cgc", "child_guidance_caseworker", "児童相談所職員", "child_guidance"),
    ("principal", "school_manager", "校長・教頭", "school"),
    ("teacher", "teacher", "担任", "school"),
    ("steward", "data_steward", "データ担当", "board_of_education"),
    ("privacy", "privacy_officer", "個人情報保護担当", "privacy_office"),
    ("admin", "administrator", "システム管理者", "it"),
    ("stats", "statistics_officer", "統計担当", "政策企画課"),
)
TEACHER_PUPILS = 5
CASES_PER_WORKER = 8  # children assigned to each casework account that is not centre-wide (cgc, ssw)


def _busiest_school(session: Session) -> tuple[str, list[str]]:
    run_id = session.scalars(select(ScreeningRun.run_id).order_by(ScreeningRun.started_at.desc())).first()
    rows = session.execute(select(ScreeningResult.school_code, ScreeningResult.person_id).where(
        ScreeningResult.run_id == run_id, ScreeningResult.tier != "対象外",
        ScreeningResult.school_code.is_not(None))).all()
    by_school: dict[str, list[str]] = {}
    for school, person in rows:
        if school:
            by_school.setdefault(school, []).append(person)
    if not by_school:
        return "", []
    school = max(sorted(by_school), key=lambda s: len(by_school[s]))
    return school, sorted(by_school[school])


def ensure_demo_accounts(session: Session, home: Path) -> list[DemoAccount]:
    """Create (or re-password) the demo accounts; the teacher is given a few pupils of the school."""
    key = load_or_create_signing_key(home)
    admin = Subject("tsunagu-demo", "administrator", "it")
    school, pupils = _busiest_school(session)
    accounts = []
    for user_id, role, label, organisation in ROLES:
        org = school if organisation == "school" else organisation
        password = generate_password()
        if session.get(User, user_id) is None:
            create_user(session, admin, user_id, role=role, display_name=f"デモ {label}", organisation=org,
                        password=password, key=key,
                        # the demo's second person (separation of duties), recorded as such
                        approver=Subject("tsunagu-demo-privacy", "privacy_officer", "privacy"))
        else:
            set_password(session, user_id, password)
        accounts.append(DemoAccount(user_id, role, label, org, password))
    assigned = set(session.scalars(select(CaseAssignment.person_id).where(
        CaseAssignment.user_id == "teacher", CaseAssignment.ended_at.is_(None))))
    for person_id in pupils[:TEACHER_PUPILS]:
        if person_id not in assigned:
            assign(session, admin, "teacher", person_id, key=key)
    assign_casework(session, admin, pupils, key)
    return accounts


def assign_casework(session: Session, admin: Subject, pupils: list[str], key: Ed25519PrivateKey) -> None:
    """Give each demo account that works on cases but sees only its assigned children (the child
    guidance centre's caseworker, the SSW) a few cases, so its views can be seen without breaking the
    glass: the SSW children of its school, the others the most urgent listed children. The choice is
    by the person id's hash (the order cases reached the desk), never by the synthetic truth."""
    run_id = session.scalars(select(ScreeningRun.run_id).order_by(ScreeningRun.started_at.desc())).first()
    urgent = sorted(session.scalars(select(ScreeningResult.person_id).where(
        ScreeningResult.run_id == run_id, ScreeningResult.tier == "重点支援")),
        key=lambda p: hashlib.sha256(f"demo-case:{p}".encode()).digest())
    for user_id, role, _label, organisation in ROLES:
        user = session.get(User, user_id)
        # the 要対協 professionals (a statutory duty of confidentiality) who see assigned children only
        if user is None or is_centre_wide(policy_of(session), role) or not policy_of(session).role(role).confidentiality_duty:
            continue
        pool = pupils[TEACHER_PUPILS:] if organisation == "school" else urgent
        held = set(session.scalars(select(CaseAssignment.person_id).where(
            CaseAssignment.user_id == user_id, CaseAssignment.ended_at.is_(None))))
        for person_id in pool[:CASES_PER_WORKER]:
            if person_id not in held:
                assign(session, admin, user_id, person_id, key=key)

