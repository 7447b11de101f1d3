"""A small home for the family portal: households, guardians, a toddler's health records.

Built on the web tests' home (つなぐ市, synthetic): a later resident-register snapshot gives each
child a household of its own and adds the guardians; 佐藤 (household 300002) has 花子 (P0002, 8)
and 陽太 (P0005, born 2025-06-10, with check-ups and vaccinations); her mother-in-law lives with
them (続柄 母: no guardian of the children); 鈴木 (300003) is 一郎's (P0003) father.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from support.exports import JUKI_HEADER, write_csv
from support.hubs import copy_home
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.config import load_settings
from tsunagu.ingest.load import Ingestor
from tsunagu.link.models import HouseholdMember, Person, PersonLink
from tsunagu.privacy import Subject
from tsunagu.vault.node import Node
from tsunagu.work.family.issue import IssuedCode, issue_code
from work.builders import Home, open_home

BOSHI_HEADER = "宛名番号,母宛名番号,妊娠届出週数,4か月児健診,1歳6か月児健診,3歳児健診,新生児訪問,EPDS得点,記録日"
SATO, SUZUKI, GRANDMOTHER = "2000000002", "2000000003", "2000000009"
OFFICER = Subject("po1", "privacy_officer", "privacy")
TODAY = date(2026, 12, 7)
# (aza, household, name, kana, birth, sex, 続柄)
REGISTER = [
    ("1000000001", "300001", "髙橋　太郎", "ﾀｶﾊｼ ﾀﾛｳ", "平成30年4月1日", "男", "子"),
    ("2000000001", "300001", "髙橋　一郎", "ﾀｶﾊｼ ｲﾁﾛｳ", "昭和60年5月5日", "男", "世帯主"),
    ("1000000002", "300002", "佐藤　花子", "ｻﾄｳ ﾊﾅｺ", "平成30年6月1日", "女", "子"),
    ("1000000005", "300002", "佐藤　陽太", "ｻﾄｳ ﾖｳﾀ", "令和7年6月10日", "男", "子"),
    (SATO, "300002", "佐藤　美紀", "ｻﾄｳ ﾐｷ", "平成2年2月2日", "女", "世帯主"),
    (GRANDMOTHER, "300002", "佐藤　和子", "ｻﾄｳ ｶｽﾞｺ", "昭和35年3月3日", "女", "母"),
    ("1000000003", "300003", "鈴木　一郎", "ｽｽﾞｷ ｲﾁﾛｳ", "平成29年9月9日", "男", "子"),
    (SUZUKI, "300003", "鈴木　健", "ｽｽﾞｷ ｹﾝ", "昭和62年7月7日", "男", "世帯主"),
    ("1000000004", "300004", "田中　美咲", "ﾀﾅｶ ﾐｻｷ", "平成28年1月1日", "女", "子"),
]


def register_row(aza: str, household: str, name: str, kana: str, birth: str, sex: str, relation: str) -> str:
    return f"{aza},{household},{name},{kana},{birth},{sex},{relation},つなぐ市中央町1丁目2番3号,123-4567,日本人,住民,"


def ingest_register(home: Path, rows: list[tuple[str, ...]], day: str) -> None:
    ingestor = Ingestor(packaged_manifests(), home / "vaults", load_settings(home).hub_url)
    try:
        ingestor.ingest_file(write_csv(home / "in" / f"juki_jumin_{day}.csv", JUKI_HEADER,
                                       [register_row(*r) for r in rows]))
    finally:
        ingestor.close()


def build_family_home(template: Path, target: Path, *, scope: str = "session") -> Path:
    copy_home(template, target, scope=scope)
    ingest_register(target, REGISTER, "20261101")
    ingestor = Ingestor(packaged_manifests(), target / "vaults", load_settings(target).hub_url)
    try:
        ingestor.ingest_file(write_csv(target / "in" / "boshi_hoken_20261101.csv", BOSHI_HEADER, [
            f"1000000005,{SATO},10,,,,訪問済,4,令和7年7月20日",
            f"1000000005,{SATO},,受診,,,,,令和7年10月15日",
            f"1000000002,{SATO},,,,受診,,,令和3年7月1日",
        ]))
        ingestor.ingest_file(write_csv(target / "in" / "yobou_sesshu_20261101.csv", "宛名番号,未接種数,基準日",
                                       ["1000000005,1,令和8年10月31日", "1000000002,0,令和8年10月31日"]))
    finally:
        ingestor.close()
    home = open_home(target)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with home.factory.begin() as session:
        session.add(Person(person_id="P0005", created_run="link-2", status="active"))
        session.flush()
        session.add(PersonLink(person_id="P0005", department="resident_registry", source="juki_jumin",
                               local_id="1000000005", method="spine", match_probability=None, run_id="link-2"))
        for pid, aza in (("P0005", "1000000005"), ("P0002", "1000000002")):
            for source in ("boshi_hoken", "yobou_sesshu"):
                session.add(PersonLink(person_id=pid, department="maternal_child_health", source=source,
                                       local_id=aza, method="aza_number", match_probability=None, run_id="link-2"))
        for household, pid in (("300001", "P0001"), ("300002", "P0002"), ("300002", "P0005"), ("300003", "P0003"),
                               ("300004", "P0004")):
            session.add(HouseholdMember(household_id=f"H:{household}", person_id=pid, role="child",
                                        relationship="子", valid_from=now, valid_to=None))
    home.close()
    return target


def issue(home: Home, nodes: dict[str, Node], aza: str, days: int = 30) -> IssuedCode:
    from tsunagu.catalog.manifest import ManifestSet

    manifests: ManifestSet = packaged_manifests()
    with home.factory.begin() as session:
        return issue_code(session, OFFICER, aza, nodes=nodes, manifests=manifests, days=days)
