"""フェイスシート: who the child is, at the top of the child's page, and the household view.

Name, reading and birth date come from the identity rows the page already asked for (shown only
when the register's record is); the school and grade from the hub's latest result, and the class
(組) from the school roster's item the page read, when the purpose releases it. The household
is the resident register's (``link.households``): its members are other people, so each member
shown is decided and recorded on its own — under the relationship of the user to *this* child, as
the household is seen through the child — and only when the user may see the register's record
of the child at all. A sibling's 支援区分 is another child's screening result: it is shown only
when the user may open that child (decided and recorded for the sibling).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link.models import HouseholdMember, Person
from tsunagu.privacy import Subject, authorise
from tsunagu.privacy.policy import policy_of
from tsunagu.privacy.records import existence_sensitivity, record_item
from tsunagu.vault.node import Node
from tsunagu.work.access import SUSPENSION_ROLES, is_suspended, latest_result, relationship
from tsunagu.work.candidates import Reason
from tsunagu.work.identities import register_identities
from tsunagu.work.plans import PlanView

# Items whose legal unit is the household, not the child: the register's 世帯 (住民基本台帳法7条),
# the household's tax status (地方税法), 生活保護 (世帯単位の原則, 生活保護法10条), the 児童扶養手当
# paid to the parent who raises the child, and needs of other household members. A reason from one
# of these is the household's, and the household view shows it once for the household.
HOUSEHOLD_ITEMS = frozenset({
    "household_size", "single_parent_household", "resident_tax_exempt", "household_income", "public_assistance",
    "child_rearing_allowance", "household_disability_certificate", "household_care_need",
})
ROLE_LABELS = {"guardian": "保護者", "child": "きょうだい", "other": "同居の家族"}
OPEN_PLAN = "open"


@dataclass(frozen=True)
class Member:
    person_id: str
    role: str
    role_label: str
    relationship_label: str  # 続柄 (to the head of the household), when the register releases it
    name: str
    reading: str
    age: int | None
    school_code: str | None = None
    grade: int | None = None
    tier: str | None = None


@dataclass
class FaceSheet:
    name: str = ""
    reading: str = ""
    birth_date: date | None = None
    age: int | None = None
    school_code: str | None = None
    grade: int | None = None
    school_class: str = ""  # 2組, from the school roster when released for the purpose
    household_known: bool = False  # the register places the child in a household
    household_shown: bool = False  # … and this user may see it
    guardians: list[Member] = field(default_factory=list)
    siblings: list[Member] = field(default_factory=list)
    others: list[Member] = field(default_factory=list)
    hidden_members: int = 0
    household_reasons: list[Reason] = field(default_factory=list)
    open_plans: list[PlanView] = field(default_factory=list)

    @property
    def members(self) -> list[Member]:
        return [*self.guardians, *self.siblings, *self.others]


def age_on(birth: date | None, day: date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def household_reasons(reasons: list[Reason]) -> list[Reason]:
    """The household-level reasons among those the user may see, each once."""
    seen: set[str] = set()
    found = []
    for reason in reasons:
        # One rule may cite several items (a household member's care need, and the absences): the
        # sentence once is enough.
        if reason.item_id in HOUSEHOLD_ITEMS and reason.label not in seen:
            seen.add(reason.label)
            found.append(reason)
    return found


def build_face_sheet(
    session: Session, subject: Subject, purpose: str, person_id: str, rel: str, *, identity: Mapping[str, str],
    reasons: list[Reason], plans: list[PlanView], nodes: Mapping[str, Node], manifests: ManifestSet,
    read: Callable[..., bool], today: date, key: Ed25519PrivateKey | None = None, school_class: str = "",
) -> FaceSheet:
    """The face sheet of ``person_id`` for ``purpose`` (``identity``: the register's identity row of
    the child as the page shows it, by its Japanese labels; ``read``: the page's item visibility;
    ``school_class``: the class the page read from the roster, if any)."""
    sheet = FaceSheet(name=identity.get("氏名", ""), reading=identity.get("よみ", ""), school_class=school_class)
    born = identity.get("生年月日")
    if born:
        try:
            sheet.birth_date = date.fromisoformat(born)
        except ValueError:
            sheet.birth_date = None
    sheet.age = age_on(sheet.birth_date, today)
    result = latest_result(session, person_id)
    if result is not None:
        sheet.school_code, sheet.grade = result.school_code, result.grade
    sheet.household_reasons = household_reasons(reasons)
    sheet.open_plans = [p for p in plans if p.status == OPEN_PLAN]
    register = manifests.register()
    person = session.get(Person, person_id)
    if register is None or person is None or person.household_id is None:
        return sheet
    sheet.household_known = True
    level = existence_sensitivity(register.item_ids)
    if not read(level, register.department):
        return sheet
    sheet.household_shown = True
    members = session.execute(select(HouseholdMember.person_id, HouseholdMember.role, HouseholdMember.relationship)
                              .where(HouseholdMember.household_id == person.household_id,
                                     HouseholdMember.valid_to.is_(None),
                                     HouseholdMember.person_id != person_id)
                              .order_by(HouseholdMember.role, HouseholdMember.person_id)).all()
    shown: list[tuple[str, str, str | None]] = []
    for member_id, role, relation in members:
        decision = authorise(session, subject, "child.items.read", purpose, person_id=member_id,
                             items=(record_item(register.department, register.source),), relationship=rel,
                             sensitivity=level, holder=register.department, key=key)
        if decision.allowed:
            shown.append((member_id, role, relation))
        else:
            sheet.hidden_members += 1
    names = register_identities(nodes, manifests, session, subject, purpose, [m for m, _, _ in shown])
    relation_visible = read(1, register.department)
    for member_id, role, relation in shown:
        row = names.get(member_id, {})
        birth = row.get("birth_date")
        member = Member(member_id, role, ROLE_LABELS.get(role, "同居の家族"),
                        (relation or "") if relation_visible else "", str(row.get("full_name") or ""),
                        str(row.get("reading") or ""), age_on(birth if isinstance(birth, date) else None, today))
        if role == "child":
            member = _sibling(session, subject, purpose, member, key)
            sheet.siblings.append(member)
        elif role == "guardian":
            sheet.guardians.append(member)
        else:
            sheet.others.append(member)
    return sheet


def _sibling(session: Session, subject: Subject, purpose: str, member: Member,
             key: Ed25519PrivateKey | None) -> Member:
    """A sibling's school, grade and 支援区分, when the user may open that child (recorded)."""
    if subject.role not in SUSPENSION_ROLES and is_suspended(session, member.person_id):
        return member  # the family asked that the sibling's data not be used
    sib_rel = relationship(session, subject, member.person_id)
    if not policy_of(session).allows(subject, "child.view", purpose, relationship=sib_rel, sensitivity=1):
        return member
    decision = authorise(session, subject, "child.view", purpose, person_id=member.person_id, relationship=sib_rel,
                         sensitivity=1, key=key)
    if not decision.allowed:
        return member
    result = latest_result(session, member.person_id)
    if result is None:
        return member
    return Member(member.person_id, member.role, member.role_label, member.relationship_label, member.name,
                  member.reading, member.age, result.school_code, result.grade, result.tier)
