"""Error rates by group on held-out decisions, and the 1.25× disparity flag with its likely cause.

Groups (never inputs of the model): 一人親世帯 (児童扶養手当 on record — the allowance is for
single-parent households, so it is the municipality's own marker of them), 外国人住民 (住民記録),
世帯に障害者手帳 (a household member's certificate) and the age band. fairlearn's MetricFrame computes
the rates with the estimator's weights; the ratio compares the worst and best subgroup of each
grouping. A rate of 0 against a positive one is an unbounded ratio and is flagged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

DISPARITY_LIMIT = 1.25
MIN_GROUP = 30  # held-out decisions in a subgroup below which its rates are shown but not compared
GROUP_LABELS = {"single_parent": "一人親世帯", "foreign_national": "外国人住民", "disability_in_household": "世帯に障害者手帳",
                "age_band": "年齢層"}
RATE_LABELS = {"false_positive_rate": "過剰掲載率（支援の必要なしと判断された子どもが上位に入る割合）",
               "false_negative_rate": "見逃し率（支援が必要と判断された子どもが上位に入らない割合）"}


def _rates(y: npt.NDArray[np.int64], pred: npt.NDArray[np.int64], w: npt.NDArray[np.float64],
           groups: npt.NDArray[Any]) -> dict[str, dict[str, float | int]]:
    from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate

    frame = MetricFrame(
        metrics={"false_positive_rate": false_positive_rate, "false_negative_rate": false_negative_rate},
        y_true=y, y_pred=pred, sensitive_features=groups,
        sample_params={"false_positive_rate": {"sample_weight": w}, "false_negative_rate": {"sample_weight": w}},
    )
    out: dict[str, dict[str, float | int]] = {}
    for value, row in frame.by_group.iterrows():
        mask = groups == value
        out[str(value)] = {"false_positive_rate": round(float(row["false_positive_rate"]), 4),
                           "false_negative_rate": round(float(row["false_negative_rate"]), 4),
                           "decisions": int(mask.sum()), "positives": int(y[mask].sum())}
    return out


def _ratio(values: list[float]) -> float:
    low, high = min(values), max(values)
    if high == 0:
        return 1.0
    return float("inf") if low == 0 else high / low


def by_group(y: npt.NDArray[np.int64], pred: npt.NDArray[np.int64], w: npt.NDArray[np.float64],
             groups: Mapping[str, npt.NDArray[Any]], top_indicator: Mapping[str, Mapping[str, str]] | None = None,
             ) -> dict[str, Any]:
    """``groups``: grouping → value per decision; ``top_indicator``: grouping → subgroup → the indicator
    that lifts that subgroup's scores most. Returns rates, ratios and flags (with causes)."""
    result: dict[str, Any] = {}
    flags: list[dict[str, Any]] = []
    for grouping, values in groups.items():
        rates = _rates(y, pred, w, np.asarray(values).astype(str))
        compared = {k: v for k, v in rates.items() if v["decisions"] >= MIN_GROUP}
        ratios = {}
        for rate in RATE_LABELS:
            if len(compared) >= 2:
                ratios[rate] = _ratio([float(v[rate]) for v in compared.values()])
        result[grouping] = {"label": GROUP_LABELS.get(grouping, grouping), "groups": rates,
                            "ratios": {k: (round(v, 3) if np.isfinite(v) else "∞") for k, v in ratios.items()}}
        for rate, ratio in ratios.items():
            if ratio > DISPARITY_LIMIT:
                flags.append({"grouping": grouping, "rate": rate, "ratio": round(ratio, 3) if np.isfinite(ratio) else "∞",
                              "cause": _cause(grouping, rate, compared, (top_indicator or {}).get(grouping, {}))})
    return {"limit": DISPARITY_LIMIT, "by_group": result, "flags": flags}


def _cause(grouping: str, rate: str, compared: Mapping[str, Mapping[str, float | int]],
           top_indicator: Mapping[str, str]) -> str:
    """The likeliest cause in words: how the share found in need differs between the subgroups
    (a ranking with one threshold has unequal error rates whenever base rates differ), and which
    indicator lifts the group's scores most."""
    shares = {k: (float(v["positives"]) / float(v["decisions"])) for k, v in compared.items() if v["decisions"]}
    worst = max(compared, key=lambda k: float(compared[k][rate]))
    best = min(compared, key=lambda k: float(compared[k][rate]))
    text = (f"{GROUP_LABELS.get(grouping, grouping)}「{worst}」の{RATE_LABELS[rate].split('（')[0]}は "
            f"{float(compared[worst][rate]):.2f}、「{best}」は {float(compared[best][rate]):.2f}。"
            f"確認で支援が必要と判断された割合が「{worst}」{shares.get(worst, 0):.2f}・「{best}」{shares.get(best, 0):.2f} と異なり、"
            "一つの基準で上位を選ぶと誤りの率に差が出ます。")
    if worst in top_indicator:
        text += (f"「{worst}」の順位を最も押し上げている指標は「{top_indicator[worst]}」です"
                 "（群の属性そのものはモデルの入力ではありません）。")
    return text
