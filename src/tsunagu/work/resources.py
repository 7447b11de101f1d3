"""社会資源: the directory of local support services, with a public read-only view.

The directory holds no personal data. Editing it is decided by the policy action
``resources.manage`` once the policy has it; until then by whether the role may connect a child
to support at all (``referral.write`` under any relationship) or administers the system
(``rules.manage``), recorded in the audit chain as ``resources.manage`` so the log shows who
changed the directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import AuditEvent, Decision, Subject, append, authorise
from tsunagu.privacy.policy import Policy, policy_of
from tsunagu.work.errors import Invalid, NotFound, Refused
from tsunagu.work.models import SupportResource
from tsunagu.yamlstrict import load_model

ACTION = "resources.manage"
PURPOSES = ("support_coordination", "administration")
CATEGORIES = (
    "相談支援", "経済的支援", "学習支援", "居場所・こども食堂", "子育て支援", "保健・医療", "障害児支援",
    "家事・育児支援", "ヤングケアラー支援", "不登校支援", "その他",
)


@dataclass(frozen=True)
class ResourceView:
    id: int
    name: str
    category: str
    eligibility: str
    contact: str
    area: str
    public: bool
    active: bool
    updated_at: datetime
    updated_by: str


class ResourceEntry(BaseModel):
    """One resource in an import file (``resources: [...]``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=100)
    eligibility: str = ""
    contact: str = ""
    area: str = ""
    public: bool = True
    active: bool = True


class ResourceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resources: list[ResourceEntry]


def _utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they are UTC (the API's date-time needs the offset)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _view(row: SupportResource) -> ResourceView:
    return ResourceView(row.id, row.name, row.category, row.eligibility, row.contact, row.area, row.public,
                        row.active, _utc(row.updated_at), row.updated_by)


def _fallback(policy: Policy, subject: Subject, purpose: str) -> Decision:
    """Until the policy has ``resources.manage``: roles that connect children to support, and
    administrators (the directory is configuration as much as casework)."""
    if purpose == "administration":
        decision = policy.decide(subject, "rules.manage", "administration")
        if decision.allowed:
            return Decision(True, f"許可（社会資源の編集: システム管理。{decision.reason}）", decision.rule)
    for rel in ("municipality", "same_school", "assigned_case"):
        decision = policy.decide(subject, "referral.write", "support_coordination", relationship=rel, sensitivity=1)
        if decision.allowed:
            return Decision(True, f"許可（社会資源の編集: 子どもを支援につなぐ役割。{decision.reason}）", decision.rule)
    return Decision(False, "拒否: 社会資源の編集は、子どもを支援につなぐ役割とシステム管理者だけができます。",
                    "deny.role_action")


def may_manage(policy: Policy, subject: Subject, purpose: str = "support_coordination") -> bool:
    """A pure check, for deciding whether a page offers the edit form."""
    if ACTION in policy.actions:
        return policy.decide(subject, ACTION, purpose).allowed
    return _fallback(policy, subject, purpose).allowed


def check_manage(session: Session, subject: Subject, purpose: str, *, key: Ed25519PrivateKey | None = None) -> None:
    """Decide and record an edit of the directory; Refused when not allowed."""
    _manage(session, subject, purpose, key)


def _manage(session: Session, subject: Subject, purpose: str, key: Ed25519PrivateKey | None) -> None:
    if purpose not in PURPOSES:
        raise Invalid("社会資源の編集の目的は 支援調整 か システム運用 です。")
    policy = policy_of(session)
    if ACTION in policy.actions:
        decision = authorise(session, subject, ACTION, purpose, key=key)
    else:
        decision = _fallback(policy, subject, purpose)
        append(session, AuditEvent.from_decision(subject, decision, ACTION, purpose), key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def list_resources(session: Session, *, public_only: bool = False, include_inactive: bool = False,
                   category: str | None = None) -> list[ResourceView]:
    """The directory. No personal data: staff pages read it without a decision, the public page too."""
    stmt = select(SupportResource).order_by(SupportResource.category, SupportResource.name)
    if public_only:
        stmt = stmt.where(SupportResource.public.is_(True))
    if not include_inactive:
        stmt = stmt.where(SupportResource.active.is_(True))
    if category:
        stmt = stmt.where(SupportResource.category == category)
    return [_view(r) for r in session.scalars(stmt)]


def get_resource(session: Session, resource_id: int) -> ResourceView:
    row = session.get(SupportResource, resource_id)
    if row is None:
        raise NotFound(f"社会資源 {resource_id} はありません。")
    return _view(row)


def _checked(entry: ResourceEntry) -> ResourceEntry:
    if not entry.name.strip():
        raise Invalid("名称を入力してください。", field="name")
    if not entry.category.strip():
        raise Invalid("種別を入力してください。", field="category")
    return entry


def add_resource(session: Session, subject: Subject, purpose: str, entry: ResourceEntry, *,
                 key: Ed25519PrivateKey | None = None) -> ResourceView:
    _manage(session, subject, purpose, key)
    entry = _checked(entry)
    row = SupportResource(**entry.model_dump(), updated_at=datetime.now(UTC), updated_by=subject.user_id)
    session.add(row)
    session.flush()
    return _view(row)


def update_resource(session: Session, subject: Subject, purpose: str, resource_id: int, entry: ResourceEntry, *,
                    key: Ed25519PrivateKey | None = None) -> ResourceView:
    _manage(session, subject, purpose, key)
    row = session.get(SupportResource, resource_id)
    if row is None:
        raise NotFound(f"社会資源 {resource_id} はありません。")
    for name, value in _checked(entry).model_dump().items():
        setattr(row, name, value)
    row.updated_at, row.updated_by = datetime.now(UTC), subject.user_id
    session.flush()
    return _view(row)


def import_resources(session: Session, subject: Subject, purpose: str, path: Path, *,
                     key: Ed25519PrivateKey | None = None) -> tuple[int, int]:
    """Add or update (matched by name and category) every resource of a strict YAML file."""
    _manage(session, subject, purpose, key)
    parsed = load_model(path, ResourceFile)
    added = updated = 0
    now = datetime.now(UTC)
    for entry in parsed.resources:
        existing = session.scalars(select(SupportResource).where(
            SupportResource.name == entry.name, SupportResource.category == entry.category)).first()
        if existing is None:
            session.add(SupportResource(**entry.model_dump(), updated_at=now, updated_by=subject.user_id))
            added += 1
        else:
            for name, value in entry.model_dump().items():
                setattr(existing, name, value)
            existing.updated_at, existing.updated_by = now, subject.user_id
            updated += 1
    session.flush()
    return added, updated


DIRECTORY_FILE = "resources.yaml"  # a municipality's own directory, in its home


def directory_file(home: Path) -> Path:
    """The home's ``resources.yaml`` when the municipality supplies one, else the packaged default."""
    own = home / DIRECTORY_FILE
    if own.is_file():
        return own
    return Path(str(files("tsunagu.work") / "data" / DIRECTORY_FILE))


def seed_directory(session: Session, subject: Subject, purpose: str, home: Path, *,
                   key: Ed25519PrivateKey | None = None) -> int:
    """Add the directory file's resources that are not registered yet (by name and category); entries
    staff have edited since are left as they are. Returns the number added."""
    _manage(session, subject, purpose, key)
    parsed = load_model(directory_file(home), ResourceFile)
    known = {(name, category) for name, category in session.execute(select(SupportResource.name, SupportResource.category))}
    now = datetime.now(UTC)
    added = 0
    for entry in parsed.resources:
        if (entry.name, entry.category) not in known:
            session.add(SupportResource(**_checked(entry).model_dump(), updated_at=now, updated_by=subject.user_id))
            known.add((entry.name, entry.category))
            added += 1
    session.flush()
    return added
