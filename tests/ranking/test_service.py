"""The learned ranking on a small synthetic town: labels from recorded decisions only, weights of the
random sample, tiers untouched by the model, shadow mode until the steward approves (audited)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

pytest.importorskip("lightgbm", reason="the optional extra 'learn' (scripts/test installs it)")
pytest.importorskip("fairlearn", reason="the optional extra 'learn' (scripts/test installs it)")

from support.hubs import copy_home, hub_of
from support.municipality import SmallTown
from tsunagu.privacy import Subject, authorise
from tsunagu.privacy.models import AuditEntry
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.screen.runs.run import run_screening
from tsunagu.work.errors import Invalid
from tsunagu.work.ranking import service
from tsunagu.work.ranking.models import APPROVED, SHADOW
from tsunagu.work.ranking.simulate import REVIEWER, _needs
from tsunagu.work.reviews import needs_reason, record_review

STEWARD = Subject("steward1", "data_steward", "municipality")
SAMPLE = 0.4


@pytest.fixture(scope="module")
def trained(linked_town: Path, small_town: SmallTown, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A home with one screening run, its list and a random sample reviewed, and a trained version."""
    home = tmp_path_factory.mktemp("ranking") / "home"
    copy_home(linked_town, home, scope="session")
    with hub_of(home) as hub, hub.sessions.begin() as session:
        rule_set = hub.rule_set()
        report = run_screening(session, hub.nodes(), hub.manifests, hub.catalog, rule_set, date(2026, 10, 31))
        sample = service.draw_sample(session, report.run_id, SAMPLE, seed=5)
        listed = set(session.scalars(select(ScreeningResult.person_id).where(
            ScreeningResult.run_id == report.run_id, ScreeningResult.in_list)))
        tiers = dict(session.execute(select(ScreeningResult.person_id, ScreeningResult.tier)
                                     .where(ScreeningResult.run_id == report.run_id)).all())
        needs = _needs(session, small_town.truth)
        for person in sorted(listed | set(sample)):
            decision = "support" if needs.get(person) else "no_action"
            record_review(session, REVIEWER, "assessment", person, decision=decision, rationale="テストの判断",
                          run_id=report.run_id, cipher=hub.note_cipher,
                          override_reason="区分と異なる判断（テスト）" if needs_reason(tiers[person], decision) else "")
        row = service.train_version(session, STEWARD, hub.nodes(), hub.manifests, hub.catalog, rule_set, seed=1)
        return home, report.run_id, row.version


def test_labels_are_recorded_decisions_weighted_by_the_inverse_sampling_probability(trained: tuple[Path, str, str]) -> None:
    home, run_id, _ = trained
    with hub_of(home) as hub, hub.sessions() as session:
        labels = service.labelled(session)
        in_list = set(session.scalars(select(ScreeningResult.person_id).where(
            ScreeningResult.run_id == run_id, ScreeningResult.in_list)))
    weights = dict(labels.select("person_id", "weight").iter_rows())
    assert weights and all(weights[p] == 1.0 for p in in_list if p in weights)
    outside = [w for p, w in weights.items() if p not in in_list]
    assert outside and all(w == pytest.approx(1 / SAMPLE) for w in outside)


def test_a_new_version_is_in_shadow_mode_with_a_japanese_card(trained: tuple[Path, str, str]) -> None:
    home, _, version = trained
    with hub_of(home) as hub, hub.sessions() as session:
        row = service.get_version(session, version)
        card = json.loads(row.card_json)
    assert row.status == SHADOW and row.approved_by is None
    assert card["metrics"]["decisions"] > 200 and 0 <= card["metrics"]["held_out_ece"] < 1
    assert set(card["fairness"]["by_group"]) == {"single_parent", "foreign_national", "disability_in_household", "age_band"}
    assert "直近12か月の欠席日数" in card["inputs"]
    assert card["labels"].startswith("二次アセスメント") and card["limits"]
    for flag in card["fairness"]["flags"]:
        assert flag["cause"] and any(flag["cause"] in text for text in card["fairness_text"])


def test_the_model_never_changes_a_tier_or_the_list(trained: tuple[Path, str, str]) -> None:
    home, run_id, version = trained

    def snapshot() -> dict[str, tuple[str, bool, int | None]]:
        with hub_of(home) as hub, hub.sessions() as session:
            return {r.person_id: (r.tier, r.in_list, r.list_rank) for r in session.scalars(
                select(ScreeningResult).where(ScreeningResult.run_id == run_id))}

    before = snapshot()
    with hub_of(home) as hub, hub.sessions.begin() as session:
        report = service.score_run(session, hub.nodes(), hub.manifests, hub.catalog, hub.rule_set(), run_id, version)
        shown = service.shown_scores(session, run_id, steward=True)
    assert snapshot() == before
    assert report.scored == len(before) and set(report.drift) and max(report.drift.values()) < 0.01  # same data
    in_list = {p for p, (_t, listed, _r) in before.items() if listed}
    ranks = {s["person_id"]: s["rank"] for s in shown}
    assert max(ranks[p] for p in in_list) == len(in_list)  # the list is ordered first, nothing else inside it
    proposals = [s for s in shown if s["proposed"]]
    assert all(before[s["person_id"]][1] is False for s in proposals)  # proposals are additions, never removals
    assert all(r["text"].endswith("が順位を上げています") for s in shown[:20] for r in s["reasons"])


def test_shadow_scores_are_for_the_steward_until_approval_which_is_audited(trained: tuple[Path, str, str]) -> None:
    home, run_id, version = trained
    with hub_of(home) as hub, hub.sessions.begin() as session:
        service.score_run(session, hub.nodes(), hub.manifests, hub.catalog, hub.rule_set(), run_id, version)
        assert service.shown_scores(session, run_id, steward=False) == []
        assert service.shown_scores(session, run_id, steward=True)
    with hub_of(home) as hub, hub.sessions.begin() as session:
        card = json.loads(service.get_version(session, version).card_json)
        if not card["metrics"]["calibrated"]:
            with pytest.raises(Invalid, match="較正誤差"):
                service.approve(session, STEWARD, version)
            return
        service.approve(session, STEWARD, version)
    with hub_of(home) as hub, hub.sessions() as session:
        assert service.get_version(session, version).status == APPROVED
        assert service.shown_scores(session, run_id, steward=False)
        events = session.scalars(select(AuditEntry).where(AuditEntry.action == "ranking.approve")).all()
        assert [e.actor for e in events] == ["steward1"] and version in events[0].reason
    with hub_of(home) as hub, hub.sessions() as session, pytest.raises(Invalid):
        service.approve(session, STEWARD, version)


@pytest.mark.parametrize(("role", "action", "allowed"), [
    ("data_steward", "ranking.approve", True), ("administrator", "ranking.approve", False),
    ("centre_caseworker", "ranking.approve", False), ("administrator", "ranking.manage", True),
    ("teacher", "ranking.manage", False),
])
def test_who_may_train_and_approve(linked_town: Path, role: str, action: str, allowed: bool) -> None:
    with hub_of(linked_town) as hub, hub.sessions() as session:
        decision = authorise(session, Subject("u1", role, "municipality"), action, "administration")
        session.rollback()
    assert decision.allowed is allowed
