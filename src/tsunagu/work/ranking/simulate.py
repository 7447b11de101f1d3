"""``tsunagu screen simulate``: several rounds of screening with the synthetic truth playing the reviewers.

Each round, as a town would: a screening run (the rules, with the list size); the version trained
after the previous round scores the run (shadow mode) and proposes unlisted children; a random
review sample of the unlisted children is drawn; the reviewers decide on every child put in front
of them not already decided — through the normal second-stage review service (``record_review``,
authorised and audited) — and a new version is trained on the recorded decisions only.

The synthetic truth plays the reviewers, with errors: a child in need is judged 対応不要 with
probability ``miss`` and a child not in need is judged 支援する with probability ``false_alarm``.
Defaults (10% / 5%) are a stated assumption: studies of child-protection decisions find only
moderate agreement between professionals on the same case (Bartelink, van Yperen & ten Berge 2015,
Child Abuse & Neglect 49:142–153, a review of inter-rater reliability of maltreatment decisions),
so reviewers are not an oracle; the exact rates are a setting.

The truth is read only to play the reviewers and, at the end, to measure. The ceiling is a
LightGBM model trained on the truth itself over the same indicators (five-fold cross-validated,
as ``benchmarks/screen_ceiling.py``): what any ranking of these indicators could reach.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link.models import PersonLink
from tsunagu.privacy import NoteCipher, Subject
from tsunagu.screen import RuleSet
from tsunagu.screen.listsize import capacity
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.screen.runs.run import run_screening
from tsunagu.screen.runs.truth import evaluate_screening
from tsunagu.vault.node import Node
from tsunagu.work.errors import Invalid
from tsunagu.work.models import Review
from tsunagu.work.ranking import learn, service
from tsunagu.work.reviews import needs_reason, record_review

REVIEWER = Subject("simulation-reviewer", "centre_caseworker", "family_centre")
STEWARD = Subject("simulation-steward", "data_steward", "municipality")


@dataclass(frozen=True)
class SimulationSettings:
    rounds: int = 3
    sample_share: float = 0.02  # 無作為確認枠: share of unlisted children reviewed each round
    miss: float = 0.10  # reviewer judges a child in need 対応不要
    false_alarm: float = 0.05  # reviewer judges a child not in need 支援する
    seed: int = 1

    def check(self) -> None:
        if self.rounds < 1:
            raise Invalid("--rounds は1以上で指定してください")
        for name, value in (("--sample-share", self.sample_share), ("--miss", self.miss),
                            ("--false-alarm", self.false_alarm)):
            if not 0 <= value < 1:
                raise Invalid(f"{name} は0以上1未満で指定してください（{value}）")


def _needs(session: Session, truth: Path) -> dict[str, bool]:
    """person_id → in need, through the register's 宛名番号 (the truth's key)."""
    children = pl.read_csv(truth / "children.csv", infer_schema_length=0).select("person_id", "needs_support")
    persons = pl.read_csv(truth / "persons.csv", infer_schema_length=0).select("person_id", "aza_number")
    aza = pl.DataFrame(session.execute(select(PersonLink.person_id, PersonLink.local_id)
                                       .where(PersonLink.source == "juki_jumin")).all(),
                       schema={"person_id": pl.Utf8, "aza_number": pl.Utf8}, orient="row").unique("person_id")
    frame = children.join(persons, on="person_id").select("aza_number", "needs_support").join(
        aza.rename({"person_id": "hub_person"}), on="aza_number")
    return {p: n == "1" for p, n in frame.select("hub_person", "needs_support").iter_rows()}


def _decided(session: Session) -> set[str]:
    return set(session.scalars(select(Review.person_id).where(Review.kind == "review", Review.decision.is_not(None))))


def _review(session: Session, person_id: str, run_id: str, in_need: bool, tier: str, rng: np.random.Generator,
            s: SimulationSettings, cipher: NoteCipher) -> None:
    says_need = (rng.random() >= s.miss) if in_need else (rng.random() < s.false_alarm)
    decision = "support" if says_need else "no_action"
    record_review(session, REVIEWER, "assessment", person_id, decision=decision,
                  rationale="模擬レビュー（合成データの正解に誤りを加えた判断）", run_id=run_id, cipher=cipher,
                  override_reason="模擬レビュー: 区分と異なる判断（合成データ）" if needs_reason(tier, decision) else "")


def _top_recall(score: np.ndarray, needs: np.ndarray, share: float) -> float:
    listed = np.argsort(-score, kind="stable")[: capacity(share, score.size)]
    return float(needs[listed].sum() / max(needs.sum(), 1))


def _ceiling(x: np.ndarray, needs: np.ndarray, share: float, seed: int) -> float:
    """Five-fold cross-validated LightGBM on the truth itself: the ceiling for these indicators."""
    lgb = learn.lightgbm()
    rng = np.random.default_rng(seed)
    fold = rng.integers(0, 5, needs.size)
    score = np.zeros(needs.size)
    for k in range(5):
        tr = fold != k
        booster = lgb.train({**learn.PARAMS, "seed": seed}, lgb.Dataset(x[tr], label=needs[tr].astype(float)),
                            num_boost_round=learn.ROUNDS)
        score[~tr] = booster.predict(x[~tr], raw_score=True)
    return _top_recall(score, needs, share)


def _cross_fitted(x: np.ndarray, decided: np.ndarray, labels: np.ndarray, raw: np.ndarray, seed: int) -> np.ndarray:
    """Scores where no decided child is scored by a model that learned its own decision.

    The version is scored on the very children whose decisions trained it, so its top list partly
    repeats the decisions (in-sample); the ceiling is cross-validated. For a like-for-like figure,
    each decided child is scored by the same training fitted without its fold (five folds); the
    undecided keep the version's score (it never saw them)."""
    lgb = learn.lightgbm()
    score = raw.copy()
    rows = np.flatnonzero(decided)
    fold = np.random.default_rng(seed).integers(0, 5, rows.size)
    for k in range(5):
        booster = lgb.train({**learn.PARAMS, "seed": seed}, lgb.Dataset(x[rows[fold != k]], label=labels[fold != k]),
                            num_boost_round=learn.ROUNDS)
        score[rows[fold == k]] = booster.predict(x[rows[fold == k]], raw_score=True)
    return score


def simulate(session_factory: Callable[[], Any], nodes: Mapping[str, Node], manifests: ManifestSet, catalog: Catalog,
             rule_set: RuleSet, truth: Path, as_of: date, cipher: NoteCipher, settings: SimulationSettings,
             progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """``session_factory()``: a context manager giving a session in a transaction (``hub.sessions.begin``)."""
    settings.check()
    rng = np.random.default_rng(settings.seed)
    learn.lightgbm()
    rounds: list[dict[str, Any]] = []
    version: str | None = None
    cache: dict[str, service.Population] = {}  # a run's inputs are read once, not by every step
    for round_no in range(1, settings.rounds + 1):
        with session_factory() as session:
            report = run_screening(session, nodes, manifests, catalog, rule_set, as_of)
            run_id = report.run_id
            needs = _needs(session, truth)
            proposed: set[str] = set()
            if version is not None:
                service.score_run(session, nodes, manifests, catalog, rule_set, run_id, version, cache)
                proposed = {s["person_id"] for s in service.shown_scores(session, run_id, steward=True)
                            if s["proposed"] and s["version"] == version}
            sample = set(service.draw_sample(session, run_id, settings.sample_share,
                                             seed=settings.seed * 1000 + round_no))
            results = dict(session.execute(select(ScreeningResult.person_id, ScreeningResult.tier)
                                           .where(ScreeningResult.run_id == run_id)).all())
            listed = set(session.scalars(select(ScreeningResult.person_id).where(
                ScreeningResult.run_id == run_id, ScreeningResult.in_list)).all())
            todo = sorted((listed | proposed | sample) - _decided(session))
            for person_id in todo:
                _review(session, person_id, run_id, needs.get(person_id, False), results[person_id], rng, settings, cipher)
            row = service.train_version(session, STEWARD, nodes, manifests, catalog, rule_set, seed=settings.seed,
                                        cache=cache)
            version = row.version
            rounds.append({"round": round_no, "run_id": run_id, "reviewed": len(todo), "listed": len(listed),
                           "proposed": len(proposed), "sampled": len(sample), "version": version})
            progress(f"第{round_no}回: 確認 {len(todo)}人（一覧 {len(listed)}・提案 {len(proposed)}・"
                     f"無作為 {len(sample)}）→ {version}")
    return _measure(session_factory, nodes, manifests, catalog, rule_set, truth, version, rounds, settings, cache)


def _measure(session_factory: Callable[[], Any], nodes: Mapping[str, Node], manifests: ManifestSet,
             catalog: Catalog, rule_set: RuleSet, truth: Path, version: str | None, rounds: list[dict[str, Any]],
             settings: SimulationSettings, cache: dict[str, service.Population]) -> dict[str, Any]:
    assert version is not None
    run_id = rounds[-1]["run_id"]
    with session_factory() as session:
        rules = evaluate_screening(session, truth, run_id)
        row = service.get_version(session, version)
        run = session.get(ScreeningRun, run_id)
        assert run is not None
        pop = service.population(session, nodes, manifests, catalog, rule_set, run.as_of, run_id, cache)
        needs_map = _needs(session, truth)
        card = row.card_json
        decisions = service.labelled(session)
    encoding = learn.Encoding.from_json(json.loads(row.features_json))
    x = learn.encode(pop.indicators, encoding)
    needs = np.array([needs_map.get(p, False) for p in pop.indicators["person_id"]])
    raw = learn.raw_scores(row.model_text, x)
    share = rule_set.settings.list_share
    ceiling = _ceiling(x, needs, share, settings.seed)
    model_recall = _top_recall(raw, needs, share)
    label_of = dict(decisions.select("person_id", "label").iter_rows())
    people = pop.indicators["person_id"].to_list()
    decided = np.array([p in label_of for p in people])
    labels = np.array([float(label_of[p]) for p in people if p in label_of])
    cross_fitted = _top_recall(_cross_fitted(x, decided, labels, raw, settings.seed), needs, share)
    card_data = json.loads(card)
    bands = pop.groups["age_band"].to_numpy()
    cut = np.sort(raw)[-capacity(share, raw.size)]
    by_band = {b: float((needs & (raw >= cut) & (bands == b)).sum() / max((needs & (bands == b)).sum(), 1))
               for b in ("0-2", "3-5", "6-11", "12-14", "15-17")}
    return {
        "listed_share": rules["listed_share"], "list_share_setting": share,
        "ceiling_recall": ceiling, "rules_recall": rules["recall"], "model_recall": model_recall,
        "model_recall_cross_fitted": cross_fitted,
        "model_ece": card_data["metrics"]["held_out_ece"],
        "model_ece_weighted": card_data["metrics"]["held_out_ece_weighted"],
        "single_department_recall": rules["single_department_recall"],
        "best_single_department": rules["best_single_department"],
        "rules_to_ceiling": rules["recall"] / ceiling if ceiling else None,
        "model_to_ceiling": model_recall / ceiling if ceiling else None,
        "rules_to_single_department": rules["recall_ratio_to_single_department"],
        "model_recall_by_age_band": by_band, "rules_by_group": rules["by_group"],
        "model_fairness_flags": card_data["fairness"]["flags"], "version": version, "rounds": rounds,
        "settings": {"rounds": settings.rounds, "sample_share": settings.sample_share, "miss": settings.miss,
                     "false_alarm": settings.false_alarm, "seed": settings.seed},
        "children": int(needs.size), "in_need": int(needs.sum()),
    }
