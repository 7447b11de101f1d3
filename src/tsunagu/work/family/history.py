"""「だれが見たか」: the access history of the guardian's child, from the audit chain, in plain Japanese.

Each line says which body (department, school), which role, when and for what purpose — never
the staff member's name (as ``privacy.access_history`` and the disclosure pack do). What the
family may not be told is withheld and *said to be withheld*, by the disclosure pack's own rule
(``work.rights.disclosure``): sensitivity 3 — child-protection, disability and mental-health
records, whose existence alone tells something — is for the duty-bound holding body to disclose
after judging the grounds for non-disclosure (個人情報の保護に関する法律第78条第1項: third
parties' safety, an investigation under way such as a child-protection safety check). Here the
line is withheld whenever the guardian role could not read it at that sensitivity under the
policy; the count of withheld lines and how to ask for them are shown instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.privacy import AccessRecord, Subject, access_history, authorise
from tsunagu.privacy.policy import Policy, policy_of
from tsunagu.privacy.records import RECORD_PREFIX, existence_sensitivity
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.work.errors import Refused
from tsunagu.work.family.household import PURPOSE

ACTION = "family.history.read"
GUARDIAN_ROLE = "guardian"
SCHOOL_ROLES = ("teacher", "school_manager", "school_social_worker")
# Child-protection casework (通告・相談の受理と安全確認, 児童相談所との共有ケース): sensitivity 3 whatever
# items the entry names — that a report was received is itself what 法第78条 protects. (A break-glass
# opening is shown: it is the access the family most needs to know of, and its reads are shown too.)
CASEWORK_PREFIXES = ("intake.", "shared.")
WITHHELD_TEXT = ("子どもを守るための調査（児童虐待の通告・安全確認など）や、障害・こころの健康に関わる記録へのアクセスは、"
                 "法律（個人情報の保護に関する法律第78条第1項）により、ここには出していません。")
WITHHELD_EASY = "ここに出していない記録があります。知りたいときは、「開示請求」をしてください。市が調べて、出せるものをお知らせします。"


@dataclass(frozen=True)
class Line:
    at: datetime
    body: str  # 部署・学校
    role: str
    purpose: str
    what: str


@dataclass
class HistoryView:
    lines: list[Line] = field(default_factory=list)
    withheld: int = 0
    refused: int = 0
    by_guardians: int = 0

    @property
    def withheld_text(self) -> str:
        return WITHHELD_TEXT


def _body(policy: Policy, record: AccessRecord) -> str:
    departments = policy.catalog.departments
    if record.organisation in departments:
        return departments[record.organisation].name
    if record.role in SCHOOL_ROLES:
        return "学校"  # the school's code is an internal id; the family knows which school it is
    return "市役所"


def _sensitivity(catalog: Catalog, items: Iterable[str], manifests: ManifestSet) -> int:
    levels = [1]
    for item in items:
        if item in catalog.items:
            levels.append(catalog.items[item].sensitivity)
        elif item.startswith(RECORD_PREFIX):
            _department, _, source = item.removeprefix(RECORD_PREFIX).partition(":")
            held = manifests.manifests[source].item_ids if source in manifests.manifests else ()
            levels.append(existence_sensitivity(held) if held else 3)
    return max(levels)


def _withheld(policy: Policy, record: AccessRecord, subject: Subject, manifests: ManifestSet) -> bool:
    if record.role == "child_guidance_caseworker" or record.action.startswith(CASEWORK_PREFIXES):
        return True
    level = _sensitivity(policy.catalog, record.items, manifests)
    return not policy.decide(subject, ACTION, PURPOSE, relationship="own_child", sensitivity=level).allowed


def child_history(
    session: Session, subject: Subject, person_id: str, *, relationship: str, manifests: ManifestSet,
    key: Ed25519PrivateKey | None = None,
) -> HistoryView:
    """The child's access history for the guardian; Refused (recorded) when the child is not theirs."""
    decision = authorise(session, subject, ACTION, PURPOSE, person_id=person_id, relationship=relationship,
                         sensitivity=1, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    view = HistoryView()
    policy = policy_of(session)
    for record in access_history(session, person_id):
        if record.role == GUARDIAN_ROLE:
            view.by_guardians += record.outcome == "allowed"
            continue
        if record.outcome != "allowed":
            view.refused += 1
            continue
        if _withheld(policy, record, subject, manifests):
            view.withheld += 1
            continue
        view.lines.append(Line(record.at, _body(policy, record), record.role_label, record.purpose_label,
                               record.action_label))
    # A screening run reads every child's items in one request, recorded once without a person
    # (as the disclosure pack's history says): each run the child was part of is a read all the same.
    runs = session.execute(select(ScreeningRun.as_of, ScreeningRun.started_at)
                           .join(ScreeningResult, ScreeningResult.run_id == ScreeningRun.run_id)
                           .where(ScreeningResult.person_id == person_id)).all()
    screening = policy.purpose_label("screening")
    view.lines.extend(Line(started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC), "つなぐ（システム）", "自動の確認（一次スクリーニング）", screening,
                           f"{as_of:%Y年%m月%d日}時点の記録で、支援が必要かもしれない子どもを探しました")
                      for as_of, started_at in runs)
    view.lines.sort(key=lambda line: line.at, reverse=True)
    return view
