"""Linkage roles are declared in manifests and checked strictly; Latin and katakana names meet."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tsunagu.catalog.manifest import load_manifest, load_manifests, packaged_manifests
from tsunagu.link.assign import Thresholds, assign
from tsunagu.link.romaji import latin_key
from tsunagu.link.run import partitions
from tsunagu.yamlstrict import ConfigError

BASE = """source: {source}
department: {department}
label: テスト
files: "{source}_*.csv"
format: csv
local_id: [番号]
identifiers:
  {identifiers}
{linkage}legal_use:
  law: 個人情報の保護に関する法律
  article: "69"
  clause: "2"
  reason: 支援を要する子どもを早期に把握するため、内部利用に相当の理由がある
retention_years: 5
refresh: monthly
"""


def _write(folder: Path, name: str, *, department: str = "schools", identifiers: str = "full_name: 氏名",
           linkage: str = "") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(BASE.format(source=name, department=department, identifiers=identifiers, linkage=linkage),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize(("linkage", "identifiers", "fragment"), [
    ("linkage: {role: register}\n", "full_name: 氏名", "needs the aza_number"),
    ("linkage: {role: spine}\n", "full_name: 氏名", "linkage.role"),
    ("linkage: {within: school_code}\n", "full_name: 氏名", "not an identifier of this source"),
    ("linkage: {within: full_name}\n", "full_name: 氏名", "cannot partition records"),
    ("linkage: {one_per_person: false, within: school_code}\n", "school_code: 学校", "needs one_per_person: true"),
    ("linkage: {guess: true}\n", "full_name: 氏名", "guess"),
])
def test_a_wrong_linkage_declaration_names_file_and_line(tmp_path: Path, linkage: str, identifiers: str,
                                                          fragment: str) -> None:
    path = _write(tmp_path, "meibo", identifiers=identifiers, linkage=linkage)
    with pytest.raises(ConfigError, match=fragment) as caught:
        load_manifest(path)
    assert caught.value.path == str(path) and caught.value.line == 9


def test_a_second_register_is_refused_naming_the_first(tmp_path: Path) -> None:
    for name in ("jumin_a", "jumin_b"):
        _write(tmp_path, name, department="resident_registry", identifiers="aza_number: 宛名番号",
               linkage="linkage: {role: register}\n")
    with pytest.raises(ConfigError, match=r"'jumin_a' already has linkage\.role: register") as caught:
        load_manifests(tmp_path)
    assert caught.value.path.endswith("jumin_b.yaml") and caught.value.line == 9


def test_the_register_is_found_by_its_role_under_any_name(tmp_path: Path) -> None:
    _write(tmp_path, "jumin_kiroku", department="resident_registry", identifiers="aza_number: 宛名番号",
           linkage="linkage: {role: register}\n")
    _write(tmp_path, "juki_jumin", department="resident_registry", identifiers="aza_number: 宛名番号")
    register = load_manifests(tmp_path).register()
    assert register is not None and register.source == "jumin_kiroku"
    assert packaged_manifests().register() is not None


def test_records_are_partitioned_as_declared_whatever_the_source_is_called(tmp_path: Path) -> None:
    _write(tmp_path, "roster", identifiers="school_code: 学校", linkage="linkage: {within: school_code}\n")
    _write(tmp_path, "cases", linkage="linkage: {one_per_person: false}\n")
    _write(tmp_path, "school_visits")  # named like a school source, declared nothing: one per source
    records = pl.DataFrame({
        "key": ["roster:A:1", "roster:B:2", "cases:7", "school_visits:9"],
        "source": ["roster", "roster", "cases", "school_visits"],
        "school_code": ["A", "B", None, "C"],
        **{c: [None] * 4 for c in ("household_number", "postal_code", "locality", "region")},
    }, schema_overrides={c: pl.Utf8 for c in ("household_number", "postal_code", "locality", "region")})
    found = dict(partitions(records, load_manifests(tmp_path)).iter_rows())
    assert found == {"roster:A:1": "roster:A", "roster:B:2": "roster:B", "cases:7": None,
                     "school_visits:9": "school_visits"}


def _pairs(rows: list[tuple[str, str, float, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"key_l": pl.Utf8, "key_r": pl.Utf8, "match_probability": pl.Float64,
                                      "match_weight": pl.Float64}, orient="row")


NO_DECISIONS = pl.DataFrame(schema={"left_key": pl.Utf8, "right_key": pl.Utf8, "decision": pl.Utf8})


def test_a_record_whose_best_candidate_holds_another_record_goes_to_review() -> None:
    # Two records of one roster for one registered child (twins, one not on the register): the
    # weaker was dropped silently before; now a person looks at it.
    pairs = _pairs([("reg:1", "roster:S:a", 0.9999, 20), ("reg:1", "roster:S:b", 0.998, 12)])
    parts = pl.DataFrame({"key_r": ["roster:S:a", "roster:S:b"], "partition": ["roster:S", "roster:S"]})
    result = assign(pairs, NO_DECISIONS, Thresholds(), parts)
    assert result.links["key_r"].to_list() == ["roster:S:a"]
    assert result.review["key_r"].to_list() == ["roster:S:b"]


def test_two_persons_of_one_household_scoring_alike_go_to_review() -> None:
    pairs = _pairs([("reg:1", "rec:x", 0.9999, 14.0), ("reg:2", "rec:x", 0.9998, 12.5), ("reg:3", "rec:y", 0.9999, 14.0)])
    households = pl.DataFrame({"key_l": ["reg:1", "reg:2", "reg:3"], "household": ["H1", "H1", "H2"]})
    result = assign(pairs, NO_DECISIONS, Thresholds(), None, households)
    assert result.links["key_r"].to_list() == ["rec:y"]
    assert sorted(result.review["key_l"].to_list()) == ["reg:1", "reg:2"]


@pytest.mark.parametrize(("one", "other"), [
    ("ユウキ", "Yuki"), ("ユウキ", "YUUKI"), ("オオノ", "Ohno"), ("サトウ", "Sato"), ("シュウヘイ", "Shuhei"),
    ("ナンバ", "Namba"), ("ハットリ", "Hattori"), ("ツヨシ", "Tuyosi"), ("フジ", "Huzi"), ("ヴァンアン", "Van An"),
    ("ｻﾄｳ", "sato"),
])
def test_katakana_and_latin_spellings_of_one_name_share_a_key(one: str, other: str) -> None:
    assert latin_key(one) == latin_key(other)


@pytest.mark.parametrize(("one", "other"), [("ユウキ", "Yuka"), ("サトウ", "Saito"), ("ハル", "Haruka")])
def test_different_names_keep_different_keys(one: str, other: str) -> None:
    assert latin_key(one) != latin_key(other)


def test_kanji_has_no_latin_key() -> None:
    assert latin_key("佐藤") is None and latin_key("") is None and latin_key(None) is None


def test_a_run_is_incremental_only_with_a_saved_model_and_then_scores_only_new_records() -> None:
    from tsunagu.link.records import LinkInputs
    from tsunagu.link.stages import to_score

    records = pl.DataFrame({"key": ["a:1", "a:2", "r:9"], "aza_number": [None, None, "9"]})
    inputs = LinkInputs(records, pl.DataFrame(), pl.DataFrame(), spine_source="r")
    previous = pl.DataFrame({"key": ["a:1"]})
    assert to_score(inputs, previous, None)[0]["key"].to_list() == ["a:1", "a:2"]
    unkeyed, incremental = to_score(inputs, previous, {"comparisons": []})
    assert (unkeyed["key"].to_list(), incremental) == (["a:2"], True)
    assert to_score(inputs, previous, None)[1] is False
