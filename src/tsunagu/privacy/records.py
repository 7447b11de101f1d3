"""What the existence of a department's record tells, and how a shown record is named in the log.

A link to the child guidance centre's case file, or an identity row from it, shows no item value,
yet it tells that the centre has a case: the existence of a record is information in its own
right. It is as sensitive as the *least* sensitive thing the source holds — a record of a source
whose every item is sensitivity 3 (児童相談所, 要対協, 障害福祉) says something of sensitivity 3
whichever of its items one reads; a school's monthly record, which also holds attendance
(sensitivity 1), says nothing more than that the child is at school. A source with no items (a
roll) tells sensitivity 1.

Shown records are recorded in the audit entry's ``items`` as ``record:<department>:<source>`` so
that the family's access history names, for example, that a 児童相談所 record was displayed.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from tsunagu.catalog import default_catalog
from tsunagu.privacy.policy import Subject, default_policy

RECORD_PREFIX = "record:"
# The role under which the hub's own pipelines (linkage, screening) ask the nodes. It is no staff
# role: nothing a person sees comes straight from such an answer (see docs/security.md, limits).
HUB_PIPELINE_ROLE = "system"
# Actions under which a person may be shown identity rows of a department's record (a hand-over
# package names the child it is about: ``handover.send``; the programme officer's outreach list and
# letters name and address the family: ``outreach.list``, ``outreach.notices``; the family portal's
# letter is addressed to the guardian, and the portal checks the household: ``family.*``).
IDENTITY_ACTIONS = ("child.items.read", "link.review", "requests.handle", "handover.send", "outreach.list",
                    "outreach.notices", "family.codes.issue", "family.household.check")
# Actions under which a person's request may be given a department's item values: reading a child's
# items, answering a disclosure request, sealing a hand-over package for the municipality the child
# moved to (#23), the statistics, which the hub publishes only as suppressed aggregates (#24), and the
# outreach letters (#21: the registry's foreign_national chooses the letter's language).
ITEM_ACTIONS = ("child.items.read", "requests.handle", "handover.send", "statistics.read", "outreach.notices",
                "family.codes.issue", "family.household.check")


def existence_sensitivity(item_ids: Iterable[str]) -> int:
    """The sensitivity of knowing that a record exists in a source holding ``item_ids``."""
    catalog = default_catalog()
    levels = [catalog.items[i].sensitivity for i in item_ids if i in catalog.items]
    return min(levels) if levels else 1


def record_item(department: str, source: str) -> str:
    return f"{RECORD_PREFIX}{department}:{source}"


# What the hub itself records and shows, named in audit entries beside the departments' items: the
# case's status and owner (ケース管理, the candidate list's columns), a guardian's register record
# looked up to address a family-portal letter (``register:<宛名番号>``).
HUB_ITEMS = {"case:status_owner": "ケースの状況と担当者"}
REGISTER_PREFIX = "register:"


def item_label(item: str) -> str:
    """A person-readable label of an audit entry's item (a catalogue item, a shown record or one of the
    hub's own records)."""
    catalog = default_catalog()
    if item in catalog.items:
        return catalog.items[item].label
    if item in HUB_ITEMS:
        return HUB_ITEMS[item]
    if item.startswith(REGISTER_PREFIX):
        return f"住民記録（宛名番号 {item.removeprefix(REGISTER_PREFIX)}）"
    if item.startswith("account:"):
        return f"利用者 {item.removeprefix('account:')}"
    if item.startswith("role:"):
        role = default_policy().roles.get(item.removeprefix("role:"))
        return f"役割 {role.label if role else item.removeprefix('role:')}"
    if item.startswith(RECORD_PREFIX):
        department, _, source = item.removeprefix(RECORD_PREFIX).partition(":")
        name = catalog.departments[department].name if department in catalog.departments else department
        label = source_label(source)
        return f"{name}の記録があること（{label}）" if label else f"{name}の記録があること"
    return item


@lru_cache(maxsize=256)
def source_label(source: str) -> str:
    """A source's name as its department calls it (住民記録（住民票）), not its id."""
    from tsunagu.catalog.manifest import packaged_manifests

    found = packaged_manifests().manifests.get(source)
    return found.label if found is not None else ""


# Bodies that act in tsunagu without holding a department's data (accounts' organisations).
OTHER_ORGANISATIONS = {"child_guidance_centre": "児童相談所", "privacy": "個人情報保護担当", "privacy_office": "個人情報保護担当",
                       "it": "情報システム担当", "cli": "コマンド操作（システム）", "hub": "ハブ（システム）"}


def organisation_label(name: str) -> str:
    """An organisation as people say it (教育委員会 学務課, 児童相談所), not its id. School codes and names
    typed by people stay as they are; an id of no known body reads 「その他の所属」."""
    departments = default_catalog().departments
    if name in departments:
        return departments[name].name
    if name in OTHER_ORGANISATIONS:
        return OTHER_ORGANISATIONS[name]
    if name.isascii() and "_" in name and name.islower():
        return "その他の所属"
    return name


@lru_cache(maxsize=4096)
def role_may_receive(role: str, purpose: str, department: str, sensitivity: int, actions: tuple[str, ...]) -> bool:
    """Whether a node may hand ``role`` something of ``department`` at ``sensitivity`` for ``purpose``.

    The node cannot know the requester's relationship to the child (the hub does), so it asks
    whether *any* relationship would let the role have it: a teacher is never given a 児童相談所
    record, whatever the hub says about the class. The hub still decides the relationship itself.
    """
    if role == HUB_PIPELINE_ROLE:
        return True
    policy = default_policy()
    if role not in policy.roles or purpose not in policy.purposes:
        return False
    subject = Subject("node-check", role, "")
    return any(
        policy.decide(subject, action, purpose, relationship=rel, sensitivity=sensitivity, holder=department).allowed
        for action in actions for rel in policy.relationships
    )
