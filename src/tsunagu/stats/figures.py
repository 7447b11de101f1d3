"""The statistics' tables, from gathered data to specs (counts only; ``tables.publish_all`` suppresses).

Populations are named so that numbers meaning the same thing in two tables are recognised:
``listed@<run>`` (children listed in a run: 重点支援・予防的支援・見守り), ``screened@<run>``
(every child the run screened), ``pupils@<run>`` (school records answering for the year's
absence). 対象外 counts by group are never published beside listed counts: the group's listed
total and its screened total would otherwise give the 対象外 cell away.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from tsunagu.screen.model import DOMAINS, TIERS
from tsunagu.stats.source import ChildResult, Run, StatsData
from tsunagu.stats.tables import Spec

LISTED = TIERS[:-1]
NO_SCHOOL = "在籍校なし（未就学など）"
AGE_BANDS = ((0, 3, "0〜2歳"), (3, 6, "3〜5歳"), (6, 12, "6〜11歳"), (12, 15, "12〜14歳"), (15, 200, "15歳以上"))
NO_AGE = "年齢不明"
# 年間30日以上の欠席は文部科学省「児童生徒の問題行動・不登校等生徒指導上の諸課題に関する調査」の長期欠席。
ABSENCE_BANDS = ((0, 1, "0日"), (1, 10, "1〜9日"), (10, 30, "10〜29日"), (30, 10_000, "30日以上（長期欠席）"))
HOUSEHOLDS = ("ふたり親等世帯", "ひとり親世帯", "保護者の記録なし", "世帯情報なし")
CHECKUP_LABELS = {"checkup_4m": "乳児健診（4か月）", "checkup_18m": "1歳6か月児健診", "checkup_3y": "3歳児健診"}


def run_label(run: Run) -> str:
    return f"{run.as_of.isoformat()} 実行"


def age_band(age: float | None) -> str:
    if age is None:
        return NO_AGE
    return next((label for low, high, label in AGE_BANDS if low <= age < high), NO_AGE)


def absence_band(days: float) -> str:
    return next(label for low, high, label in ABSENCE_BANDS if low <= days < high)


def school_of(child: ChildResult) -> str:
    return child.school or NO_SCHOOL


def _cross(children: Iterable[ChildResult], row: Callable[[ChildResult], str], rows: Sequence[str],
           cols: Sequence[str]) -> list[list[int]]:
    counts = Counter((row(c), c.tier) for c in children)
    return [[counts[(r, t)] for t in cols] for r in rows]


def _present(values: Iterable[str], order: Sequence[str] = ()) -> list[str]:
    seen = set(values)
    return [v for v in order if v in seen] + sorted(seen - set(order))


def aggregates(data: StatsData) -> list[Spec]:
    run = data.latest
    if run is None:
        return []
    pop = f"listed@{run.run_id}"
    listed = [c for c in data.results.get(run.run_id, []) if c.tier in LISTED]
    specs = []
    schools = _present(map(school_of, listed), ())
    specs.append(Spec("listed_by_school", "支援候補の子ども（学校・支援区分別）", "学校（校区）", "支援区分", schools, list(LISTED),
                      _cross(listed, school_of, schools, LISTED), pop, "school", "tier"))
    ages = [label for *_b, label in AGE_BANDS] + [NO_AGE]
    ages = [a for a in ages if any(age_band(c.age) == a for c in listed)]
    specs.append(Spec("listed_by_age", "支援候補の子ども（年齢帯・支援区分別）", "年齢帯", "支援区分", ages, list(LISTED),
                      _cross(listed, lambda c: age_band(c.age), ages, LISTED), pop, "age", "tier"))
    homes = _present((c.household for c in listed), HOUSEHOLDS)
    specs.append(Spec("listed_by_household", "支援候補の子ども（世帯類型・支援区分別）", "世帯類型", "支援区分", homes, list(LISTED),
                      _cross(listed, lambda c: c.household, homes, LISTED), pop, "household", "tier"))
    domains = [d for d in DOMAINS if any(d in c.domains for c in listed)]
    by_domain = Counter((d, c.tier) for c in listed for d in c.domains)
    specs.append(Spec("listed_by_domain", "支援候補の子ども（領域・支援区分別。1人が複数の領域に該当します）", "領域", "支援区分",
                      [DOMAINS[d] for d in domains], list(LISTED), [[by_domain[(d, t)] for t in LISTED] for d in domains],
                      pop, "domain", "tier", layout="lines"))
    marks = ("ノーマーク", "支援機関が把握済み")
    mark_counts = Counter((school_of(c), marks[0] if c.no_mark else marks[1]) for c in listed)
    specs.append(Spec("no_mark_by_school", "ノーマークの支援候補（学校別）", "学校（校区）", "把握の有無", schools, list(marks),
                      [[mark_counts[(s, m)] for m in marks] for s in schools], pop, "school", "no_mark"))
    return specs + _trends(data)


def _trends(data: StatsData) -> list[Spec]:
    runs = [r for r in data.runs if r.run_id in data.results]
    if not runs:
        return []
    labels = [run_label(r) for r in runs]
    by_run = [Counter(c.tier for c in data.results[r.run_id] if c.tier in LISTED) for r in runs]
    specs = [Spec("listed_by_run", "支援候補の推移（実行ごと・支援区分別）", "実行", "支援区分", labels, list(LISTED),
                  [[counts[t] for t in LISTED] for counts in by_run], "listed", "run", "tier", layout="lines",
                  row_populations=[f"listed@{r.run_id}" for r in runs], chart="line")]
    school = school_of
    schools = _present(school(c) for r in runs for c in data.results[r.run_id])
    screened = [Counter(school(c) for c in data.results[r.run_id]) for r in runs]
    listed = [Counter(school(c) for c in data.results[r.run_id] if c.tier in LISTED) for r in runs]
    specs.append(Spec("screened_by_run_school", "スクリーニング対象の子ども（実行ごと・学校別）", "実行", "学校（校区）", labels, schools,
                      [[counts[s] for s in schools] for counts in screened], "screened", "run", "school", layout="lines",
                      row_populations=[f"screened@{r.run_id}" for r in runs], chart="none"))
    specs.append(Spec("listed_by_run_school", "支援候補の推移（実行ごと・学校別）", "実行", "学校（校区）", labels, schools,
                      [[counts[s] for s in schools] for counts in listed], "listed", "run", "school", layout="lines",
                      row_populations=[f"listed@{r.run_id}" for r in runs], chart="multiples"))
    return specs


def indicators(data: StatsData) -> list[Spec]:
    runs = [r for r in data.runs if data.absence.get(r.run_id)]
    specs = []
    bands = [label for *_b, label in ABSENCE_BANDS]
    if runs:
        rows = [Counter(absence_band(days) for days in data.absence[r.run_id].values()) for r in runs]
        specs.append(Spec("absence_by_run", "年間欠席日数の分布（実行ごと。学校の月別記録、統計目的で提供された範囲）", "実行", "年間欠席日数",
                          [run_label(r) for r in runs], bands, [[counts[b] for b in bands] for counts in rows], "pupils",
                          "run", "absence", layout="lines", row_populations=[f"pupils@{r.run_id}" for r in runs],
                          chart="multiples"))
    items = [i for i in CHECKUP_LABELS if i in data.checkups]
    if items:
        values = ["受診", "未受診"]
        specs.append(Spec("checkups", "乳幼児健診の受診状況（記録件数）", "健診", "受診状況", [CHECKUP_LABELS[i] for i in items],
                          values, [[data.checkups[i][v] for v in values] for i in items], "checkup_records", "checkup",
                          "attended", layout="lines"))
    return specs
