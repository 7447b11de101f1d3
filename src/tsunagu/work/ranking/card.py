"""モデルカード: one per version, in Japanese — data period, labels, metrics, groups, limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tsunagu.work.ranking.fairness import RATE_LABELS

if TYPE_CHECKING:
    from tsunagu.work.ranking.models import RankingVersion

LIMITS = (
    "二次アセスメントで記録された判断から学んだものであり、子どもに支援が必要かどうかの事実ではありません。判断の偏りはそのまま学ばれます。",
    "一覧（掲載枠）の外の子どもの判断は、無作為確認枠とモデルの提案で確認された子どもに限られます。重みづけ（逆確率重みづけ）で補いますが、無作為確認枠が小さいほど不確かです。",
    "区分（重点支援・予防的支援・見守り）を上げ下げすることはありません。一覧の中の順番をつけ、見守りへの追加を提案するだけで、追加するかどうかは人が判断します。",
    "データ担当が承認するまでは試行モードで、データ担当にだけ表示されます。",
    "入力は判定ルールが読む指標だけです。一人親・外国籍・障害・年齢層などの群の属性は入力にせず、群ごとの誤りの率の確認にだけ使います。",
    "高校生（15〜17歳）と未就学児（3〜5歳）は市町村が持つデータが少なく、見逃しが多くなりやすい年齢層です。",
)


def build_card(row: RankingVersion, metrics: Mapping[str, Any], fair: Mapping[str, Any], names: Sequence[str],
               labels: Mapping[str, str], rule_set_hash: str) -> dict[str, Any]:
    flags = list(fair.get("flags", []))
    return {
        "version": row.version,
        "title": f"学習による並べ替え {row.version} のモデルカード",
        "data_period": {"from": str(row.period_from), "to": str(row.period_to),
                        "text": f"{row.period_from} から {row.period_to} までのスクリーニングに対する二次アセスメントの判断"},
        "labels": ("二次アセスメントで専門職が記録した判断（支援する・見守る＝支援の必要あり、対応不要＝なし）。"
                   "子どもごとに最新の判断を使う。一覧に載った子ども・モデルが提案した子ども（重み1）と"
                   "無作為確認枠の子ども（重み＝1÷抽出確率）だけを使い、それ以外の判断は使わない。"
                   "重みは全体の推定（重みつきの較正誤差・群ごとの誤りの率）に使い、学習そのものは重みなしで行う。"),
        "inputs": [labels.get(n, n) for n in names],
        "rule_set_hash": rule_set_hash,
        "method": ("LightGBM（勾配ブースティング木）。記録の80%で学習し、その80%の5分割交差予測で"
                   "プラット法（ロジスティック）による較正、残り20%（保留データ）で評価。理由は LightGBM の寄与度（SHAP値）を指標名に対応させて示す。"),
        "metrics": dict(metrics),
        "metrics_text": (f"保留した判断での較正誤差（ECE、10区間）{metrics['held_out_ece']:.3f}"
                         f"（基準 {metrics['ece_limit']} 以下: {'満たす' if metrics['calibrated'] else '満たさない'}）。"
                         f"無作為確認枠の重みをつけた全体の推定では {metrics['held_out_ece_weighted']:.3f}"),
        "fairness": dict(fair),
        "fairness_text": ([f"群による差が {fair['limit']} 倍を超えています: {f['cause']}（比 {f['ratio']}、"
                           f"{RATE_LABELS[f['rate']].split('（')[0]}）" for f in flags]
                          or [f"どの群でも誤りの率の差は {fair['limit']} 倍以内でした（保留データで{30}件以上の群）。"]),
        "flagged": bool(flags),
        "limits": list(LIMITS),
    }


def card_lines(card: Mapping[str, Any], status_label: str) -> list[str]:
    """The card as plain Japanese lines (CLI and documents)."""
    lines = [card["title"], f"状態: {status_label}", f"データの期間: {card['data_period']['text']}",
             f"ラベル: {card['labels']}", f"方法: {card['method']}", f"精度: {card['metrics_text']}",
             f"判断の件数: {card['metrics']['decisions']}（支援の必要あり {card['metrics']['positive']}、"
             f"うち無作為確認枠 {card['metrics']['random_sample_decisions']}、保留 {card['metrics']['held_out']}）",
             "群ごとの誤りの率:"]
    for grouping in card["fairness"]["by_group"].values():
        for value, rates in grouping["groups"].items():
            lines.append(f"  {grouping['label']} {value}: 過剰掲載率 {rates['false_positive_rate']:.3f}・"
                         f"見逃し率 {rates['false_negative_rate']:.3f}（{rates['decisions']}件）")
    lines += card["fairness_text"]
    lines.append("入力した指標: " + "、".join(card["inputs"]))
    lines.append("限界:")
    lines += [f"  ・{text}" for text in card["limits"]]
    return lines
