"""Conformance: a municipality's own exports, hand-made, linked through manifests alone.

The sources have names tsunagu never generates (jumin_kiroku, gakko_meibo, tekiyo_meibo), the
register has no 続柄 column, one roster has no kana, and the people include the cases real files
have: twins, siblings with and without their register record, a surname change with a move,
digits swapped in a birth date, variant kanji, Latin and katakana spellings of one name. Around
them, ordinary families give the model something to train on. Every shared person must end up
linked or in review, and no two people may ever share a person id.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from support.hubs import hub_of, new_home
from tsunagu.catalog.manifest import manifests_for_home
from tsunagu.config import load_settings
from tsunagu.ingest.load import Ingestor
from tsunagu.link.models import ClericalPair, PersonLink
from tsunagu.link.run import LinkReport, run_linkage
from tsunagu.municipality import Municipality

LEGAL = """legal_use:
  law: 個人情報の保護に関する法律
  article: "69"
  clause: "2"
  item: "2"
  reason: 支援を要する子どもを早期に把握し支援につなぐため、市の内部で目的外利用することに相当の理由がある
retention_years: 5
refresh: monthly
release:
  identifiers: [screening, assessment]
"""


def _register_manifest(kana: bool, relationship: bool) -> str:
    reading = "  full_reading: カナ氏名\n" if kana else ""
    # 続柄 mapped but released for no purpose: the node refuses it to the linkage run.
    items = "items:\n  - {item: relationship_to_head, column: 続柄}\n" if relationship else ""
    return f"""source: jumin_kiroku
department: resident_registry
label: 住民基本台帳（自前の出力）
files: "jumin_*.csv"
format: csv
encoding: utf-8
date_style: iso
local_id: [宛名番号]
identifiers:
  aza_number: 宛名番号
  household_number: 世帯番号
  full_name: 氏名
{reading}  birth_date: 生年月日
  sex: 性別
  address: 住所
{items}linkage: {{role: register}}
{LEGAL}"""


def _roster_manifest(source: str, files: str, kana: bool) -> str:
    reading = "  full_reading: ふりがな\n" if kana else ""
    return f"""source: {source}
department: schools
label: 名簿 {source}
files: "{files}"
format: csv
encoding: utf-8
date_style: iso
local_id: [学校, 番号]
identifiers:
  local_id: 番号
  school_code: 学校
  full_name: 氏名
{reading}  birth_date: 生年月日
  sex: 性別
  address: 住所
  guardian_name: 保護者
linkage: {{one_per_person: true, within: school_code}}
{LEGAL}"""


@dataclass
class Child:
    """One true person: what the register says, and how each roster writes them."""

    truth: str
    name: str
    reading: str
    birth: date
    sex: str
    address: str
    household: str
    registered: bool = True
    # (source, school, name, reading, birth, address) per roster record; None: as registered
    rosters: list[tuple[str, str, str | None, str | None, date | None, str | None]] = field(default_factory=list)
    guardian: str = ""


FAMILIES = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("田中", "タナカ"), ("伊藤", "イトウ"), ("渡辺", "ワタナベ"),
            ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"),
            ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ")]
GIVENS = [("蓮", "レン", "M"), ("陽翔", "ハルト", "M"), ("湊", "ミナト", "M"), ("大和", "ヤマト", "M"),
          ("悠真", "ユウマ", "M"), ("朝陽", "アサヒ", "M"), ("陽葵", "ヒマリ", "F"), ("凛", "リン", "F"),
          ("結菜", "ユイナ", "F"), ("芽依", "メイ", "F"), ("紬", "ツムギ", "F"), ("澪", "ミオ", "F"),
          ("葵", "アオイ", "F"), ("結衣", "ユイ", "F"), ("颯", "ハヤテ", "M"), ("樹", "イツキ", "M")]


def _ordinary(rng: random.Random, count: int) -> list[Child]:
    """Ordinary families: the bulk any municipality has, for the model to learn from."""
    children = []
    for i in range(count):
        family, family_r = FAMILIES[i % len(FAMILIES)]
        given, given_r, sex = GIVENS[rng.randrange(len(GIVENS))]
        birth = date(2010 + rng.randrange(10), 1 + rng.randrange(12), 1 + rng.randrange(28))
        address = f"つなぐ市本町{1 + i % 5}丁目{1 + i // 5 % 20}番{1 + i % 9}号"
        rosters: list[tuple[str, str, str | None, str | None, date | None, str | None]] = []
        if rng.random() < 0.8:
            rosters.append(("gakko", f"S{1 + i % 4}", None, None, None, None))
        if rng.random() < 0.3:
            rosters.append(("tekiyo", "T1", None, None, None, None))
        children.append(Child(f"o{i}", f"{family}　{given}", f"{family_r}　{given_r}", birth, sex, address, f"H{i:04d}",
                              rosters=rosters, guardian=f"{family}　花子"))
    return children


def _hard_cases() -> list[Child]:
    home = "つなぐ市緑町3丁目4番5号"
    twin_birth = date(2016, 6, 15)
    return [
        # Twins: one household, one birth date, one school; only the given names differ.
        Child("twin-a", "高田　大翔", "タカダ　ヒロト", twin_birth, "M", home, "HT1",
              rosters=[("gakko", "S1", None, None, None, None)], guardian="高田　恵"),
        Child("twin-b", "高田　悠真", "タカダ　ユウマ", twin_birth, "M", home, "HT1",
              rosters=[("gakko", "S1", None, None, None, None)], guardian="高田　恵"),
        # Twins, one without its register record: both on one roster, and once on another.
        Child("twin-c", "森　美咲", "モリ　ミサキ", date(2013, 2, 3), "F", "つなぐ市緑町1丁目1番1号", "HT2",
              rosters=[("gakko", "S2", None, None, None, None)], guardian="森　直子"),
        Child("twin-d", "森　美桜", "モリ　ミオ", date(2013, 2, 3), "F", "つなぐ市緑町1丁目1番1号", "HT2",
              registered=False, rosters=[("gakko", "S2", None, None, None, None), ("tekiyo", "T1", None, None, None, None)],
              guardian="森　直子"),
        # Siblings, one of them not registered (moved in, not yet on the register).
        Child("sib-a", "岡田　翔太", "オカダ　ショウタ", date(2012, 9, 1), "M", "つなぐ市東町2丁目8番1号", "HS1",
              rosters=[("gakko", "S3", None, None, None, None)], guardian="岡田　久美"),
        Child("sib-b", "岡田　翔真", "オカダ　ショウマ", date(2014, 9, 1), "M", "つなぐ市東町2丁目8番1号", "HS1",
              registered=False, rosters=[("gakko", "S3", None, None, None, None)], guardian="岡田　久美"),
        # A surname change with a move: the roster still has the old surname and the old address.
        Child("moved", "石川　七海", "イシカワ　ナナミ", date(2011, 4, 20), "F", "つなぐ市西町5丁目2番3号", "HM1",
              rosters=[("gakko", "S4", "長谷川　七海", "ハセガワ　ナナミ", None, "つなぐ市北町1丁目9番9号")],
              guardian="石川　誠"),
        # Digits swapped in the birth date: the day's two digits, and day with month.
        Child("digits", "村上　健太", "ムラカミ　ケンタ", date(2015, 3, 12), "M", "つなぐ市南町4丁目4番4号", "HD1",
              rosters=[("gakko", "S1", None, None, date(2015, 3, 21), None)], guardian="村上　聡"),
        Child("daymonth", "藤田　沙耶", "フジタ　サヤ", date(2014, 5, 7), "F", "つなぐ市南町1丁目2番3号", "HD2",
              rosters=[("gakko", "S2", None, None, date(2014, 7, 5), None)], guardian="藤田　亮"),
        # Variant kanji: 髙橋 and 高橋, 齋藤 and 斉藤.
        Child("variant-a", "髙橋　優斗", "タカハシ　ユウト", date(2012, 11, 30), "M", "つなぐ市中町1丁目5番6号", "HV1",
              rosters=[("gakko", "S3", "高橋　優斗", None, None, None)], guardian="髙橋　誠"),
        Child("variant-b", "齋藤　咲良", "サイトウ　サクラ", date(2013, 1, 9), "F", "つなぐ市中町2丁目7番8号", "HV2",
              rosters=[("tekiyo", "T1", "斉藤　咲良", None, None, None)], guardian="齋藤　聡子"),
        # Latin and katakana: a roster writing the register's katakana name in Latin letters.
        Child("latin-a", "グエン　ヴァン　アン", "グエン　ヴァン　アン", date(2014, 8, 8), "M", "つなぐ市港町3丁目3番3号",
              "HL1", rosters=[("tekiyo", "T1", "NGUYEN VAN AN", None, None, None)], guardian="グエン　ティ　ラン"),
        Child("latin-b", "佐々木　優希", "ササキ　ユウキ", date(2016, 12, 1), "F", "つなぐ市港町1丁目1番2号", "HL2",
              rosters=[("tekiyo", "T1", "SASAKI YUKI", None, None, None)], guardian="佐々木　剛"),
    ]


def _write_exports(folder: Path, children: list[Child], kana: bool, relationship: bool) -> dict[tuple[str, str], str]:
    """The three exports, and the truth: (source, local id) -> true person."""
    folder.mkdir(parents=True)
    truth: dict[tuple[str, str], str] = {}
    register = ["宛名番号,世帯番号,氏名,カナ氏名,生年月日,性別,住所"] if kana else ["宛名番号,世帯番号,氏名,生年月日,性別,住所"]
    if relationship:
        register[0] += ",続柄"
    rosters: dict[str, list[str]] = {s: ["学校,番号,氏名,ふりがな,生年月日,性別,住所,保護者"] for s in ("gakko", "tekiyo")}
    for n, child in enumerate(children):
        sex = "男" if child.sex == "M" else "女"
        aza = f"{100000 + n}"
        if child.registered:
            reading = [child.reading] if kana else []
            register.append(",".join([aza, child.household, child.name, *reading, child.birth.isoformat(), sex,
                                      child.address, *(["子"] if relationship else [])]))
            truth[("jumin_kiroku", aza)] = child.truth
        for number, (roster, school, name, reading_written, birth, address) in enumerate(child.rosters):
            local = f"{n:05d}{number}"
            shown_reading = (reading_written or child.reading) if kana and roster == "gakko" else ""
            rosters[roster].append(",".join([school, local, name or child.name, shown_reading,
                                             (birth or child.birth).isoformat(), sex, address or child.address,
                                             child.guardian]))
            truth[(f"{roster}_meibo", f"{school}:{local}")] = child.truth
    (folder / "jumin_20261101.csv").write_text("\n".join(register) + "\n", encoding="utf-8")
    for roster, lines in rosters.items():
        (folder / f"{roster}_20261101.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return truth


@dataclass(frozen=True)
class Variant:
    name: str
    kana: bool  # the register and the first roster carry kana readings (the second never does)
    relationship: bool = False  # the register has 続柄, mapped but not released (else no 続柄 column)


VARIANTS = [Variant("kana in the register and one roster", True), Variant("no kana anywhere", False),
            Variant("続柄 not released", True, relationship=True)]


@dataclass
class Linked:
    report: LinkReport
    truth: dict[tuple[str, str], str]
    person_of: dict[tuple[str, str], str]
    review: set[str]  # right keys of open review pairs
    kana: bool
    home: Path


@pytest.fixture(scope="module", params=VARIANTS, ids=lambda v: v.name)
def linked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Linked:
    variant: Variant = request.param
    root = tmp_path_factory.mktemp("conformance")
    home = root / "home"
    new_home(home, Municipality("272205", "つなぐ市"), scope="session")
    manifests = home / "manifests"
    manifests.mkdir()
    (manifests / "jumin.yaml").write_text(_register_manifest(variant.kana, variant.relationship), encoding="utf-8")
    (manifests / "gakko.yaml").write_text(_roster_manifest("gakko_meibo", "gakko_*.csv", variant.kana), encoding="utf-8")
    (manifests / "tekiyo.yaml").write_text(_roster_manifest("tekiyo_meibo", "tekiyo_*.csv", False), encoding="utf-8")
    children = _ordinary(random.Random(17), 240) + _hard_cases()
    truth = _write_exports(root / "exports", children, variant.kana, variant.relationship)
    settings = load_settings(home)
    ingestor = Ingestor(manifests_for_home(home), settings.vault_dir, settings.hub_url)
    try:
        loaded = ingestor.ingest([root / "exports"])
    finally:
        ingestor.close()
    assert not loaded.refused and all(f.quarantined == 0 for f in loaded.files), loaded.as_json()
    with hub_of(home) as hub:
        with hub.sessions.begin() as session:
            report = run_linkage(session, hub.nodes(), hub.manifests)
        with hub.sessions() as session:
            person_of = {(s, lid): pid for s, lid, pid in session.execute(
                select(PersonLink.source, PersonLink.local_id, PersonLink.person_id)).all()}
            review = set(session.scalars(select(ClericalPair.right_key).where(ClericalPair.status == "open")).all())
    return Linked(report, truth, person_of, review, variant.kana, home)


def test_no_two_people_share_a_person_id(linked: Linked) -> None:
    people: dict[str, set[str]] = {}
    for key, person in linked.person_of.items():
        people.setdefault(person, set()).add(linked.truth[key])
    merged = {p: t for p, t in people.items() if len(t) > 1}
    assert merged == {}


def test_every_shared_person_is_linked_or_in_review(linked: Linked) -> None:
    registered = {truth: key for key, truth in linked.truth.items() if key[0] == "jumin_kiroku"}
    missed = []
    for key, truth in linked.truth.items():
        if key[0] == "jumin_kiroku" or truth not in registered or (truth in NEEDS_KANA and not linked.kana):
            continue
        same = linked.person_of[key] == linked.person_of[registered[truth]]
        if not same and f"{key[0]}:{key[1]}" not in linked.review:
            missed.append((key, truth))
    assert missed == []


HARD = ["twin-a", "twin-b", "twin-c", "moved", "digits", "daymonth", "variant-a", "variant-b", "latin-a", "latin-b"]
# A name in kanji only and the same name in Latin letters have nothing in common to compare: without
# a recorded reading, latin-b is beyond reach (kana guessed from kanji is wrong for names).
NEEDS_KANA = {"latin-b"}


@pytest.mark.parametrize("truth", HARD)
def test_each_hard_case_is_linked_or_in_review(linked: Linked, truth: str) -> None:
    records = [k for k, t in linked.truth.items() if t == truth and k[0] != "jumin_kiroku"]
    spine = next(k for k, t in linked.truth.items() if t == truth and k[0] == "jumin_kiroku")
    if truth in NEEDS_KANA and not linked.kana:
        # Beyond reach, so it must stay apart: never given another registered person's id.
        others = {linked.person_of[k] for k, t in linked.truth.items() if k[0] == "jumin_kiroku" and t != truth}
        assert all(linked.person_of[key] not in others for key in records), records
        return
    for key in records:
        assert (linked.person_of[key] == linked.person_of[spine]) or f"{key[0]}:{key[1]}" in linked.review, key


@pytest.mark.parametrize("truth", ["twin-d", "sib-b"])
def test_a_child_without_a_register_record_is_never_given_a_siblings_id(linked: Linked, truth: str) -> None:
    spine_ids = {linked.person_of[k] for k in linked.truth if k[0] == "jumin_kiroku"}
    for key, t in linked.truth.items():
        if t == truth:
            assert linked.person_of[key] not in spine_ids, key


def test_the_register_without_its_relationship_column_is_named_not_a_crash(linked: Linked) -> None:
    assert any("relationship_to_head" in note and "jumin_kiroku" in note for note in linked.report.notes)
    assert linked.report.probabilistic_links > 200


def test_most_ordinary_records_link_automatically(linked: Linked) -> None:
    ordinary = [k for k, t in linked.truth.items() if t.startswith("o") and k[0] != "jumin_kiroku"]
    spine = {t: k for k, t in linked.truth.items() if k[0] == "jumin_kiroku"}
    linked_auto = sum(1 for k in ordinary if linked.person_of[k] == linked.person_of[spine[linked.truth[k]]])
    assert linked_auto >= 0.95 * len(ordinary)


def test_the_run_result_holds_no_names_or_addresses(linked: Linked) -> None:
    text = json.dumps(asdict(linked.report), ensure_ascii=False, default=str)
    written = [c.name for c in _hard_cases()] + [c.address for c in _hard_cases()]
    parts = {part for value in written for part in value.replace("　", " ").split() if len(part) >= 2}
    parts |= {family for family, _ in FAMILIES if len(family) >= 2} | {reading for _, reading in FAMILIES}
    assert [part for part in parts if part in text] == []
    assert linked.report.block_counts  # the counts are there, their values hidden


def test_evaluation_refuses_a_truth_that_covers_too_few_records(linked: Linked, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tsunagu.cli import app

    truth = tmp_path / "truth"
    truth.mkdir()
    aza = next(lid for src, lid in linked.truth if src == "jumin_kiroku")
    (truth / "records.csv").write_text(f"source,file,local_key,row,person_id\njumin_kiroku,jumin.csv,{aza},1,x\n",
                                       encoding="utf-8")
    result = CliRunner().invoke(app, ["link", "evaluate", "--truth", str(truth), "--home", str(linked.home), "--json"])
    assert result.exit_code != 0
    assert "too few to measure" in result.output and "Traceback" not in result.output


def test_screening_finds_the_children_of_a_register_under_another_name(linked: Linked) -> None:
    from tsunagu.screen.runs.run import run_screening

    with hub_of(linked.home) as hub, hub.sessions.begin() as session:
        report = run_screening(session, hub.nodes(), hub.manifests, hub.catalog, hub.rule_set(), date(2026, 11, 30))
    assert report.children == sum(1 for source, _ in linked.truth if source == "jumin_kiroku")
