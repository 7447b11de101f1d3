"""A receipt row that did not load is not "not receiving": hand-made cases, then the small town.

The town's 児童手当 export is edited in the vault as a load with unreadable rows leaves it: two
receiving children's rows are taken out of the records and left in the quarantine, one with its
key (児童宛名番号) readable, one without.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from support.hubs import copy_home, hub_of
from tsunagu.catalog import default_catalog
from tsunagu.config import Settings, load_settings
from tsunagu.link.models import PersonLink
from tsunagu.outreach.evaluate import (
    ELIGIBLE,
    RECEIVING,
    RESIDENCE,
    UNDETERMINED,
    UNREADABLE_RECEIPT,
    evaluate_programmes,
)
from tsunagu.outreach.inputs import _composition_unreadable, _single_parent, _whole_households, gather_outreach
from tsunagu.outreach.lists import _unchecked, gap_list
from tsunagu.outreach.models import OutreachResult
from tsunagu.outreach.programmes import ProgrammeSet, load_programmes
from tsunagu.outreach.run import run_outreach
from tsunagu.privacy import Subject
from tsunagu.store.dialects import create_vault_engine
from tsunagu.vault.store import VaultLocation

RULES = Path(__file__).resolve().parents[2] / "rules"
AS_OF = dt.date(2026, 10, 31)
SCHEMA = {"person_id": pl.Utf8, "item_id": pl.Utf8, "value_num": pl.Float64, "value_text": pl.Utf8,
          "value_bool": pl.Boolean, "observed_on": pl.Date, "department": pl.Utf8, "source_id": pl.Utf8,
          "snapshot_date": pl.Date, "stale": pl.Boolean}


@pytest.fixture(scope="module")
def baseline() -> ProgrammeSet:
    return load_programmes(RULES, None)


def _people(*rows: tuple[str, int | None]) -> pl.DataFrame:
    return pl.DataFrame({"person_id": [r[0] for r in rows], "birth_date": [dt.date(2018, 4, 1)] * len(rows),
                         "sex": ["F"] * len(rows), "school_code": [None] * len(rows), "grade": [r[1] for r in rows],
                         "household_id": [f"h-{r[0]}" for r in rows]},
                        schema={"person_id": pl.Utf8, "birth_date": pl.Date, "sex": pl.Utf8, "school_code": pl.Utf8,
                                "grade": pl.Int64, "household_id": pl.Utf8})


def _obs(person: str, item: str, *, num: float | None = None, flag: bool | None = None,
         dept: str = "child_support") -> dict[str, object]:
    return {"person_id": person, "item_id": item, "value_num": num, "value_text": None, "value_bool": flag,
            "observed_on": dt.date(2026, 6, 1), "department": dept, "source_id": f"src-{dept}",
            "snapshot_date": dt.date(2026, 10, 31), "stale": False}


def _row(rows: pl.DataFrame, person: str, programme: str) -> dict[str, object]:
    return rows.filter((pl.col("person_id") == person) & (pl.col("programme") == programme)).row(0, named=True)


def test_an_unreadable_receipt_row_is_not_a_gap_and_is_named_as_such(baseline: ProgrammeSet) -> None:
    people = _people(("x", None), ("y", None), ("z", None))
    obs = pl.DataFrame([_obs("z", "child_allowance", flag=True)], schema=SCHEMA)
    # x: no receipt record, but a row of the 児童手当 export for x did not load; y: no record at all;
    # z: a readable record says 受給中 (a second, unreadable row does not undo it).
    unreadable = pl.DataFrame({"person_id": ["x", "z"], "item_id": ["child_allowance"] * 2})
    result = evaluate_programmes(baseline, AS_OF, people, obs, unreadable=unreadable)
    x, y, z = (_row(result.rows, p, "child_allowance") for p in "xyz")
    assert x["status"] == ELIGIBLE and x["receiving"] is None and not x["gap"]
    assert RECEIVING in json.loads(str(x["unchecked"]))
    assert y["status"] == ELIGIBLE and y["receiving"] is False and y["gap"]
    assert z["receiving"] is True and not z["gap"]
    counts = result.counts["child_allowance"]
    assert (counts["gap"], counts["receipt_unreadable"], counts["receipt_unknown"]) == (1, 1, 1)


def test_a_ground_whose_data_has_an_unreadable_row_could_not_be_checked(baseline: ProgrammeSet) -> None:
    # A pupil of a taxed household with a high income: not eligible for 就学援助 on what loaded, but
    # a 児童扶養手当 row did not load, and that ground may hold.
    people = _people(("v", 3), ("w", 3))
    obs = pl.DataFrame([o for p in "vw" for o in (
        _obs(p, "household_income", num=6_000_000, dept="tax"), _obs(p, "resident_tax_exempt", flag=False, dept="tax"),
        _obs(p, "household_size", num=4, dept="resident_registry"))], schema=SCHEMA)
    unreadable = pl.DataFrame({"person_id": ["v"], "item_id": ["child_rearing_allowance"]})
    result = evaluate_programmes(baseline, AS_OF, people, obs, unreadable=unreadable)
    v = _row(result.rows, "v", "school_aid")
    assert v["status"] == UNDETERMINED and not v["gap"]
    ground = next(c for c in json.loads(str(v["conditions"])) if c["id"] == "child_rearing_allowance")
    assert ground["held"] is None and ground["unreadable"] is True
    assert result.rows.filter((pl.col("person_id") == "w") & (pl.col("programme") == "school_aid")).height == 0
    assert result.counts["school_aid"]["undetermined_unreadable"] == 1


def test_the_list_says_why_the_receipt_could_not_be_checked(baseline: ProgrammeSet) -> None:
    prog = baseline.programmes["child_allowance"]
    missing, unread = _unchecked(prog, [RECEIVING], "child_support", default_catalog())
    assert missing == [] and unread == [f"{prog.receiving.label}：{UNREADABLE_RECEIPT}"]  # type: ignore[union-attr]
    assert UNREADABLE_RECEIPT == "確認できない（受給データに読めない行があります）"


def test_a_child_whose_register_status_did_not_load_may_have_moved_away(baseline: ProgrammeSet) -> None:
    people = _people(("m", None), ("r", None))
    unreadable = pl.DataFrame({"person_id": ["m"], "item_id": ["move_out_date"]})
    result = evaluate_programmes(baseline, AS_OF, people, pl.DataFrame(schema=SCHEMA), unreadable=unreadable)
    moved, resident = _row(result.rows, "m", "child_allowance"), _row(result.rows, "r", "child_allowance")
    assert moved["status"] == UNDETERMINED and not moved["gap"] and RESIDENCE in json.loads(str(moved["unchecked"]))
    assert resident["status"] == ELIGIBLE and resident["gap"]


def test_a_household_with_a_members_unreadable_relationship_has_no_single_parent_verdict() -> None:
    members = pl.DataFrame({
        "person_id": ["h1", "s1", "c1", "h2", "c2"], "household_id": ["H1", "H1", "H1", "H2", "H2"],
        "role": ["guardian", "guardian", "child", "guardian", "child"],
        "relationship": ["世帯主", None, "子", "世帯主", "子"]})
    # s1's 続柄 did not load: read as nobody's spouse, c1 would look like a single parent's child.
    unreadable = pl.DataFrame({"person_id": ["s1"], "item_id": ["relationship_to_head"]})
    assert _single_parent(members).filter(pl.col("person_id") == "c1")["single"].to_list() == [True]
    assert _composition_unreadable(members, unreadable) == {"c1"}


# -- the small town --------------------------------------------------------------------------------
def _unload(settings: Settings, count: int) -> list[str]:
    """Take ``count`` receiving children's 児童手当 rows out of the load and into the quarantine; the
    first keeps its key, the others name nobody. Returns their 児童宛名番号. The home's 子ども支援
    vault on either back-end: its SQLite file, or its PostgreSQL schema (named in the SQL, which the
    engine's schema map does not rewrite)."""
    location = VaultLocation.for_home("child_support", settings.vault_dir, settings.hub_url)
    t = f'"{location.schema_name}".' if location.schema_name else ""
    engine = create_vault_engine(location.url, location.schema_name)
    try:
        with engine.begin() as conn:
            found = conn.execute(text(
                f"select r.record_id, r.local_id, r.load_id, r.row_number, r.raw from {t}records r join {t}observations o"
                " on o.record_id = r.record_id where r.source = 'jidou_teate' and r.valid_to is null"
                " and o.item_id = 'child_allowance' and o.value_bool = :yes order by r.row_number limit :n"),
                {"yes": True, "n": count}).all()
            for i, (record_id, local_id, load_id, row_number, raw) in enumerate(found):
                conn.execute(text(f"delete from {t}observations where record_id = :id"), {"id": record_id})
                conn.execute(text(f"delete from {t}records where record_id = :id"), {"id": record_id})
                conn.execute(text(
                    f"insert into {t}quarantine (load_id, source, file_name, row_number, column_name, value, rule, raw,"
                    " status, local_id) values (:load, 'jidou_teate', 'jidou_teate.xlsx', :row, '児童氏名', '?', 'test',"
                    " :raw, 'open', :key)"), {"load": load_id, "row": row_number, "raw": raw,
                                             "key": local_id if i == 0 else None})
    finally:
        engine.dispose()
    return [str(r[1]) for r in found]


def test_in_a_town_the_quarantined_row_keeps_the_child_off_the_gap_list(linked_town: Path, tmp_path: Path) -> None:
    home = copy_home(linked_town, tmp_path / "home")  # on PostgreSQL, with a copy of its database
    named, nameless = _unload(load_settings(home), 2)
    with hub_of(home, migrate_store=True) as hub:
        programmes = load_programmes(hub.rules_path, hub.settings.municipality_code)
        with hub.sessions.begin() as session:
            report = run_outreach(session, hub.nodes(), hub.manifests, hub.catalog, programmes, AS_OF)
        with hub.sessions() as session:
            rows = {r.person_id: r for r in session.scalars(select(OutreachResult).where(
                OutreachResult.programme == "child_allowance"))}
            people = _persons(session, [named, nameless])
        assert named in people and nameless in people
        held = rows[people[named]]
        assert held.receiving is None and not held.gap and RECEIVING in json.loads(held.unchecked)
        assert rows[people[nameless]].gap  # its row names nobody: read as before, and counted
        entry = next(e for e in report.unreadable["sources"] if e["item"] == "child_allowance")
        # The town's own export has a few unknown 受給状況 codes too (loaded, flagged, keyed): only ours names nobody.
        assert entry["rows_without_key"] == 1 and entry["children"] == entry["subjects"] >= 1
        assert report.programmes["child_allowance"]["receipt_unreadable"] == entry["children"]
        officer = Subject("officer3", "programme_officer", "child_support")
        with hub.sessions.begin() as session:
            listing = gap_list(session, officer, programmes, hub.nodes(), programme="child_allowance", per_page=5000)
        entries = [e for h in listing.households for c in h.children if c.person_id == people[named] for e in c.entries]
        assert entries and entries[0].status == "受給・利用の状況を確認できない"
        assert any(UNREADABLE_RECEIPT in u for u in entries[0].unreadable)


def _persons(session: Session, azas: list[str]) -> dict[str, str]:
    return dict(session.execute(select(PersonLink.local_id, PersonLink.person_id).where(
        PersonLink.source == "juki_jumin", PersonLink.local_id.in_(azas))).all())


def test_a_parent_named_missing_for_one_child_is_missing_for_the_siblings() -> None:
    members = pl.DataFrame({
        "person_id": ["h1", "b1", "c1", "h2", "c2"], "household_id": ["H1", "H1", "H1", "H2", "H2"],
        "role": ["guardian", "child", "child", "guardian", "child"],
        "relationship": ["世帯主", "子", "子", "世帯主", "子"]})
    # The baby's 母子健康手帳 names a mother the register lacks; the high-school-age sister is named
    # by no department, and her household's one parent is the same (missing) one.
    assert _whole_households({"b1"}, members) == {"b1", "c1"}
    assert _whole_households(set(), members) == set()


def test_a_parent_whose_only_register_row_did_not_load_leaves_single_parenthood_unknown() -> None:
    members = pl.DataFrame({
        "person_id": ["h1", "c1", "h2", "c2"], "household_id": ["H1", "H1", "H2", "H2"],
        "role": ["guardian", "child", "guardian", "child"], "relationship": ["世帯主", "子", "世帯主", "子"]})
    # s1's row (妻 in H1) did not load in this snapshot: the linkage closed her membership, the key
    # still names her in the link index. The register now shows H1 with one parent.
    unreadable = pl.DataFrame({"person_id": ["s1"], "item_id": ["relationship_to_head"]})
    earlier = pl.DataFrame({"person_id": ["s1"], "household_id": ["H1"]})
    assert _single_parent(members).filter(pl.col("person_id") == "c1")["single"].to_list() == [True]
    assert _composition_unreadable(members, unreadable) == set()  # as before: the household was not found
    assert _composition_unreadable(members, unreadable, earlier) == {"c1"}


def _quarantine_spouse(home: Path) -> tuple[str, list[str]]:
    """A 妻 of a household with children: her register row taken out of the load into the quarantine
    (key kept), her membership closed as the next linkage would. Returns her person and the children.
    On either back-end, as ``_unload`` does."""
    with hub_of(home) as hub, hub.engine.begin() as conn:
        found = conn.execute(text(
            "select w.person_id, w.household_id from household_members w where w.relationship = '妻'"
            " and w.valid_to is null and exists (select 1 from household_members c where c.household_id ="
            " w.household_id and c.role = 'child' and c.valid_to is null) order by w.household_id limit 1")).first()
        assert found is not None
        spouse, household = str(found[0]), str(found[1])
        children = [str(r[0]) for r in conn.execute(text(
            "select person_id from household_members where household_id = :h and role = 'child' and valid_to is null"),
            {"h": household})]
        aza = conn.execute(text("select local_id from person_links where person_id = :p and source = 'juki_jumin'"),
                           {"p": spouse}).scalar_one()
        conn.execute(text("update household_members set valid_to = :t where person_id = :p"),
                     {"t": dt.datetime(2026, 11, 1), "p": spouse})
    settings = load_settings(home)
    location = VaultLocation.for_home("resident_registry", settings.vault_dir, settings.hub_url)
    t = f'"{location.schema_name}".' if location.schema_name else ""
    engine = create_vault_engine(location.url, location.schema_name)
    try:
        with engine.begin() as vault:
            record_id, load_id, row_number, raw = vault.execute(text(
                f"select record_id, load_id, row_number, raw from {t}records where source = 'juki_jumin'"
                " and local_id = :key and valid_to is null"), {"key": aza}).one()
            vault.execute(text(f"delete from {t}observations where record_id = :id"), {"id": record_id})
            vault.execute(text(f"delete from {t}records where record_id = :id"), {"id": record_id})
            vault.execute(text(
                f"insert into {t}quarantine (load_id, source, file_name, row_number, column_name, value, rule, raw,"
                " status, local_id) values (:load, 'juki_jumin', 'juki_jumin.csv', :row, '性別', '?', 'test', :raw,"
                " 'open', :key)"), {"load": load_id, "row": row_number, "raw": raw, "key": aza})
    finally:
        engine.dispose()
    return spouse, children


def test_in_a_town_a_quarantined_spouse_row_is_not_read_as_a_single_parent(linked_town: Path, tmp_path: Path) -> None:
    home = copy_home(linked_town, tmp_path / "home")  # on PostgreSQL, with a copy of its database
    spouse, children = _quarantine_spouse(home)
    with hub_of(home, migrate_store=True) as hub:
        programmes = load_programmes(hub.rules_path, hub.settings.municipality_code)
        with hub.sessions.begin() as session:
            inputs = gather_outreach(session, hub.nodes(), hub.manifests, hub.catalog, programmes.item_ids, AS_OF,
                                     "run-test")
    single = inputs.observations.filter((pl.col("item_id") == "single_parent_household")
                                        & pl.col("person_id").is_in(children))
    assert single.height == 0  # neither "single parent" nor "two parents": not decided
    unsure = inputs.unreadable.subjects.filter(pl.col("item_id") == "single_parent_household")["person_id"]
    assert set(children) <= set(unsure.to_list()) and spouse not in children
