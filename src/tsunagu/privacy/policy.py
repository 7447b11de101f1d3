"""Access decisions: role × purpose × relationship to the child × sensitivity (× holder).

A small engine of our own rather than a general one (casbin): the policy has five dimensions and
two legal invariants, and every refusal must say, in Japanese, *which* dimension refused and
which rule would have applied — a caseworker refused at night and a family asking later both
need that sentence, not a bare "deny". The checks run in a fixed order so the reason is the most
fundamental one: role may never touch children → role lacks the action → wrong purpose → wrong
relationship → item held by another department → sensitivity too high.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from tsunagu.catalog import Catalog, default_catalog
from tsunagu.errors import TsunaguError
from tsunagu.privacy.roles import (
    ActionSpec,
    PolicyFile,
    RoleSpec,
    RuleSpec,
    load_policy_file,
    packaged_policy_path,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

JST = ZoneInfo("Asia/Tokyo")
T = TypeVar("T")
SENSITIVITY_LABELS = {1: "1（通常）", 2: "2（要配慮）", 3: "3（最も機微）"}

# Rule ids of refusals: stable, so the audit log and tests can name them.
DENY_NO_CHILD_DETAIL = "deny.no_child_detail"
DENY_ROLE_ACTION = "deny.role_action"
DENY_PURPOSE = "deny.purpose"
DENY_RELATIONSHIP = "deny.relationship"
DENY_HOLDER = "deny.holder"
DENY_SENSITIVITY_DUTY = "deny.sensitivity.duty"
DENY_SENSITIVITY_RULE = "deny.sensitivity.rule"


class PolicyError(TsunaguError, ValueError):
    """A decision was asked with a name the policy does not know — a bug in the caller, not a deny."""

    code = "policy"


class UnknownRoleError(PolicyError):
    pass


class UnknownActionError(PolicyError):
    pass


class UnknownPurposeError(PolicyError):
    pass


class UnknownRelationshipError(PolicyError):
    pass


class UnknownHolderError(PolicyError):
    pass


@dataclass(frozen=True)
class Subject:
    """Who is acting: the user, their role and their organisation (school code, department id)."""

    user_id: str
    role: str
    organisation: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    rule: str
    break_glass: bool = False


def _known(table: Mapping[str, T], name: str, error: type[PolicyError], kind: str, english: str) -> T:
    """``table[name]``, or ``error`` naming what is registered (a caller's bug, never a deny)."""
    try:
        return table[name]
    except KeyError:
        raise error(f"未登録の{kind}です: {name!r}（登録済み: {', '.join(table)}） / unknown {english}") from None


DECISIONS_KEPT = 10_000


class Policy:
    """A loaded policy. ``decide`` is pure: same inputs, same decision."""

    def __init__(self, spec: PolicyFile, catalog: Catalog) -> None:
        self.spec = spec
        self.catalog = catalog
        self.roles: dict[str, RoleSpec] = dict(spec.roles)
        self.actions: dict[str, ActionSpec] = dict(spec.actions)
        self.purposes = {name: p.label for name, p in catalog.purposes.items()}
        self.relationships = {name: r.label for name, r in spec.relationships.items()}
        # Decisions already made, by everything they depend on (see ``_evaluate``): a child's page
        # asks some 85 and a list some 30, nearly all the same few, a tenth of the page's CPU.
        self._decided: dict[tuple[object, ...], Decision] = {}

    def registered_actions(self) -> tuple[str, ...]:
        return tuple(sorted(self.actions))

    def role(self, name: str) -> RoleSpec:
        return _known(self.roles, name, UnknownRoleError, "役割", "role")

    def action(self, name: str) -> ActionSpec:
        return _known(self.actions, name, UnknownActionError, "操作", "action")

    def purpose_label(self, name: str) -> str:
        return _known(self.purposes, name, UnknownPurposeError, "利用目的", "purpose")

    def relationship_label(self, name: str) -> str:
        return _known(self.relationships, name, UnknownRelationshipError, "子どもとの関係", "relationship")

    def holder_label(self, name: str) -> str:
        return _known(self.catalog.departments, name, UnknownHolderError, "保有部署", "holder").name

    def decide(
        self,
        subject: Subject,
        action: str,
        purpose: str,
        *,
        relationship: str = "none",
        sensitivity: int = 1,
        holder: str | None = None,
        now: datetime | None = None,
    ) -> Decision:
        """Decide whether ``subject`` may do ``action`` for ``purpose``.

        ``relationship`` is the user's relationship to the child, ``sensitivity`` the highest
        sensitivity among the items touched, ``holder`` the department holding the item (needed
        only where a rule is limited to some holders, e.g. teachers and school-held items).
        """
        return self._evaluate(subject, action, purpose, relationship, sensitivity, holder, now, False)

    def allows(self, subject: Subject, action: str, purpose: str, *, relationship: str = "none",
               sensitivity: int = 1, holder: str | None = None) -> bool:
        """A pure check (nothing recorded) to decide what a page offers, never what it shows."""
        return self.decide(subject, action, purpose, relationship=relationship, sensitivity=sensitivity,
                           holder=holder).allowed

    def overridable(
        self,
        subject: Subject,
        action: str,
        purpose: str,
        *,
        sensitivity: int = 1,
        holder: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Whether break-glass may unlock this: only the relationship is missing, nothing else.

        Break-glass is for "not my case, but urgent"; it never lends a role an action, a purpose
        or a sensitivity level the policy does not give it.
        """
        role = self.role(subject.role)
        spec = self.action(action)
        if not (role.break_glass and spec.break_glass):
            return False
        return self._evaluate(subject, action, purpose, "none", sensitivity, holder, now, True).allowed

    def _evaluate(
        self,
        subject: Subject,
        action: str,
        purpose: str,
        relationship: str,
        sensitivity: int,
        holder: str | None,
        now: datetime | None,
        ignore_relationship: bool,
    ) -> Decision:
        # A decision depends on the role (not the user or organisation), the request's names and
        # levels, and the day (rules have dates); the spec is not changed once loaded. Bad names raise
        # in ``_decide`` and are never remembered; a bool is not a sensitivity (True == 1 as a key).
        day = _policy_day(now)
        key = (subject.role, action, purpose, relationship, sensitivity, type(sensitivity), holder, day,
               ignore_relationship)
        found = self._decided.get(key)
        if found is None:
            found = self._decide(subject, action, purpose, relationship, sensitivity, holder, day, ignore_relationship)
            if len(self._decided) >= DECISIONS_KEPT:
                self._decided.clear()  # a long-running app over many days: start again
            self._decided[key] = found
        return found

    def _decide(
        self,
        subject: Subject,
        action: str,
        purpose: str,
        relationship: str,
        sensitivity: int,
        holder: str | None,
        day: date,
        ignore_relationship: bool,
    ) -> Decision:
        role = self.role(subject.role)
        spec = self.action(action)
        purpose_label = self.purpose_label(purpose)
        relationship_label = self.relationship_label(relationship)
        if isinstance(sensitivity, bool) or sensitivity not in SENSITIVITY_LABELS:
            raise PolicyError(f"機微度は1〜3で指定してください: {sensitivity!r} / sensitivity must be 1, 2 or 3")
        holder_label = self.holder_label(holder) if holder is not None else None
        who = f"{role.label}による「{spec.label}」"

        def deny(rule: str, why: str) -> Decision:
            return Decision(False, f"拒否（{rule}）: {who}は許可されません。{why}", rule)

        if spec.kind.is_child_detail and not role.child_detail:
            return deny(DENY_NO_CHILD_DETAIL, f"{role.label}は子どもの個人データを扱わない役割です。")
        rules = [r for r in self.spec.rules if subject.role in r.roles and action in r.actions and r.in_effect(day)]
        if not rules:
            return deny(DENY_ROLE_ACTION, f"{role.label}にこの操作を認めるルールはありません（既定で拒否）。")
        by_purpose = [r for r in rules if purpose in r.purposes]
        if not by_purpose:
            allowed = _labels(self.purposes, (p for r in rules for p in r.purposes))
            return deny(DENY_PURPOSE, f"利用目的「{purpose_label}」では使えません（認められる目的: {allowed}）。")
        if not spec.kind.touches_children:
            return _allow(by_purpose[0])
        by_relationship = [
            r for r in by_purpose
            if ignore_relationship or r.relationships is None or relationship in r.relationships
        ]
        if not by_relationship:
            needed = _labels(self.relationships, (x for r in by_purpose for x in r.relationships or ()))
            return deny(
                DENY_RELATIONSHIP,
                f"この子どもとの関係「{relationship_label}」では扱えません（必要な関係: {needed}）。",
            )
        by_holder = [r for r in by_relationship if r.holders is None or (holder is not None and holder in r.holders)]
        if not by_holder:
            holders = "、".join(
                self.holder_label(h) for h in dict.fromkeys(h for r in by_relationship for h in r.holders or ())
            )
            given = f"保有部署「{holder_label}」の" if holder_label else "保有部署が示されていない"
            return deny(DENY_HOLDER, f"{given}項目は扱えません（扱える保有部署: {holders}）。")
        if sensitivity == 3 and not role.confidentiality_duty:
            return deny(
                DENY_SENSITIVITY_DUTY,
                f"機微度3の情報は、子どもの保護に関わる法定の守秘義務（児童福祉法第25条の5等）のある職種だけが"
                f"扱えます。{role.label}の守秘義務は{role.duty_basis}です。",
            )
        best = max(by_holder, key=lambda r: r.max_sensitivity)
        if sensitivity > best.max_sensitivity:
            return deny(
                DENY_SENSITIVITY_RULE,
                f"ルール {best.id}（{best.label}）で扱える機微度は{best.max_sensitivity}までです"
                f"（この情報は機微度{SENSITIVITY_LABELS[sensitivity]}）。",
            )
        return _allow(best)

    def decide_items(
        self,
        subject: Subject,
        action: str,
        purpose: str,
        item_ids: Sequence[str],
        *,
        relationship: str = "none",
        now: datetime | None = None,
    ) -> dict[str, Decision]:
        """One decision per catalogue item, with the item's own sensitivity and holder."""
        decisions: dict[str, Decision] = {}
        for item_id in item_ids:
            item = self.catalog.item(item_id)
            decisions[item_id] = self.decide(
                subject, action, purpose, relationship=relationship,
                sensitivity=item.sensitivity, holder=item.department, now=now,
            )
        return decisions


def _policy_day(now: datetime | None) -> date:
    """Rules are dated in Japanese calendar days, so compare in Japan time."""
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(JST).date()


def _labels(labels: dict[str, str], names: Iterable[str]) -> str:
    return "、".join(labels[n] for n in dict.fromkeys(names)) or "なし"


def _allow(rule: RuleSpec) -> Decision:
    return Decision(True, f"許可（ルール {rule.id}: {rule.label}）", rule.id)


def load_policy(path: Path | None = None, catalog: Catalog | None = None, text: str | None = None) -> Policy:
    """Load a policy file (the packaged one by default) against the catalogue."""
    catalog = catalog or default_catalog()
    return Policy(load_policy_file(path or packaged_policy_path(), catalog, text), catalog)


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    return load_policy()


# The key under which a ``Hub`` puts its access policy in the ``info`` of every session it makes.
SESSION_POLICY = "tsunagu.policy"


def policy_of(session: Session) -> Policy:
    """The access policy of the municipality whose hub made ``session`` (see ``catalog.catalog_of``);
    a session made without a hub reads the packaged policy, which is also what a hub holds."""
    found = session.info.get(SESSION_POLICY)
    return found if isinstance(found, Policy) else default_policy()


def decide(
    subject: Subject,
    action: str,
    purpose: str,
    *,
    relationship: str = "none",
    sensitivity: int = 1,
    holder: str | None = None,
    now: datetime | None = None,
) -> Decision:
    """Decide with the packaged policy (see ``Policy.decide``)."""
    return default_policy().decide(
        subject, action, purpose, relationship=relationship, sensitivity=sensitivity, holder=holder, now=now
    )


def registered_actions() -> tuple[str, ...]:
    """Every action the policy knows: routes and commands must each check one of them."""
    return default_policy().registered_actions()
