"""Programme definitions: loading (errors with file and line, municipal overrides) and evaluation on hand-made families."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from tsunagu.outreach.evaluate import ELIGIBLE, NOT_ELIGIBLE, UNDETERMINED, evaluate_programmes
from tsunagu.outreach.inputs import _single_parent
from tsunagu.outreach.programmes import ProgrammeSet, load_programmes
from tsunagu.yamlstrict import ConfigError

RULES = Path(__file__).resolve().parents[2] / "rules"
AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def baseline() -> ProgrammeSet:
    return load_programmes(RULES, None)


def _people(*rows: tuple[str, dt.date, int | None, str]) -> pl.DataFrame:
    return pl.DataFrame({"person_id": [r[0] for r in rows], "birth_date": [r[1] for r in rows],
                         "sex": ["F"] * len(rows), "school_code": [None] * len(rows), "grade": [r[2] for r in rows],
                         "household_id": [r[3] for r in rows]},
                        schema={"person_id": pl.Utf8, "birth_date": pl.Date, "sex": pl.Utf8, "school_code": pl.Utf8,
                                "grade": pl.Int64, "household_id": pl.Utf8})


def _obs(person: str, item: str, *, num: float | None = None, text: str | None = None, flag: bool | None = None,
         on: dt.date = dt.date(2026, 6, 1), dept: str = "tax") -> dict[str, object]:
    return {"person_id": person, "item_id": item, "value_num": num, "value_text": text, "value_bool": flag,
            "observed_on": on, "department": dept, "source_id": f"src-{dept}", "snapshot_date": dt.date(2026, 10, 1),
            "stale": False}


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"person_id": pl.Utf8, "item_id": pl.Utf8, "value_num": pl.Float64,
                                      "value_text": pl.Utf8, "value_bool": pl.Boolean, "observed_on": pl.Date,
                                      "department": pl.Utf8, "source_id": pl.Utf8, "snapshot_date": pl.Date,
                                      "stale": pl.Boolean})


def _row(result: pl.DataFrame, person: str, programme: str) -> dict[str, object] | None:
    found = result.filter((pl.col("person_id") == person) & (pl.col("programme") == programme))
    return found.row(0, named=True) if found.height else None


def test_baseline_loads_every_programme_with_a_department_and_a_reference(baseline: ProgrammeSet) -> None:
    assert {"school_aid", "child_rearing_allowance", "child_allowance", "single_parent_medical", "checkup_4m",
            "checkup_18m", "checkup_3y", "vaccination", "nursery", "temporary_care"} <= set(baseline.programmes)
    for prog in baseline.programmes.values():
        assert prog.reference and prog.department
    assert baseline.parameters_at(AS_OF)["jifu_partial_limit_base"] == 2080000
    assert baseline.parameters_at(dt.date(2024, 10, 31))["jifu_partial_limit_base"] == 1920000


def test_a_municipality_adds_its_own_programme_and_values(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "municipalities" / "272205" / "outreach" / "values.yaml").write_text(
        'municipality: {code: "272205", name: 箕面市}\nparameters:\n  - id: school_aid_multiplier\n'
        "    reference: 市の就学援助要綱（例）\n    values:\n      - {from: 2026-04-01, value: 1.5}\n", encoding="utf-8")
    town = load_programmes(rules, "272205")
    assert "municipal_study_support" in town.programmes
    assert town.parameters_at(AS_OF)["school_aid_multiplier"] == 1.5
    assert town.parameters_at(dt.date(2025, 4, 1))["school_aid_multiplier"] == 1.3
    assert town.hash != load_programmes(RULES, "272205").hash


@pytest.mark.parametrize(("text", "message"), [
    ("    population: age <<< 3\n", "population"),
    ("    department: nowhere\n", "unknown department"),
    ("    purpose: marketing\n", "not registered"),
])
def test_bad_programme_files_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    extra = ("programmes:\n  - id: extra\n    label: 追加\n    kind: service\n    department: childcare\n    purpose: outreach\n"
             "    reference: 例\n    population: age < 3\n    population_label: 3歳未満\n"
             "    conditions:\n      - {id: c, label: 条件, when: age < 2}\n")
    key = text.split(":")[0].strip()
    extra = "\n".join(text.rstrip("\n") if line.strip().startswith(key + ":") else line for line in extra.split("\n"))
    path = rules / "baseline" / "outreach" / "zz_extra.yaml"
    path.write_text(extra, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_programmes(rules, None)
    assert "zz_extra.yaml" in str(caught.value) and message in str(caught.value)
    assert caught.value.line is not None


def test_school_aid_on_income_with_the_source_and_date_of_each_condition(baseline: ProgrammeSet) -> None:
    people = _people(("a", dt.date(2015, 5, 1), 5, "h1"), ("b", dt.date(2016, 5, 1), 4, "h2"),
                     ("c", dt.date(2016, 5, 1), 4, "h3"), ("d", dt.date(2016, 5, 1), 4, "h4"))
    obs = _frame([
        # a: 2 members, income 1.5M <= 1.3 x 1.5M: eligible, no aid on record
        _obs("a", "household_income", num=1_500_000), _obs("a", "household_size", num=2, dept="resident_registry"),
        _obs("a", "resident_tax_exempt", flag=False),
        # b: income above the line, taxed: not eligible
        _obs("b", "household_income", num=5_000_000), _obs("b", "household_size", num=4, dept="resident_registry"),
        _obs("b", "resident_tax_exempt", flag=False),
        # c: no tax record at all (moved in after 1 January): cannot be checked
        _obs("c", "household_size", num=3, dept="resident_registry"),
        # d: eligible and already receiving aid
        _obs("d", "resident_tax_exempt", flag=True),
        _obs("d", "school_aid", text="準要保護", on=dt.date(2026, 5, 20), dept="board_of_education"),
    ])
    rows = evaluate_programmes(baseline, AS_OF, people, obs).rows
    a = _row(rows, "a", "school_aid")
    assert a is not None and a["status"] == ELIGIBLE and a["gap"] and a["receiving"] is False
    income = next(c for c in json.loads(str(a["conditions"])) if c["id"] == "income_line")
    assert income["held"] is True
    assert {"indicator": "income", "value": "1500000", "department": "tax", "observed_on": "2026-06-01"} in income["evidence"]
    assert _row(rows, "b", "school_aid") is None  # not eligible: not kept
    c = _row(rows, "c", "school_aid")
    assert c is not None and c["status"] == UNDETERMINED and not c["gap"]
    assert set(json.loads(str(c["unchecked"]))) == {"tax_exempt", "income_line"}
    d = _row(rows, "d", "school_aid")
    assert d is not None and d["status"] == ELIGIBLE and d["receiving"] is True and not d["gap"]
    assert d["receipt_on"] == dt.date(2026, 5, 20)


def test_a_department_whose_data_did_not_arrive_is_unknown_not_a_no(baseline: ProgrammeSet) -> None:
    people = _people(("a", dt.date(2024, 1, 1), None, "h1"))
    obs = _frame([_obs("a", "single_parent_household", flag=True, dept="resident_registry")])
    with_nursery = evaluate_programmes(baseline, AS_OF, people, obs).rows
    assert _row(with_nursery, "a", "nursery")["gap"]  # type: ignore[index]
    without = evaluate_programmes(baseline, AS_OF, people, obs, unavailable=["childcare"]).rows
    row = _row(without, "a", "nursery")
    assert row is not None and row["receiving"] is None and not row["gap"]


def test_checkups_and_vaccinations_read_the_health_records(baseline: ProgrammeSet) -> None:
    people = _people(("a", dt.date(2024, 9, 1), None, "h1"), ("b", dt.date(2024, 9, 1), None, "h2"))
    obs = _frame([_obs("a", "checkup_18m", text="未受診", dept="maternal_child_health"),
                  _obs("b", "checkup_18m", text="受診", dept="maternal_child_health"),
                  _obs("a", "vaccinations_missed", num=2, dept="maternal_child_health"),
                  _obs("b", "vaccinations_missed", num=0, dept="maternal_child_health")])
    rows = evaluate_programmes(baseline, AS_OF, people, obs).rows
    assert _row(rows, "a", "checkup_18m")["gap"] and _row(rows, "a", "vaccination")["gap"]  # type: ignore[index]
    assert not _row(rows, "b", "checkup_18m")["gap"] and not _row(rows, "b", "vaccination")["gap"]  # type: ignore[index]
    assert _row(rows, "a", "checkup_3y") is None  # not due: no record, not listed


def test_child_rearing_allowance_limit_grows_with_the_children(baseline: ProgrammeSet) -> None:
    people = _people(("a", dt.date(2015, 1, 1), None, "h1"), ("b", dt.date(2015, 1, 1), None, "h2"))
    common = [("single_parent_household", None, True)]
    obs = []
    for person, children, income in (("a", 1, 2_400_000), ("b", 0, 2_400_000)):
        obs += [_obs(person, i, num=n, flag=f, dept="resident_registry") for i, n, f in common]
        obs += [_obs(person, "household_children", num=children, dept="resident_registry"),
                _obs(person, "household_income", num=income)]
    rows = evaluate_programmes(baseline, AS_OF, people, _frame(obs)).rows
    assert _row(rows, "a", "child_rearing_allowance")["status"] == ELIGIBLE  # type: ignore[index]
    assert _row(rows, "b", "child_rearing_allowance") is None  # 2.08M limit with no dependant: not eligible
    assert NOT_ELIGIBLE not in rows["status"].to_list()


def test_a_single_mother_living_with_her_parents_is_a_single_parent() -> None:
    members = pl.DataFrame({
        "person_id": ["m", "k", "gm", "gf", "f2", "m2", "k2", "g3", "p3", "k3"],
        "household_id": ["h1", "h1", "h1", "h1", "h2", "h2", "h2", "h3", "h3", "h3"],
        "role": ["guardian", "child", "guardian", "guardian", "guardian", "guardian", "child", "guardian", "guardian",
                 "child"],
        "relationship": ["世帯主", "子", "母", "父", "世帯主", "妻", "子", "世帯主", "子", "孫"],
    })
    single = dict(_single_parent(members).iter_rows())
    assert single == {"k": True, "k2": False, "k3": True}


def test_guardian_names_match_on_the_whole_or_the_given_name_and_skip_foreign_script() -> None:
    from tsunagu.outreach.inputs import _name_keys

    register = set(_name_keys("山田麻美"))  # written without a space in the register
    school = set(_name_keys("山田　麻美"))
    assert register & school
    remarried = set(_name_keys("佐藤　麻美"))  # the school still has the old surname: the given name matches
    assert set(_name_keys("山田　麻美")) & remarried
    assert _name_keys("グエン　ティ　ラン") == [] and _name_keys("NGUYEN THI LAN") == []
