from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tsunagu.catalog import default_catalog
from tsunagu.catalog.manifest import load_manifest, packaged_manifest_dir, packaged_manifests
from tsunagu.yamlstrict import ConfigError

GOOD = """source: shugaku_enjo
department: board_of_education
label: 就学援助 認定
files: "shugaku_enjo_*.csv"
format: csv
encoding: cp932
header_row: 2
local_id: [宛名番号]
identifiers:
  aza_number: 宛名番号
items:
  - {item: school_aid, column: 認定区分, observed_on: 認定日}
legal_use:
  law: 個人情報の保護に関する法律
  article: "69"
  clause: "2"
  item: "2"
  reason: 支援を要する子どもを早期に把握するため、内部利用に相当の理由がある
retention_years: 5
refresh: monthly
release:
  screening: [school_aid]
"""


def test_every_packaged_manifest_loads_against_the_catalogue() -> None:
    manifests = packaged_manifests()
    assert len(manifests.manifests) >= 19
    catalog = default_catalog()
    for manifest in manifests.manifests.values():
        assert manifest.department in catalog.departments
        assert manifest.legal_use.reason
        for item in manifest.item_ids:
            assert catalog.item(item).department == manifest.department


def test_file_names_find_their_manifest() -> None:
    manifests = packaged_manifests()
    assert manifests.for_file("school_C127210000010_kiroku_20261031.csv").source == "school_kiroku"  # type: ignore[union-attr]
    assert manifests.for_file("juki_jumin_20261031.csv").source == "juki_jumin"  # type: ignore[union-attr]
    assert manifests.for_file("unknown_20261031.csv") is None


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        # the school code holds digits too: the date is the run just before the extension
        ("school_B992901100012_kiroku_20261031.csv", date(2026, 10, 31)),
        ("juki_jumin_20260401.csv", date(2026, 4, 1)),
        ("hoiku_20261031.xlsx", date(2026, 10, 31)),
        ("juki_jumin_20261331.csv", None),
    ],
)
def test_export_date_comes_from_the_end_of_the_file_name(file_name: str, expected: date | None) -> None:
    manifest = packaged_manifests().for_file(file_name)
    assert manifest is not None
    assert manifest.export_date_of(file_name) == expected


@pytest.mark.parametrize(
    ("change", "line", "fragment"),
    [
        (("refresh: monthly", "refresh: monthly\ncolour: red"), 21, "unknown key 'colour'"),
        (("item: school_aid,", "item: no_such_item,"), 12, "unknown data item 'no_such_item'"),
        (("item: school_aid,", "item: public_assistance,"), 12, "held by 'public_assistance'"),
        (("department: board_of_education", "department: nowhere"), 2, "unknown department"),
        (("  aza_number: 宛名番号", "  my_number: 個人番号"), 10, "unknown identifier field 'my_number'"),
        (("  screening: [school_aid]", "  screening: [grade]"), 22, "not an item of this source"),
        (("  screening: [school_aid]", "  gossip: [school_aid]"), 22, "unknown purpose 'gossip'"),
        (("format: csv", "format: pdf"), 5, "format"),
        (
            ("  reason: 支援を要する子どもを早期に把握するため、内部利用に相当の理由がある", "  reason: 必要"),
            18,
            "reason",
        ),
    ],
)
def test_bad_manifests_name_file_and_line(tmp_path: Path, change: tuple[str, str], line: int, fragment: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(GOOD.replace(*change), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_manifest(path)
    assert info.value.path == str(path)
    assert info.value.line == line, str(info.value)
    assert fragment in str(info.value)


def test_the_good_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(GOOD, encoding="utf-8")
    manifest = load_manifest(path)
    assert manifest.released_items("screening") == {"school_aid"}
    assert manifest.required_columns() == ["宛名番号", "認定区分", "認定日"]
    assert packaged_manifest_dir().is_dir()
