"""The access policy, checked over every role × action × purpose × relationship × sensitivity.

EXPECTED below is an independent statement of the policy, written by hand from the design (who
needs what, DOMAIN.md) — not read from policy.yaml. If the two disagree, one of them is wrong
and the test names every disagreement.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tsunagu.catalog import default_catalog
from tsunagu.privacy import PolicyError, Subject, decide, default_policy, load_policy, registered_actions
from tsunagu.privacy.policy import UnknownActionError, UnknownPurposeError, UnknownRelationshipError, UnknownRoleError
from tsunagu.yamlstrict import ConfigError

S, A, SC, ST, DH, AD = "screening", "assessment", "support_coordination", "statistics", "disclosure_handling", "administration"
HO = "handover"  # 転居時の引継ぎ: only the family centre hands over and takes over
OR = "outreach"
AC, SS, MU, NONE = "assigned_case", "same_school", "municipality", "none"
OA = "own_agency"  # the intakes an agency received (issue 20)
CO, WB = "consultation", "wellbeing"  # children's consultation channel and 心の天気 (issue 22)
GS, OC = "guardian_self_view", "own_child"  # the family portal (issue 22): a guardian's own children
OT = "own_consultation"  # a guardian's own consultation threads (family portal 相談する)
GUARDIAN_READS = frozenset({"maternal_child_health", "resident_registry"})
REGISTER = frozenset({"resident_registry"})
SCHOOL_HELD = frozenset({"schools", "board_of_education"})
PROGRAMME_DEPARTMENTS = frozenset({"board_of_education", "child_support", "childcare", "maternal_child_health"})
ADDRESSING = frozenset({"resident_registry"})  # the letters' addresses (programme_officer.addressing)


@dataclass(frozen=True)
class G:
    """A grant: these purposes, these relationships (None = any), up to this sensitivity, these holders."""

    purposes: frozenset[str]
    relationships: frozenset[str] | None = None
    max_sensitivity: int = 3
    holders: frozenset[str] | None = None


def g(purposes: set[str], relationships: set[str] | None = None, max_sensitivity: int = 3,
      holders: frozenset[str] | None = None) -> G:
    return G(frozenset(purposes), frozenset(relationships) if relationships is not None else None,
             max_sensitivity, holders)


STATS = [g({ST})]
# Report intake and the shared case (issue 20): the 児相's and the centre's caseworkers, each agency
# its own intakes (or an assigned child's); the shared case is both agencies'.
INTAKE = {
    "intake.read": [g({A}, {OA, AC})], "intake.write": [g({A}, {OA, AC})], "intake.list": [g({A}, {OA, AC})],
    "shared.read": [g({A, SC}, {OA})], "shared.write": [g({A, SC}, {OA})], "shared.list": [g({A, SC}, {OA})],
    "urgency.card": [g({A})],
}
URGENCY_ADMIN = {"urgency.manage": [g({AD})], "urgency.card": [g({AD})]}


def _cases(purposes: set[str], rel: set[str], *, ledger: bool = False) -> dict[str, list[G]]:
    """Case management (issue 19): the 要対協 members with a duty of confidentiality; printing the
    実務者会議 agenda (ledger.print) only for the coordinating body, the family centre."""
    found = {a: [g(purposes, rel)] for a in ("case.read", "case.write", "case.list", "case.print")}
    return {**found, "ledger.print": [g(purposes, rel)]} if ledger else found


def _care_team(rel: set[str]) -> dict[str, list[G]]:
    return {
        "candidates.list": [g({S, A}, rel)],
        "children.search": [g({S, A}, rel)],  # search finds what the list may show (issue 19)
        "child.view": [g({S, A, SC}, rel)],
        "child.items.read": [g({S, A, SC}, rel)],
        "observation.write": [g({A}, rel)],
        "review.write": [g({A}, rel)],
        "plan.write": [g({A, SC}, rel)],
        "referral.write": [g({SC}, rel)],
        "statistics.read": STATS,
    }


def _school(rel: set[str]) -> dict[str, list[G]]:
    return {
        "candidates.list": [g({S, A}, rel, 2)],
        "children.search": [g({S, A}, rel, 2)],
        "child.view": [g({S, A, SC}, rel, 2)],
        "child.items.read": [g({S, A, SC}, rel, 2, SCHOOL_HELD)],
        "observation.write": [g({A}, rel, 2)],
        "statistics.read": STATS,
    }


def _kokoro_class(rel: set[str]) -> dict[str, list[G]]:
    return {**{a: [g({WB}, rel, 2)] for a in ("kokoro.board", "kokoro.codes", "kokoro.optout")},
            "kokoro.classes": [g({WB})]}


EXPECTED: dict[str, dict[str, list[G]]] = {
    "school_social_worker": {**_care_team({AC, SS}), **_cases({S, A, SC}, {AC, SS}),
                             "kokoro.board": [g({WB}, {SS})], "kokoro.classes": [g({WB})]},
    "centre_caseworker": {**_care_team({AC, MU}), "link.review": [g({S}, {MU})], **INTAKE,
                          # a child's consultation: the centre that received it; the duty roster
                          **{a: [g({CO}, {OA})] for a in ("voice.inbox", "voice.read", "voice.write", "voice.link")},
                          "voice.duty": [g({CO})],
                          "handover.send": [g({HO}, {AC, MU})], "handover.intake": [g({HO}, {AC, MU})],
                          **_cases({S, A, SC}, {AC, MU}, ledger=True)},
    "public_health_nurse": {**_care_team({AC, MU}), **_cases({S, A, SC}, {AC, MU}, ledger=True),
                            "handover.send": [g({HO}, {AC, MU})], "handover.intake": [g({HO}, {AC, MU})]},
    "child_guidance_caseworker": {
        "child.view": [g({A, SC}, {AC})],
        "child.items.read": [g({A, SC}, {AC})],
        "referral.write": [g({SC}, {AC})],
        "statistics.read": STATS,
        **INTAKE,
        **_cases({A, SC}, {AC}),
    },
    # 心の天気: the class teacher their own class; the school's managers (who may also export) its classes
    "school_manager": {**_school({SS}), **_kokoro_class({SS}), "kokoro.export": [g({WB}, {SS}, 2)]},
    "teacher": {**_school({AC}), **_kokoro_class({AC})},
    "data_steward": {
        "sources.load": [g({AD})],
        # the learned ranking (issue 25): trained and looked at in shadow mode, approved by the steward
        "ranking.manage": [g({AD})], "ranking.approve": [g({AD})],
        "link.review": [g({S}, {MU}, 1)],
        "statistics.read": STATS,
        **URGENCY_ADMIN,
    },
    "privacy_officer": {
        "requests.handle": [g({DH}, {MU}, 2)],
        "child.view": [g({DH}, {MU}, 2)],
        "child.items.read": [g({DH}, {MU}, 2)],
        "audit.read": [g({DH, AD})],
        "audit.verify": [g({AD})],
        "notifications.read": [g({AD})],
        "users.approve": [g({AD})],
        "statistics.read": STATS,
        "family.codes.issue": [g({GS}, {MU}, 1, REGISTER)],
    },
    # a parent at the family portal: only their own children (the register's household and 続柄), never 3
    "guardian": {
        "child.view": [g({GS}, {OC}, 2)],
        "family.history.read": [g({GS}, {OC}, 2)],
        "family.requests.file": [g({GS}, {OC}, 2)],
        "family.requests.read": [g({GS}, {OC}, 2)],
        "child.items.read": [g({GS}, {OC}, 2, GUARDIAN_READS)],
        "family.household.check": [g({GS}, None, 1, REGISTER)],
        "family.consult.read": [g({CO}, {OT}, 2)],
        "family.consult.write": [g({CO}, {OT}, 2)],
        "family.consult.about": [g({CO}, {OC}, 2)],
    },
    "administrator": {
        "rules.manage": [g({AD})],
        "ranking.manage": [g({AD})],
        "users.manage": [g({AD})],
        "users.approve": [g({AD})],
        "keys.manage": [g({AD})],
        "handover.manage": [g({AD})],
        "audit.read": [g({AD})],
        "audit.verify": [g({AD})],
        "statistics.read": STATS,
        **URGENCY_ADMIN,
    },
    "statistics_officer": {"statistics.read": STATS},
    # the department that runs a programme: its own families eligible and not receiving (push-type support)
    "programme_officer": {
        "outreach.list": [g({OR}, {MU}, 2, PROGRAMME_DEPARTMENTS), g({OR}, {MU}, 2, ADDRESSING)],
        "outreach.notices": [g({OR}, {MU}, 2, PROGRAMME_DEPARTMENTS), g({OR}, {MU}, 2, ADDRESSING)],
        "outreach.optout": [g({OR}, {MU}, 2, PROGRAMME_DEPARTMENTS)],
        "outreach.outcomes": [g({OR})],
        "statistics.read": STATS,
    },
}
DUTY_BOUND = {"school_social_worker", "centre_caseworker", "public_health_nurse", "child_guidance_caseworker"}
NO_CHILD_DETAIL = {"administrator", "data_steward", "statistics_officer"}
CHILD_DETAIL_ACTIONS = {"candidates.list", "child.view", "child.items.read", "observation.write", "review.write",
                        "plan.write", "referral.write", "requests.handle", "handover.send", "handover.intake",
                        "intake.read", "intake.write", "intake.list", "shared.read", "shared.write", "shared.list",
                        "outreach.list", "outreach.notices", "outreach.optout", "family.history.read",
                        "family.requests.file", "family.requests.read",
                        "case.read", "case.write", "case.list", "case.print", "ledger.print"}
CHILD_DETAIL_ACTIONS |= {"family.consult.read", "family.consult.write", "family.consult.about"}
CHILD_DETAIL_ACTIONS |= {"children.search", "voice.inbox", "voice.read", "voice.write", "voice.link", "kokoro.board", "kokoro.optout",
                         "kokoro.export"}
CHILD_TOUCHING = CHILD_DETAIL_ACTIONS | {"link.review", "family.codes.issue", "family.household.check", "kokoro.codes"}
ALL_ACTIONS = CHILD_TOUCHING | {"audit.read", "audit.verify", "notifications.read", "rules.manage", "users.manage",
                                "sources.load", "keys.manage", "statistics.read", "handover.manage", "urgency.manage",
                                "urgency.card", "outreach.outcomes",
                                "users.approve", "voice.duty", "kokoro.classes", "ranking.manage",
                                "ranking.approve"}
# the prefecture's linkage and statistics (issue 26) are system runs over released data: no role is granted them
PURPOSES = [S, A, SC, ST, DH, AD, HO, OR, GS, CO, WB, "prefecture_linkage", "prefecture_statistics"]
RELATIONSHIPS = [AC, SS, MU, OA, OC, OT, NONE]
HOLDERS = [None, "schools", "family_centre", "board_of_education", "maternal_child_health", "resident_registry"]
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def expected(role: str, action: str, purpose: str, rel: str, sensitivity: int, holder: str | None) -> tuple[bool, str]:
    """(allowed, rule id of the refusal) — checks in the documented order."""
    if action in CHILD_DETAIL_ACTIONS and role in NO_CHILD_DETAIL:
        return False, "deny.no_child_detail"
    grants = EXPECTED[role].get(action, [])
    if not grants:
        return False, "deny.role_action"
    grants = [x for x in grants if purpose in x.purposes]
    if not grants:
        return False, "deny.purpose"
    if action not in CHILD_TOUCHING:
        return True, ""
    grants = [x for x in grants if x.relationships is None or rel in x.relationships]
    if not grants:
        return False, "deny.relationship"
    grants = [x for x in grants if x.holders is None or holder in x.holders]
    if not grants:
        return False, "deny.holder"
    if sensitivity == 3 and role not in DUTY_BOUND:
        return False, "deny.sensitivity.duty"
    if sensitivity > max(x.max_sensitivity for x in grants):
        return False, "deny.sensitivity.rule"
    return True, ""


def test_the_expected_table_covers_exactly_the_registered_names() -> None:
    policy = default_policy()
    assert set(registered_actions()) == ALL_ACTIONS
    assert set(policy.roles) == set(EXPECTED)
    assert set(policy.purposes) == set(PURPOSES)
    assert set(policy.relationships) == set(RELATIONSHIPS)
    assert {r for r, spec in policy.roles.items() if spec.confidentiality_duty} == DUTY_BOUND
    assert {r for r, spec in policy.roles.items() if not spec.child_detail} == NO_CHILD_DETAIL


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_every_decision_matches_the_independent_table(role: str) -> None:
    subject = Subject("u-1", role, "org-1")
    rule_ids = {r.id for r in default_policy().spec.rules}
    mismatches = []
    checked = 0
    for action, purpose, rel, sensitivity, holder in itertools.product(
        sorted(ALL_ACTIONS), PURPOSES, RELATIONSHIPS, (1, 2, 3), HOLDERS
    ):
        decision = decide(subject, action, purpose, relationship=rel, sensitivity=sensitivity, holder=holder)
        allowed, deny_rule = expected(role, action, purpose, rel, sensitivity, holder)
        checked += 1
        case = (action, purpose, rel, sensitivity, holder)
        if decision.allowed != allowed or (not allowed and decision.rule != deny_rule):
            mismatches.append((case, decision.allowed, decision.rule, allowed, deny_rule))
        assert decision.reason and JAPANESE.search(decision.reason), case
        assert not decision.break_glass
        if decision.allowed:
            assert decision.rule in rule_ids and decision.rule in decision.reason
    assert checked == len(ALL_ACTIONS) * len(PURPOSES) * len(RELATIONSHIPS) * 3 * len(HOLDERS)
    assert not mismatches, "\n".join(map(str, mismatches[:20]))


def test_sensitivity_three_only_ever_reaches_duty_bound_roles() -> None:
    for role, action, purpose, rel in itertools.product(EXPECTED, CHILD_TOUCHING, PURPOSES, RELATIONSHIPS):
        decision = decide(Subject("u", role, "o"), action, purpose, relationship=rel, sensitivity=3, holder="schools")
        if decision.allowed:
            assert role in DUTY_BOUND


def test_reasons_name_the_rule_and_the_dimension() -> None:
    teacher = Subject("t-1", "teacher", "school-001")
    reason = decide(teacher, "child.items.read", A, relationship=AC, sensitivity=2, holder="tax").reason
    assert "deny.holder" in reason and "税務課" in reason
    reason = decide(teacher, "child.view", A, relationship=NONE).reason
    assert "関係なし" in reason and "担当ケース" in reason
    reason = decide(teacher, "child.view", A, relationship=AC, sensitivity=3).reason
    assert "守秘義務" in reason and "児童福祉法第25条の5" in reason
    ok = decide(Subject("s-1", "school_social_worker", "school-001"), "child.items.read", A, relationship=SS,
                sensitivity=3)
    assert ok.allowed and "ssw.child_read" in ok.reason


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"action": "child.delete"}, UnknownActionError),
        ({"purpose": "marketing"}, UnknownPurposeError),
        ({"relationship": "neighbour"}, UnknownRelationshipError),
        ({"sensitivity": 4}, PolicyError),
        ({"sensitivity": True}, PolicyError),
        ({"holder": "no_such_department"}, PolicyError),
    ],
)
def test_unknown_names_are_errors_not_silent_denials(kwargs: dict[str, object], error: type[Exception]) -> None:
    args: dict[str, object] = {"action": "child.view", "purpose": A, "relationship": AC, "sensitivity": 1}
    args.update(kwargs)
    # The valid request first, so the policy has its decision at hand: True == 1 must not find it.
    assert decide(Subject("u", "centre_caseworker", "o"), "child.view", A, relationship=AC, sensitivity=1).allowed
    with pytest.raises(error, match=r"未登録|機微度"):
        decide(Subject("u", "centre_caseworker", "o"), str(args.pop("action")), str(args.pop("purpose")),
               **args)  # type: ignore[arg-type]


def test_unknown_role_is_an_error() -> None:
    with pytest.raises(UnknownRoleError, match="superuser"):
        decide(Subject("u", "superuser", "o"), "child.view", A)


def test_items_are_decided_one_by_one_with_their_catalogue_sensitivity_and_holder() -> None:
    teacher = Subject("t-1", "teacher", "school-001")
    decisions = default_policy().decide_items(
        teacher, "child.items.read", A, ["absence_days", "lunch_fee_arrears_months", "abuse_consultation", "public_assistance"],
        relationship=AC,
    )
    assert {k for k, d in decisions.items() if d.allowed} == {"absence_days", "lunch_fee_arrears_months"}
    assert decisions["abuse_consultation"].rule == "deny.holder"  # held by the centre, and sensitivity 3
    assert decisions["public_assistance"].rule == "deny.holder"
    catalog = default_catalog()
    assert catalog.item("absence_days").department == "schools"


MINI = """\
roles:
  nurse: {label: 保健師, confidentiality_duty: true, duty_basis: 保健師助産師看護師法, child_detail: true, break_glass: true}
  clerk: {label: 事務, confidentiality_duty: false, duty_basis: 地方公務員法, child_detail: false}
  helper: {label: 支援員, confidentiality_duty: false, duty_basis: 地方公務員法, child_detail: true}
relationships: {assigned_case: {label: 担当ケース}, none: {label: 関係なし}}
actions:
  child.view: {label: 概要の閲覧, kind: child_record, break_glass: true}
  stats.read: {label: 統計, kind: aggregate}
rules:
  - {id: nurse.view, label: 保健師は担当の子どもを見られる, roles: [nurse], actions: [child.view], purposes: [assessment], relationships: [assigned_case]}
"""


def _mini(extra: str = "", base: str = MINI) -> str:
    return base + extra


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ("  - {id: clerk.view, label: x, roles: [clerk], actions: [child.view], purposes: [assessment], max_sensitivity: 2}\n",
         11, "child_detail: false"),
        ("  - {id: helper.view, label: x, roles: [helper], actions: [child.view], purposes: [assessment]}\n",
         11, "max_sensitivity: 2"),
        ("  - {id: x.view, label: x, roles: [ghost], actions: [child.view], purposes: [assessment]}\n", 11, "unknown role"),
        ("  - {id: x.view, label: x, roles: [nurse], actions: [child.edit], purposes: [assessment]}\n", 11, "unknown action"),
        ("  - {id: x.view, label: x, roles: [nurse], actions: [child.view], purposes: [assessment], holders: [mars]}\n",
         11, "unknown holder"),
        ("  - {id: nurse.view, label: x, roles: [nurse], actions: [stats.read], purposes: [assessment]}\n", 11,
         "duplicate rule id"),
        ("  - {id: x.view, label: x, roles: [nurse], actions: [child.view], purposes: [assessment], colour: red}\n", 11,
         "unknown key"),
    ],
)
def test_a_policy_file_that_breaks_an_invariant_is_refused_with_its_line(extra: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_policy(Path("policy.yaml"), text=_mini(extra))
    assert info.value.line == line


def test_break_glass_only_on_child_records_and_duplicate_keys_refused() -> None:
    bad = MINI.replace("stats.read: {label: 統計, kind: aggregate}", "stats.read: {label: 統計, kind: aggregate, break_glass: true}")
    with pytest.raises(ConfigError, match="break_glass is only for child_record"):
        load_policy(Path("p.yaml"), text=bad)
    with pytest.raises(ConfigError, match="duplicate key"):
        load_policy(Path("p.yaml"), text=MINI + "relationships: {}\n")


def test_dated_rules_apply_only_in_their_period_in_japan_time() -> None:
    dated = MINI.replace("relationships: [assigned_case]}", "relationships: [assigned_case], valid_until: 2027-03-31}")
    policy = load_policy(Path("p.yaml"), text=dated)
    nurse = Subject("n", "nurse", "o")
    # 2027-03-31 23:30 JST is still the last day; 15:30 UTC on the 31st is 00:30 JST on 1 April.
    assert policy.decide(nurse, "child.view", A, relationship=AC, now=datetime(2027, 3, 31, 14, 30, tzinfo=UTC)).allowed
    late = policy.decide(nurse, "child.view", A, relationship=AC, now=datetime(2027, 3, 31, 15, 30, tzinfo=UTC))
    assert not late.allowed and late.rule == "deny.role_action"
