"""How the learned ranking's fit behaves, on an offline replica of ``tsunagu screen simulate``.

Usage: .venv/bin/python benchmarks/ranking_fit_replica.py --work benchmarks/work/learned-default-20000 [--out F]
Needs the ``learn`` extra. The work folder is one ``bench_screen_learned.py`` builds (home + synth).

A full simulation (screening runs, the review service, the audit chain) costs minutes of CPU per
variant; this replica keeps the design and drops the machinery: one screening run of the home gives
every child's indicators and the rules' list; then, per round, the listed, the proposed and a random
2% of the unlisted are "reviewed" by the synthetic truth with the simulation's errors (10% missed,
5% false alarms), and a model is fitted on the decisions so far. Variants: the estimator's weights
in the fit or not; a 60/20/20 split or 80/20 with cross-fitted calibration; with or without the
rules' own evidence (tier, hard rules, points per domain) as inputs. Recall is the model's top 15%
(in-sample, as the simulation's ``model_recall``); the ceiling is LightGBM on the truth, five-fold.
The home is copied first: the screening run is not left in it.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import select

from tsunagu.commands.screen import rule_set_for
from tsunagu.config import load_settings
from tsunagu.hub import Hub
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.screen.runs.run import run_screening
from tsunagu.work.ranking import learn, service
from tsunagu.work.ranking.simulate import _needs

TIERS = {"重点支援": 0, "予防的支援": 1, "見守り": 2, "対象外": 3}


def extract(work: Path) -> dict[str, np.ndarray]:
    truth = work / "synth" / "truth"
    base = date.fromisoformat(json.loads((truth / "manifest.json").read_text(encoding="utf-8"))["export_date"])
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(work / "home", home)
        with Hub.open(load_settings(home)) as hub:
            rules = rule_set_for(hub)
            with hub.sessions.begin() as s:
                run_id = run_screening(s, hub.nodes(), hub.manifests, hub.catalog, rules, base).run_id
                pop = service.population(s, hub.nodes(), hub.manifests, hub.catalog, rules, base, run_id)
                needs = _needs(s, truth)
                res = pl.DataFrame(s.execute(select(
                    ScreeningResult.person_id, ScreeningResult.tier, ScreeningResult.in_list,
                    ScreeningResult.domain_scores, ScreeningResult.hard_rules).where(
                    ScreeningResult.run_id == run_id)).all(), orient="row",
                    schema=["person_id", "tier", "in_list", "domain_scores", "hard_rules"])
    ind = pop.indicators
    res = ind.select("person_id").join(res, on="person_id", how="left", maintain_order="left")
    scores = [json.loads(d) for d in res["domain_scores"]]
    domains = sorted(scores[0])
    points = np.array([[d[k] for k in domains] for d in scores], dtype=float)
    evidence = np.column_stack([[TIERS[t] for t in res["tier"]], [len(json.loads(h)) for h in res["hard_rules"]],
                                points, points.sum(1), (points > 0).sum(1)])
    return {"x": learn.encode(ind, learn.encoding_for(ind)), "evidence": evidence.astype(float),
            "in_list": res["in_list"].to_numpy().astype(bool),
            "y": np.array([needs.get(p, False) for p in ind["person_id"]])}


def _recall(score: np.ndarray, y: np.ndarray) -> float:
    top = np.argsort(-score, kind="stable")[: math.ceil(0.15 * y.size)]
    return float(y[top].sum() / y.sum())


def ceiling(x: np.ndarray, y: np.ndarray, seed: int = 1) -> float:
    lgb = learn.lightgbm()
    fold = np.random.default_rng(seed).integers(0, 5, y.size)
    score = np.zeros(y.size)
    for k in range(5):
        b = lgb.train({**learn.PARAMS, "seed": seed}, lgb.Dataset(x[fold != k], label=y[fold != k].astype(float)),
                      num_boost_round=learn.ROUNDS)
        score[fold == k] = b.predict(x[fold == k], raw_score=True)
    return _recall(score, y)


def replica(x: np.ndarray, y: np.ndarray, in_list: np.ndarray, *, weighted: bool, split: str, rounds: int = 3,
            p: float = 0.02, miss: float = 0.10, false_alarm: float = 0.05, seed: int = 1) -> list[float]:
    lgb = learn.lightgbm()
    rng = np.random.default_rng(seed)
    n, cap = y.size, math.ceil(0.15 * y.size)
    decided, label, weight = np.zeros(n, bool), np.zeros(n), np.zeros(n)
    model: Any = None
    out = []
    for _ in range(rounds):
        proposed = np.zeros(n, bool)
        if model is not None:
            proposed[np.argsort(-model.predict(x, raw_score=True))[:cap]] = True
            proposed &= ~in_list
        sample = ~in_list & (rng.random(n) < p)
        todo = (in_list | proposed | sample) & ~decided
        says = np.where(y, rng.random(n) >= miss, rng.random(n) < false_alarm)
        label[todo] = says[todo]
        weight[todo] = np.where((in_list | proposed)[todo], 1.0, 1.0 / p) if weighted else 1.0
        decided |= todo
        xs, ls, ws = x[decided], label[decided], weight[decided]
        part = np.zeros(ls.size, dtype=np.int8)
        for value in (0, 1):
            idx = np.random.default_rng(seed).permutation(np.flatnonzero(ls == value))
            part[idx[int(idx.size * (0.6 if split == "60/20/20" else 0.8)):]] = 1
        fit = part == 0
        model = lgb.train({**learn.PARAMS, "seed": seed}, lgb.Dataset(xs[fit], label=ls[fit], weight=ws[fit]),
                          num_boost_round=learn.ROUNDS)
        out.append(round(_recall(model.predict(x, raw_score=True), y), 4))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    d = extract(args.work)
    x, y, in_list = d["x"], d["y"], d["in_list"]
    xe = np.column_stack([x, d["evidence"]])
    result: dict[str, Any] = {"children": int(y.size), "in_need": int(y.sum()),
                              "rules_recall": round(float(y[in_list].sum() / y.sum()), 4),
                              "ceiling": round(ceiling(x, y), 4), "ceiling_with_evidence": round(ceiling(xe, y), 4),
                              "variants": []}
    for inputs, features in (("indicators", x), ("indicators+evidence", xe)):
        for weighted in (True, False):
            for split in ("60/20/20", "80/20"):
                result["variants"].append({"inputs": inputs, "weighted_fit": weighted, "split": split,
                                           "recall_by_round": replica(features, y, in_list, weighted=weighted,
                                                                      split=split)})
                print(json.dumps(result["variants"][-1], ensure_ascii=False), flush=True)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
