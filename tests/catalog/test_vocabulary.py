"""The shared vocabulary is the catalogue's: every other list of purposes, identifiers or sources is
derived from it or a checked part of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsunagu.catalog import default_catalog, load_catalog, packaged_paths
from tsunagu.catalog.manifest import CODE_IDENTIFIERS, IDENTIFIER_FIELDS, packaged_manifests
from tsunagu.ingest.convert import PLAIN_IDENTIFIERS
from tsunagu.link.records import KEYED_FIELDS
from tsunagu.privacy import default_policy
from tsunagu.synth import BUILDERS, SOURCES
from tsunagu.vault import node, schema
from tsunagu.web.deps import PURPOSE_CHOICES
from tsunagu.web.routes.candidates import LIST_PURPOSES
from tsunagu.web.routes.cases import CASE_PURPOSES
from tsunagu.web.routes.search import SEARCH_PURPOSES
from tsunagu.work import resources
from tsunagu.yamlstrict import ConfigError


def test_purposes_are_the_catalogues_everywhere() -> None:
    purposes = default_catalog().purposes
    assert list(default_policy().purposes) == list(purposes)
    assert default_policy().purpose_label("screening") == purposes["screening"].label
    for subset in (PURPOSE_CHOICES, LIST_PURPOSES, SEARCH_PURPOSES, CASE_PURPOSES, resources.PURPOSES):
        assert set(subset) <= set(purposes), subset
    for rule in default_policy().spec.rules:
        assert set(rule.purposes) <= set(purposes), rule.id
    for manifest in packaged_manifests().manifests.values():
        assert set(manifest.release) - {"identifiers"} <= set(purposes), manifest.source


def test_identifier_lists_are_derived_once() -> None:
    assert node.IDENTITY_FIELDS is schema.IDENTITY_FIELDS
    assert PLAIN_IDENTIFIERS is CODE_IDENTIFIERS
    assert set(CODE_IDENTIFIERS) <= set(IDENTIFIER_FIELDS)
    # A code identifier is stored under its own name: the vault has a column for each.
    assert set(CODE_IDENTIFIERS) <= set(schema.IDENTITY_FIELDS)
    assert "local_id" not in schema.IDENTITY_FIELDS and "raw" not in schema.IDENTITY_FIELDS
    # The linkage's keyed identifiers are identifier kinds the vault stores.
    assert set(KEYED_FIELDS) <= set(IDENTIFIER_FIELDS) & set(schema.IDENTITY_FIELDS)


def test_the_generators_sources_are_the_packaged_manifests_sources() -> None:
    # SOURCES is derived from the generator's one table of writers; the catalogue must name the same.
    assert tuple(BUILDERS) == SOURCES
    assert set(SOURCES) == set(packaged_manifests().manifests)


def test_a_purposes_file_with_a_duplicate_is_refused_with_its_line(tmp_path: Path) -> None:
    purposes = tmp_path / "purposes.yaml"
    purposes.write_text("purposes:\n  - {id: screening, label: a}\n  - {id: screening, label: b}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate purpose id") as info:
        load_catalog(*packaged_paths(), purposes)
    assert info.value.line == 3
