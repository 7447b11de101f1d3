"""How much recall could any screening reach on this data? A learned upper bound beside the rules.

Usage: .venv/bin/python benchmarks/screen_ceiling.py --children 100000 [--profile default]
       .venv/bin/python benchmarks/screen_ceiling.py --home DIR --truth DIR [--as-of YYYY-MM-DD] [--out F]
Needs scikit-learn (``pip install 'tsunagu[analysis]'``); the package itself never does.

The home must be linked and screened (``tsunagu bench`` leaves one). The script gathers the very
inputs a screening run reads (every indicator of the rule set, through the department nodes), then
trains a gradient-boosted classifier **on the synthetic truth itself**, five-fold cross-validated,
and reports the recall it reaches when it may list 10, 15, 20 or 30% of the children, and at 15% by
age band beside the rules' own list of the latest run (recall by age band). No rule set
may look at the truth, so this is a generous ceiling for rules that read the same indicators: when
the ceiling at 15% is below a target, the target cannot be met by changing rules, only by better
data. Writes benchmarks/results/screen-ceiling-<profile>-<N>.json (or --out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import select

from tsunagu.commands.screen import rule_set_for
from tsunagu.config import load_settings
from tsunagu.hub import Hub
from tsunagu.link.models import PersonLink
from tsunagu.screen.evaluate import compute_indicators
from tsunagu.screen.runs.inputs import gather
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.screen.runs.truth import evaluate_screening, latest_run_id

ROOT = Path(__file__).resolve().parent.parent
SHARES = (0.10, 0.15, 0.20, 0.30)
AGE_BANDS = ("0-2", "3-5", "6-11", "12-14", "15-17")


def _features(indicators: pl.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Numbers and booleans as they are; text as category codes (missing stays missing)."""
    columns = []
    for name, dtype in indicators.schema.items():
        if name == "person_id":
            continue
        col = pl.col(name)
        if dtype == pl.Utf8:
            col = col.cast(pl.Categorical).to_physical()
        columns.append(col.cast(pl.Float64).alias(name))
    frame = indicators.select(columns)
    return frame.to_numpy(), frame.columns


def _recall_at(score: np.ndarray, needs: np.ndarray, share: float) -> float:
    listed = np.argsort(-score, kind="stable")[: int(len(score) * share)]
    return float(needs[listed].sum() / needs.sum())


def _band_recall(listed: np.ndarray, needs: np.ndarray, bands: np.ndarray) -> dict[str, float]:
    return {band: float((needs & listed & (bands == band)).sum() / max((needs & (bands == band)).sum(), 1))
            for band in AGE_BANDS}


def _in_list(session: Any, run_id: str | None) -> pl.DataFrame:
    """The rules' list of the latest run: who is in it (the run's own ``in_list``)."""
    rows = session.execute(select(ScreeningResult.person_id, ScreeningResult.in_list)
                           .where(ScreeningResult.run_id == run_id)).all() if run_id else []
    return pl.DataFrame(rows, schema={"person_id": pl.Utf8, "in_list": pl.Boolean}, orient="row")


def measure(home: Path, truth: Path, as_of: dt.date) -> dict[str, Any]:
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.model_selection import cross_val_predict
    except ImportError:  # pragma: no cover - optional analysis extra
        sys.exit("scikit-learn がありません: pip install 'tsunagu[analysis]' / needs scikit-learn")
    with Hub.open(load_settings(home)) as hub, hub.sessions.begin() as session:
        rule_set = rule_set_for(hub)
        inputs = gather(session, hub.nodes(), hub.manifests, hub.catalog, rule_set.item_ids, as_of, "ceiling")
        aza = pl.DataFrame(session.execute(select(PersonLink.person_id, PersonLink.local_id)
                                           .where(PersonLink.source == "juki_jumin")).all(),
                           schema={"person_id": pl.Utf8, "aza_number": pl.Utf8}, orient="row")
        rules = evaluate_screening(session, truth, latest_run_id(session)) if latest_run_id(session) else None
        in_list = _in_list(session, latest_run_id(session))
    indicators = compute_indicators(rule_set, as_of, inputs.people, inputs.observations)
    ages = inputs.people.select("person_id", ((pl.lit(as_of) - pl.col("birth_date")).dt.total_days() / 365.25)
                                .alias("age"))
    children = pl.read_csv(truth / "children.csv", infer_schema_length=0).join(
        pl.read_csv(truth / "persons.csv", infer_schema_length=0).select("person_id", "aza_number"), on="person_id")
    frame = (indicators.join(ages, on="person_id").join(aza.unique("person_id"), on="person_id")
             .join(children.select("aza_number", "needs_support", "age_band"), on="aza_number")
             .join(in_list, on="person_id", how="left"))
    listed_by_rules = frame["in_list"].fill_null(False).to_numpy()
    x, names = _features(frame.drop("aza_number", "needs_support", "age_band", "in_list"))
    needs = (frame["needs_support"] == "1").to_numpy()
    model = HistGradientBoostingClassifier(max_iter=300, random_state=1)
    score = cross_val_predict(model, x, needs, cv=5, method="predict_proba")[:, 1]
    cut = np.sort(score)[-int(len(score) * 0.15)]
    bands = frame["age_band"].to_numpy()
    by_band = _band_recall(score >= cut, needs, bands)
    return {
        "children": len(needs),
        "in_need": int(needs.sum()),
        "features": names,
        "ceiling_recall_at_share": {f"{s:.2f}": _recall_at(score, needs, s) for s in SHARES},
        "ceiling_recall_at_15_by_age_band": by_band,
        "in_need_by_age_band": {band: int((needs & (bands == band)).sum()) for band in AGE_BANDS},
        "rules_recall_by_age_band": _band_recall(listed_by_rules, needs, bands) if rules else None,
        "rules": {k: rules[k] for k in ("recall", "listed_share", "precision", "single_department_recall",
                                        "best_single_department")}
        if rules else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, help="use benchmarks/work/bench-<profile>-<N>/")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--home", type=Path)
    parser.add_argument("--truth", type=Path)
    parser.add_argument("--as-of", type=dt.date.fromisoformat)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.children:
        work = ROOT / "benchmarks" / "work" / f"bench-{args.profile}-{args.children}"
        home, truth = args.home or work / "home", args.truth or work / "synth" / "truth"
    elif args.home and args.truth:
        home, truth = args.home, args.truth
    else:
        parser.error("give --children N, or --home and --truth")
    manifest = json.loads((truth / "manifest.json").read_text(encoding="utf-8"))
    as_of = args.as_of or dt.date.fromisoformat(manifest["export_date"])
    result = {"home": str(home), "profile": manifest.get("profile", args.profile), "as_of": as_of.isoformat(),
              **measure(home, truth, as_of)}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 1)
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    out = args.out or ROOT / "benchmarks" / "results" / f"screen-ceiling-{args.profile}-{result['children']}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("ceiling_recall_at_share", "ceiling_recall_at_15_by_age_band",
                                             "rules_recall_by_age_band", "in_need_by_age_band", "rules",
                                             "cpu_seconds", "peak_rss_mb")},
                     ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
