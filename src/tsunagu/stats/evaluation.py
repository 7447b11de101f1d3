"""Evaluation of the work itself: what the professionals decided against what the screening said,
how soon listed children were reached, and what came of referrals.

Counts of children, each under the same suppression as every table. Overrides are the cells of
the decision table where the decision differs from the tier (the category is the pair 一次区分 →
二次判断); their reasons are free text, kept encrypted, and never counted or shown.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from tsunagu.privacy.policy import JST
from tsunagu.screen.model import DOMAINS
from tsunagu.stats.figures import LISTED
from tsunagu.stats.source import ReferralFact, StatsData
from tsunagu.stats.tables import Spec
from tsunagu.work.plans import OUTCOMES, REFERRAL_STATUSES
from tsunagu.work.reviews import DECISIONS, TIER_DECISION

CONTACT_BANDS = ("一覧掲載前から関与", "7日以内", "8〜30日", "31〜90日", "91日以上", "まだ接触なし")
REACHED = ("接触あり", CONTACT_BANDS[-1])


def _latest_reviews(data: StatsData) -> dict[str, tuple[str | None, str]]:
    latest: dict[str, tuple[str | None, str]] = {}
    for review in data.reviews:  # in time order: the last one stands
        latest[review.person_id] = (review.tier, review.decision)
    return latest


def first_listed(data: StatsData) -> dict[str, date]:
    """The date of the first run (among those read) that listed each child."""
    first: dict[str, date] = {}
    for run in data.runs:
        for child in data.results.get(run.run_id, []):
            if child.tier in LISTED and child.person_id not in first:
                first[child.person_id] = run.as_of
    return first


def contact_band(listed_on: date, contact: datetime | None) -> str:
    if contact is None:
        return CONTACT_BANDS[-1]
    days = (contact.date() - listed_on).days
    if days < 0:
        return CONTACT_BANDS[0]
    for limit, label in ((7, CONTACT_BANDS[1]), (30, CONTACT_BANDS[2]), (90, CONTACT_BANDS[3])):
        if days <= limit:
            return label
    return CONTACT_BANDS[4]


def referral_result(ref: ReferralFact) -> str:
    if ref.status == "closed":
        return f"終了：{OUTCOMES.get(ref.outcome or 'other', 'その他')}"
    return REFERRAL_STATUSES.get(ref.status, ref.status)


REFERRAL_COLUMNS = [REFERRAL_STATUSES[s] for s in ("proposed", "referred", "connected")] + \
    [f"終了：{label}" for label in OUTCOMES.values()]


def evaluation(data: StatsData) -> list[Spec]:
    run = data.latest
    if run is None:
        return []
    specs = []
    decisions = list(DECISIONS.values())
    reviewed = _latest_reviews(data)
    tiers = [t for t in (*LISTED, "対象外")]
    cells = Counter((tier or "対象外", DECISIONS.get(decision, decision)) for tier, decision in reviewed.values())
    specs.append(Spec("decision_by_tier", "二次アセスメントの判断（一次スクリーニングの区分別。区分と異なる判断は上書き）",
                      "一次区分", "二次判断", tiers, decisions, [[cells[(t, d)] for d in decisions] for t in tiers],
                      "reviewed", "tier", "decision", note=_override_note()))
    current = {c.person_id: c for c in data.results.get(run.run_id, [])}
    domain_ids = [d for d in DOMAINS if any(d in c.domains for p in reviewed if (c := current.get(p)))]
    by_domain = Counter((d, DECISIONS.get(dec, dec)) for p, (_t, dec) in reviewed.items()
                        if (c := current.get(p)) for d in c.domains)
    if domain_ids:
        specs.append(Spec("decision_by_domain", "二次アセスメントの判断（領域別。1人が複数の領域に該当します）", "領域", "二次判断",
                          [DOMAINS[d] for d in domain_ids], decisions,
                          [[by_domain[(d, x)] for x in decisions] for d in domain_ids], "reviewed", "domain", "decision",
                          layout="lines"))
    listed_now = [c for c in current.values() if c.tier in LISTED]
    first = first_listed(data)
    bands = Counter((c.tier, contact_band(first.get(c.person_id, run.as_of), data.contacts.get(c.person_id)))
                    for c in listed_now)
    specs.append(Spec("contact_by_tier", "一覧に載ってから最初の接触（二次アセスメント・支援方針・つなぎ）までの日数", "支援区分",
                      "最初の接触まで", list(LISTED), list(CONTACT_BANDS),
                      [[bands[(t, b)] for b in CONTACT_BANDS] for t in LISTED], f"listed@{run.run_id}", "tier", "contact"))
    marks = ("ノーマーク", "支援機関が把握済み")
    reach = Counter((marks[0] if c.no_mark else marks[1], REACHED[0] if c.person_id in data.contacts else REACHED[1])
                    for c in listed_now)
    # "contact": its まだ接触なし total is the contact table's, and is suppressed alike.
    specs.append(Spec("no_mark_reached", "ノーマークの子どもに手が届いたか（最新の実行で支援候補の子ども）", "把握の有無", "接触",
                      list(marks), list(REACHED), [[reach[(m, r)] for r in REACHED] for m in marks],
                      f"listed@{run.run_id}", "no_mark", "contact"))
    return specs


def _override_note() -> str:
    pairs = "、".join(f"{t}→{DECISIONS[d]}" for t, d in TIER_DECISION.items())
    return f"区分どおりの判断は {pairs}。それ以外のセルが上書き（理由は自由記述のため集計しません）。"


def referral_specs(data: StatsData, fiscal_year: int) -> list[Spec]:
    """Children per support resource by the latest state of their referral made in the fiscal year.

    The budget's figures per programme are sums of this table's published cells: one table, so
    the two sections cannot disagree about (or give away) a suppressed count.
    """
    latest: dict[tuple[str, str], ReferralFact] = {}
    for ref in data.referrals:
        if fiscal_year_of(ref.at) == fiscal_year:
            latest[(ref.resource, ref.person_id)] = ref
    if not latest:
        return []
    resources = sorted({r for r, _p in latest})
    counts = Counter((r, referral_result(ref)) for (r, _p), ref in latest.items())
    return [Spec("referral_results", f"つなぎの結果（{fiscal_year}年度のつなぎ。社会資源別の子どもの数、最新の状況）", "社会資源", "結果",
                 resources, REFERRAL_COLUMNS, [[counts[(r, c)] for c in REFERRAL_COLUMNS] for r in resources],
                 f"referrals@{fiscal_year}", "resource", "result", layout="lines")]


def fiscal_year_of(moment: datetime) -> int:
    """年度: April to March (地方自治法第208条), by the date in Japan."""
    day = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(JST).date()
    return day.year if day.month >= 4 else day.year - 1
