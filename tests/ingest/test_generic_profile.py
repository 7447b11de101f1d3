"""The generic profile: another country's records (FEBRL-style) load through a manifest alone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from tsunagu.catalog.manifest import load_manifests
from tsunagu.ingest.load import Ingestor, IngestReport
from tsunagu.vault import schema
from tsunagu.vault.store import Vault, VaultLocation
from tsunagu.yamlstrict import ConfigError

MANIFEST = """source: people
department: family_centre
label: FEBRL-style people
files: "people_*.csv"
format: csv
encoding: utf-8
date_style: compact
profile: {profile}
{lenient}local_id: [rec_id]
identifiers:
  local_id: rec_id
  given_name: given_name
  family_name: surname
  birth_date: date_of_birth
  address: address_1
  postal_code: postcode
  locality: suburb
  region: state
legal_use:
  law: 個人情報の保護に関する法律
  article: "69"
  clause: "2"
  reason: 公開された合成データによる名寄せの試験のため、相当の理由がある
retention_years: 1
refresh: yearly
"""

ROWS = """rec_id,given_name,surname,date_of_birth,address_1,postcode,suburb,state
rec-1-org,michaela,neumann,19151111,8 stanley street,4223,winston hills,nsw
rec-2-org,Courtney,Painter,19161214,12  Pinkerton Circuit,4560,Richlands,VIC
rec-3-org,charles,green,19450493,38 salkauskas crescent,4566,dapto,nsw
"""


def _load(tmp_path: Path, profile: str, lenient: bool = True) -> tuple[list[dict[str, object]], IngestReport]:
    manifests = tmp_path / f"manifests-{profile}"
    manifests.mkdir()
    text = MANIFEST.format(profile=profile, lenient="lenient_identifiers: [birth_date]\n" if lenient else "")
    (manifests / "people.yaml").write_text(text, encoding="utf-8")
    exports = tmp_path / f"exports-{profile}"
    exports.mkdir()
    (exports / "people_20261101.csv").write_text(ROWS, encoding="utf-8")
    vaults = tmp_path / f"vaults-{profile}"
    ingestor = Ingestor(load_manifests(manifests), vaults, "sqlite:///unused")
    try:
        report = ingestor.ingest([exports])
    finally:
        ingestor.close()
    vault = Vault(VaultLocation.for_home("family_centre", vaults, "sqlite:///unused"))
    try:
        with vault.transaction() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(schema.records).order_by(schema.records.c.local_id))]
    finally:
        vault.dispose()
    return rows, report


def test_latin_records_load_with_postcode_locality_and_region_as_written(tmp_path: Path) -> None:
    rows, report = _load(tmp_path, "generic")
    assert report.ok and report.files[0].quarantined == 0
    first, second, third = rows
    # 19450493 is no date: declared lenient, the record loads without it, flagged for the steward.
    assert third["birth_date"] is None and third["given_key"] and report.files[0].flagged == 1
    # The Japanese address normaliser reduced "8 stanley street" to "8"; the generic one keeps it.
    assert (first["address_key"], first["postal_code"], first["locality"], first["region"]) == (
        "8 stanley street", "4223", "winston hills", "nsw")
    assert (second["address_key"], second["locality"], second["region"]) == ("12 pinkerton circuit", "richlands", "vic")
    assert str(first["birth_date"]) == "1915-11-11" and first["given_key"] and first["family_key"]


def test_the_japanese_profile_still_checks_postal_codes(tmp_path: Path) -> None:
    # Every row refused for its 4-digit postcode: the export is held, nothing loaded.
    rows, report = _load(tmp_path, "jp")
    assert rows == [] and len(report.held) == 1 and not report.files


def test_a_vault_made_before_the_locality_and_region_columns_gains_them(tmp_path: Path) -> None:
    location = VaultLocation.for_home("schools", tmp_path, "sqlite:///unused")
    Vault(location).dispose()
    path = tmp_path / "schools.sqlite3"
    with sqlite3.connect(path) as con:
        con.execute("ALTER TABLE records DROP COLUMN locality")
        con.execute("ALTER TABLE records DROP COLUMN region")
    vault = Vault(location)
    vault.dispose()
    with sqlite3.connect(path) as con:
        columns = {row[1] for row in con.execute("PRAGMA table_info(records)")}
    assert {"locality", "region"} <= columns


@pytest.mark.parametrize("bad", ["locality: 町名\n", "region: 州\n"])
def test_the_new_identifier_fields_are_known_to_manifests(tmp_path: Path, bad: str) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    text = MANIFEST.format(profile="generic", lenient="").replace("  local_id: rec_id\n", "  local_id: rec_id\n  " + bad)
    (folder / "people.yaml").write_text(text.replace("  locality: suburb\n", "").replace("  region: state\n", ""),
                                        encoding="utf-8")
    manifest = load_manifests(folder).get("people")
    assert set(manifest.identifiers) >= {"local_id", bad.split(":")[0]}


def test_a_broken_birth_date_quarantines_the_row_unless_declared_lenient(tmp_path: Path) -> None:
    rows, report = _load(tmp_path, "generic", lenient=False)
    assert [r["local_id"] for r in rows] == ["rec-1-org", "rec-2-org"] and report.files[0].quarantined == 1


def test_only_declared_identifiers_may_be_lenient(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    text = MANIFEST.format(profile="generic", lenient="lenient_identifiers: [sex]\n")
    (folder / "people.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="'sex' is not an identifier of this source") as caught:
        load_manifests(folder)
    assert caught.value.line == 9
