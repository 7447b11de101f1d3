"""Figures from hand-made data: aggregates, budget, evaluation — and random towns through the whole report."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stats.oracle import exposures, truth_of
from tsunagu.stats.budget import ProgrammeFile, budget_specs, load_programmes, programme_lines
from tsunagu.stats.evaluation import contact_band, evaluation, referral_specs
from tsunagu.stats.figures import absence_band, age_band, aggregates, indicators
from tsunagu.stats.source import ChildResult, ReferralFact, ReviewFact, Run, StatsData
from tsunagu.stats.tables import Cell, Spec, StatTable, listed_shares, publish_all
from tsunagu.yamlstrict import ConfigError

RUN1, RUN2 = Run("r1", date(2026, 9, 30), None), Run("r2", date(2026, 10, 31), None)


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def _child(n: int, tier: str = "重点支援", *, school: str | None = "S1", domains: tuple[str, ...] = ("poverty",),
           no_mark: bool = False, age: float | None = 9.0, household: str = "ひとり親世帯") -> ChildResult:
    return ChildResult(f"P{n:04d}", tier, domains, no_mark, school, age, household)


def test_bands_have_the_stated_edges() -> None:
    assert [age_band(a) for a in (0, 2.99, 3, 5.9, 6, 11.99, 12, 14.5, 15, None)] == [
        "0〜2歳", "0〜2歳", "3〜5歳", "3〜5歳", "6〜11歳", "6〜11歳", "12〜14歳", "12〜14歳", "15歳以上", "年齢不明"]
    assert [absence_band(d) for d in (0, 0.5, 1, 9, 10, 29, 30, 200)] == [
        "0日", "0日", "1〜9日", "1〜9日", "10〜29日", "10〜29日", "30日以上（長期欠席）", "30日以上（長期欠席）"]
    listed = date(2026, 10, 31)
    assert contact_band(listed, None) == "まだ接触なし"
    assert contact_band(listed, _at("2026-10-30T09:00")) == "一覧掲載前から関与"
    assert contact_band(listed, _at("2026-11-07T09:00")) == "7日以内"
    assert contact_band(listed, _at("2026-11-08T09:00")) == "8〜30日"
    assert contact_band(listed, _at("2027-02-01T09:00")) == "91日以上"


def _published(specs: list[Spec], k: int = 3) -> dict[str, StatTable]:
    return {t.id: t for t in publish_all(specs, k)}


def test_aggregates_count_listed_children_only_and_never_the_unlisted_by_group() -> None:
    children = [_child(i, "重点支援") for i in range(12)] + [_child(100 + i, "見守り", school="S2") for i in range(5)]
    children += [_child(200 + i, "対象外") for i in range(30)]
    data = StatsData([RUN2], {"r2": children})
    tables = _published(aggregates(data), k=3)
    by_school = tables["listed_by_school"]
    assert by_school.rows == ["S1", "S2"] and by_school.cols == ["重点支援", "予防的支援", "見守り"]
    assert [c.value for c in by_school.cells[0]] == [12, 0, 0] and [c.value for c in by_school.cells[1]] == [0, 0, 5]
    assert by_school.total is not None and by_school.total.value == 17
    assert "対象外" not in by_school.cols  # 対象外 by group would give cells away against the screened totals
    screened = tables["screened_by_run_school"]
    assert [c.value for c in screened.cells[0]] == [42, 5]


def test_a_small_group_is_suppressed_in_every_table_that_shows_it() -> None:
    children = [_child(i, "重点支援") for i in range(20)] + [_child(100 + i, "予防的支援") for i in range(20)]
    children += [_child(200, "見守り", school="S2"), _child(201, "見守り", school="S2")]
    children += [_child(300 + i, "見守り", school="S3") for i in range(15)]
    tables = _published(aggregates(StatsData([RUN2], {"r2": children})), k=3)
    by_school, by_run = tables["listed_by_school"], tables["listed_by_run"]
    # The 見守り total (17) is published or not alike in both tables that show it.
    assert by_school.col_totals[2].value == by_run.cells[0][2].value
    school_row = by_school.rows.index("S2")
    assert by_school.row_totals[school_row].suppressed
    assert tables["listed_by_run_school"].cells[0][tables["listed_by_run_school"].cols.index("S2")].suppressed


def _plan(tmp_path: Path, text: str) -> ProgrammeFile:
    path = tmp_path / "programmes.yaml"
    path.write_text(text, encoding="utf-8")
    return load_programmes(path)


PLAN = """fiscal_year: 2026
programmes:
  - id: shokudo
    name: こども食堂
    yearly_cost: 1200000
    resources: [食堂A]
    domains: [poverty]
  - id: juku
    name: 学習支援
    yearly_cost: 500000
    resources: [塾B]
    domains: [learning]
"""


@pytest.mark.parametrize(("text", "line", "words"), [
    (PLAN.replace("yearly_cost: 500000", "yearly_cost: -1"), 10, "greater than or equal"),
    (PLAN.replace("domains: [learning]", "domains: [learnin]"), 12, "未知の領域"),
    (PLAN.replace("id: juku", "id: shokudo"), None, "重複"),
    (PLAN.replace("    domains: [poverty]\n", "    domains: [poverty]\n    budget: 3\n"), 8, "budget"),
    (PLAN + "fiscal_year: 2027\n", 13, "duplicate key"),
])
def test_the_programmes_file_is_loaded_strictly(tmp_path: Path, text: str, line: int | None, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _plan(tmp_path, text)
    assert caught.value.path.endswith("programmes.yaml") and words in str(caught.value)
    if line is not None:
        assert caught.value.line == line, str(caught.value)


def test_cost_per_child_reached_counts_take_up_in_the_fiscal_year(tmp_path: Path) -> None:
    plan = _plan(tmp_path, PLAN)
    refs = [ReferralFact(f"P{i:04d}", "食堂A", "居場所", "connected", None, _at("2026-06-01T10:00")) for i in range(12)]
    refs += [ReferralFact(f"P{100 + i:04d}", "食堂A", "居場所", "referred", None, _at("2026-07-01T10:00")) for i in range(4)]
    refs += [ReferralFact(f"P{200 + i:04d}", "食堂A", "居場所", "closed", "using", _at("2027-03-31T10:00")) for i in range(3)]
    refs.append(ReferralFact("P0300", "食堂A", "居場所", "connected", None, _at("2026-03-31T10:00")))  # FY2025
    refs.append(ReferralFact("P0301", "食堂A", "居場所", "connected", None, _at("2027-03-31T16:00")))  # 4/1 in Japan
    refs.append(ReferralFact("P0302", "塾B", "学習", "closed", "declined", _at("2026-05-01T10:00")))
    listed = [_child(i, domains=("poverty",)) for i in range(12)] + [_child(500 + i, domains=("learning",)) for i in range(9)]
    data = StatsData([RUN2], {"r2": listed}, referrals=refs)
    tables = _published(referral_specs(data, 2026) + budget_specs(data, plan), k=3)
    referrals = tables["referral_results"]
    row = dict(zip(referrals.cols, [c.value for c in referrals.cells[referrals.rows.index("食堂A")]], strict=True))
    assert row["利用開始"] == 12 and row["紹介済み"] == 4 and row["終了：支援につながった（利用中・利用した）"] == 3
    lines = programme_lines(plan, referrals)
    assert (lines[0].referred, lines[0].took_up, lines[0].cost_per_child) == (19, 15, 80_000)
    # One child at the 塾, who did not take it up: none took it up (zeros are published), the one is hidden.
    assert (lines[1].referred, lines[1].took_up, lines[1].cost_per_child) == (None, 0, None)
    need = tables["unmet_need"]
    assert need.rows == ["生活困窮", "学力"]
    assert [c.value for c in need.cells[0]] == [12, 0]  # every poverty child was referred to the 食堂
    assert [c.value for c in need.cells[1]] == [0, 9]  # no learning child reached by the 塾 (P0302 is not listed)


def test_a_programme_figure_over_a_suppressed_cell_is_not_shown(tmp_path: Path) -> None:
    plan = _plan(tmp_path, PLAN)
    refs = [ReferralFact(f"P{i:04d}", "食堂A", "居場所", "connected", None, _at("2026-06-01T10:00")) for i in range(12)]
    refs += [ReferralFact(f"P{100 + i:04d}", "食堂A", "居場所", "closed", "using", _at("2026-07-01T10:00")) for i in range(2)]
    refs += [ReferralFact(f"P{200 + i:04d}", "食堂A", "居場所", "referred", None, _at("2026-07-01T10:00")) for i in range(5)]
    data = StatsData([RUN2], {"r2": []}, referrals=refs)
    referrals = _published(referral_specs(data, 2026), k=3)["referral_results"]
    line = programme_lines(plan, referrals)[0]
    # 12 + 2: the 2 is suppressed, so is the take-up and the cost per child (it would give the 2 away).
    assert line.took_up is None and line.cost_per_child is None and line.referred == 19


def test_evaluation_of_decisions_contact_and_referrals() -> None:
    listed = [_child(i, "重点支援", no_mark=i % 2 == 0) for i in range(20)]
    reviews = [ReviewFact(f"P{i:04d}", "重点支援", "support", _at("2026-11-03T10:00")) for i in range(15)]
    reviews += [ReviewFact(f"P{i:04d}", "重点支援", "watch", _at("2026-11-20T10:00")) for i in range(15, 18)]
    reviews.append(ReviewFact("P0000", "重点支援", "watch", _at("2026-12-01T10:00")))  # a later review stands
    contacts = {r.person_id: r.at for r in reversed(reviews)}
    refs = [ReferralFact(f"P{i:04d}", "食堂A", "居場所", "connected", None, _at("2026-11-05T10:00")) for i in range(5)]
    data = StatsData([RUN1, RUN2], {"r1": listed[:10], "r2": listed}, reviews=reviews, contacts=contacts, referrals=refs)
    tables = _published(evaluation(data), k=1)  # k = 1: nothing suppressed, the counting alone
    decided = tables["decision_by_tier"]
    assert [c.value for c in decided.cells[0]] == [14, 4, 0]  # 重点支援: 14 support, 4 overridden to 見守る
    contact = tables["contact_by_tier"]
    # Listed first in r1 (2026-09-30): P0000–P0009 reached after 34+ days; P0010–P0014 within 7 days of r2.
    bands = dict(zip(contact.cols, [c.value for c in contact.cells[0]], strict=True))
    assert bands["31〜90日"] == 10 and bands["7日以内"] == 5 and bands["8〜30日"] == 3 and bands["まだ接触なし"] == 2
    with_k3 = _published(evaluation(data), k=3)["contact_by_tier"].cells[0]
    assert with_k3[-1].status == "primary" and with_k3[2].status == "complementary"  # the 3 beside the 2
    reached = tables["no_mark_reached"]
    assert reached.total is not None and reached.total.value == 20
    assert _published(referral_specs(data, 2026), k=1)["referral_results"].row_totals[0].value == 5


towns = st.integers(0, 10_000).map(lambda seed: seed)


def _town(seed: int) -> StatsData:
    import random

    rnd = random.Random(seed)
    schools = [f"S{n}" for n in range(rnd.randint(1, 5))] + [None]
    tiers = ["重点支援", "予防的支援", "見守り", "対象外", "対象外"]
    domains = ["poverty", "learning", "school_refusal", "abuse_risk"]
    results = {}
    for run in (RUN1, RUN2):
        results[run.run_id] = [
            ChildResult(f"P{n:04d}", rnd.choice(tiers), tuple(d for d in domains if rnd.random() < 0.3),
                        rnd.random() < 0.4, rnd.choice(schools), rnd.uniform(0, 17), rnd.choice(["ひとり親世帯", "ふたり親等世帯"]))
            for n in range(rnd.randint(5, 120))]
    listed = [c.person_id for c in results["r2"] if c.tier != "対象外"]
    reviews = [ReviewFact(p, rnd.choice(["重点支援", "見守り"]), rnd.choice(["support", "watch", "no_action"]),
                          _at("2026-11-10T10:00")) for p in listed if rnd.random() < 0.5]
    refs = [ReferralFact(r.person_id, rnd.choice(["食堂A", "塾B"]), "x", rnd.choice(["connected", "referred", "closed"]),
                         rnd.choice(["using", "declined", None]), _at("2026-11-12T10:00")) for r in reviews if rnd.random() < 0.6]
    absence = {"r2": {f"rec{n}": float(rnd.choice([0, 3, 12, 40])) for n in range(rnd.randint(0, 60))}}
    return StatsData([RUN1, RUN2], results, reviews=reviews, referrals=refs,
                     contacts={r.person_id: r.at for r in reviews}, absence=absence)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=towns, k=st.sampled_from([3, 5, 10]))
def test_no_table_of_a_random_town_lets_a_small_cell_be_recomputed(seed: int, k: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    data = _town(seed)
    plan = ProgrammeFile.model_validate({"fiscal_year": 2026, "programmes": [
        {"id": "a", "name": "食堂", "yearly_cost": 100, "resources": ["食堂A"], "domains": ["poverty"]},
        {"id": "b", "name": "塾", "yearly_cost": 100, "resources": ["塾B"], "domains": ["learning"]}]})
    specs = aggregates(data) + indicators(data) + evaluation(data) + referral_specs(data, 2026) + budget_specs(data, plan)
    meaning: dict[object, set[int | None]] = {}
    for spec, table in zip(specs, publish_all(specs, k), strict=True):
        assert exposures(table, truth_of(spec.counts, spec.layout), k) == [], (spec.id, spec.counts)
        shown = [c.value for row in table.cells for c in row] + [c.value for c in table.row_totals]
        assert all(v is None or not 0 < v < k for v in shown), spec.id
        for key, cell in _meanings(spec, table):
            meaning.setdefault(key, set()).add(cell.value)
    # A number that means the same in two tables is published alike in both (or hidden in both).
    assert all(len(values) == 1 for values in meaning.values()), [k for k, v in meaning.items() if len(v) > 1]


def _meanings(spec: Spec, table: StatTable) -> list[tuple[object, Cell]]:
    """Each published number with what it counts, written out independently of the suppression code."""
    out: list[tuple[object, Cell]] = []
    for i, row in enumerate(table.cells):
        pop = spec.row_populations[i] if spec.row_populations else spec.population
        base = set() if spec.row_populations else {f"{spec.row_dim}={spec.rows[i]}"}
        out += [((pop, frozenset(base | {f"{spec.col_dim}={spec.cols[j]}"})), cell) for j, cell in enumerate(row)]
        out.append(((pop, frozenset(base)), table.row_totals[i]))
    out += [((spec.population, frozenset({f"{spec.col_dim}={spec.cols[j]}"})), c) for j, c in enumerate(table.col_totals)]
    if table.total is not None:
        out.append(((spec.population, frozenset()), table.total))
    return out


def test_a_listed_share_is_shown_only_when_both_counts_are_published() -> None:
    def school(name: str, listed: int, other: int, base: int) -> list[ChildResult]:
        return [_child(base + i, "見守り" if i < listed else "対象外", school=name) for i in range(listed + other)]

    children = school("S1", 30, 30, 0) + school("S2", 3, 40, 100) + school("S3", 15, 20, 200)
    tables = _published(aggregates(StatsData([RUN2], {"r2": children})), k=10)
    shares = listed_shares(tables["listed_by_run_school"], tables["screened_by_run_school"])
    by_group = dict(zip(shares.rows, (v[0] for v in shares.values), strict=True))
    assert by_group["S1"] == pytest.approx(30 / 60) and by_group["市全体"] == pytest.approx(48 / 138)
    assert by_group["S2"] is None  # 3 listed: suppressed, so is its share (3/43 would give it away)
    assert by_group["S3"] is None  # its 15 protects the 3 (the town's total is published)
