from pathlib import Path

import pytest

from tsunagu.catalog import Domain, default_catalog, load_catalog, packaged_paths
from tsunagu.yamlstrict import ConfigError

DEPARTMENTS = """departments:
  - id: registry
    name: 市民課
    kind: municipal
"""

GOOD_ITEM = (
    "  - {id: household_size, label: 世帯人員数, domain: basic, tier: basic, department: registry, "
    "value_type: int, sensitivity: 1, legal_basis: {law: 住民基本台帳法, article: '7'}, retention_years: 5}\n"
)


def _write(tmp_path: Path, items_body: str) -> tuple[Path, Path]:
    deps = tmp_path / "departments.yaml"
    deps.write_text(DEPARTMENTS, encoding="utf-8")
    items = tmp_path / "items.yaml"
    items.write_text("items:\n" + items_body, encoding="utf-8")
    return deps, items


def test_packaged_catalogue_covers_the_domain_reference() -> None:
    catalog = default_catalog()
    assert len(catalog.items) >= 40
    assert {item.domain for item in catalog.items.values()} == set(Domain)
    # Abuse and child-guidance records are the most sensitive class.
    assert catalog.item("abuse_consultation").sensitivity == 3
    assert catalog.item("cgc_case").sensitivity == 3
    assert catalog.department("child_guidance").kind == "prefecture"
    assert catalog.department("schools").kind == "school"
    for item in catalog.items.values():
        assert item.department in catalog.departments


def test_a_good_file_loads(tmp_path: Path) -> None:
    catalog = load_catalog(*_write(tmp_path, GOOD_ITEM))
    assert catalog.item("household_size").label == "世帯人員数"
    assert str(catalog.item("household_size").legal_basis) == "住民基本台帳法 第7条"


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        (GOOD_ITEM + "  - {id: x, label: X, domain: basic, tier: basic, department: registry, value_type: int,"
         " sensitivity: 1, legal_basis: {law: L, article: '1'}, retention_years: 5, colour: red}\n",
         3, "unknown key 'colour'"),
        (GOOD_ITEM + GOOD_ITEM, 3, "duplicate item id 'household_size'"),
        (GOOD_ITEM.replace("department: registry", "department: nowhere"), 2, "unknown department 'nowhere'"),
        (GOOD_ITEM.replace("retention_years: 5", "retention_years: 0"), 2, "impossible retention"),
        (GOOD_ITEM.replace("retention_years: 5", "retention_years: 500"), 2, "impossible retention"),
        (GOOD_ITEM.replace("sensitivity: 1", "sensitivity: 4"), 2, "sensitivity"),
        (GOOD_ITEM.replace("domain: basic", "domain: astrology"), 2, "domain"),
        (GOOD_ITEM.replace("value_type: int", "value_type: code"), 2, "list of codes"),
        (GOOD_ITEM.replace("retention_years: 5}", "retention_years: 5, checks: {pattern: '[0-9]+組'}}"), 2,
         "checks.pattern is for text items"),
        (GOOD_ITEM.replace("value_type: int", "value_type: text").replace(
            "retention_years: 5}", "retention_years: 5, checks: {pattern: '(組'}}"), 2, "not a regular expression"),
    ],
)
def test_bad_catalogue_names_file_and_line(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    deps, items = _write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_catalog(deps, items)
    assert info.value.path == str(items)
    assert info.value.line == line
    assert fragment in str(info.value)


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    deps, items = _write(tmp_path, "  - id: a\n    id: b\n")
    with pytest.raises(ConfigError, match="duplicate key 'id'") as info:
        load_catalog(deps, items)
    assert info.value.line == 3


def test_packaged_paths_exist() -> None:
    for path in packaged_paths():
        assert path.is_file()
