"""The file register and the legal-basis register list every source; screening refuses a source without a basis."""

from __future__ import annotations

import csv
import io

import pytest

from tsunagu.catalog import default_catalog
from tsunagu.catalog.manifest import LegalUse, ManifestSet, packaged_manifests
from tsunagu.ingest.basis import NoLegalBasisError, basis_problems, require_basis, sources_without_basis
from tsunagu.privacy import default_policy
from tsunagu.work.rights.registers import (
    BASIS_HEADER,
    FILE_HEADER,
    file_register,
    legal_basis_register,
    write_basis_register,
    write_file_register,
)
from tsunagu.work.rights.retention import RECORD_TYPES, packaged_periods


def test_the_file_register_lists_every_source_and_every_hub_record_type() -> None:
    manifests = packaged_manifests()
    entries = file_register(default_policy(), manifests, packaged_periods())
    assert {e.key for e in entries if e.kind == "source"} == set(manifests.manifests)
    assert {e.key for e in entries if e.kind == "hub"} == set(RECORD_TYPES)
    by_key = {e.key: e for e in entries}
    assert by_key["kodomo_center"].sensitive and "虐待相談・通告" in by_key["kodomo_center"].sensitive_items
    assert by_key["jisou"].retention.startswith("出力日から25年")
    assert "本人の同意" in by_key["kokoro_tenki"].collection
    assert "第69条第2項" in by_key["juki_jumin"].purpose
    out = io.StringIO()
    assert write_file_register(out, entries) == len(entries)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == FILE_HEADER and len(rows) == len(entries) + 1


def test_the_legal_basis_register_quotes_each_written_reason_and_escapes_formulas() -> None:
    manifests = packaged_manifests()
    entries = legal_basis_register(default_catalog(), manifests)
    assert {e.source for e in entries} == set(manifests.manifests)
    assert all(e.reason == manifests.get(e.source).legal_use.reason.strip() for e in entries)
    assert all("第69条第2項" in e.clause for e in entries)
    tampered = [entries[0].__class__(**{**entries[0].__dict__, "reason": "=HYPERLINK(\"http://x\")"})]
    out = io.StringIO()
    write_basis_register(out, tampered)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == BASIS_HEADER and rows[1][4].startswith("'=")


def _with(source: str, **changes: str) -> ManifestSet:
    manifests = packaged_manifests()
    original = manifests.get(source)
    use = LegalUse.model_construct(**{**original.legal_use.model_dump(), **changes})
    return ManifestSet({**manifests.manifests, source: original.model_copy(update={"legal_use": use})})


def test_screening_refuses_a_source_without_a_recorded_basis() -> None:
    assert sources_without_basis(packaged_manifests()) == []
    require_basis(packaged_manifests())
    blank = _with("school_kiroku", reason="　　　 \n           ")
    assert sources_without_basis(blank) == ["school_kiroku"]
    assert basis_problems(blank)["school_kiroku"] == "相当の理由が具体的に書かれていません"
    placeholder = _with("hoiku", reason="相当の理由がある")
    assert sources_without_basis(placeholder) == ["hoiku"]
    no_article = _with("jisou", article=" ")
    assert "条" in basis_problems(no_article)["jisou"]
    no_item = _with("kaigo", item="")
    assert "号" in basis_problems(no_item)["kaigo"]
    with pytest.raises(NoLegalBasisError, match="jisou") as caught:
        require_basis(no_article)
    assert isinstance(caught.value, RuntimeError)  # the screen command reports RuntimeErrors as one line
