"""Two municipalities for the hand-over tests: つなぐ市 (the small work home, sender) and みらい市
(a tiny home of its own, receiver), each with its hand-over keys; synthetic, not real children."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from support.exports import JUKI_HEADER, juki_row, write_csv
from support.hubs import copy_home, new_home, nodes_of
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.config import load_settings
from tsunagu.handover import directory
from tsunagu.handover.keys import Identity, load_identity
from tsunagu.ingest.load import Ingestor
from tsunagu.link.models import Person, PersonLink
from tsunagu.municipality import Municipality
from tsunagu.privacy import Subject
from tsunagu.vault.node import Node
from tsunagu.vault.topology import close_nodes
from tsunagu.work import plans
from tsunagu.work import users as accounts
from tsunagu.work.assignments import assign
from work.builders import ADMIN, APPROVER, Home, open_home

IDOU_HEADER = "宛名番号,異動事由,異動日,異動前住所,異動後住所,異動前氏名"
BOSHI_HEADER = "宛名番号,母宛名番号,妊娠届出週数,4か月児健診,1歳6か月児健診,3歳児健診,新生児訪問,EPDS得点,記録日"
MOVED_ON = date(2026, 12, 1)
TODAY = date(2026, 12, 3)
B_CODE, C_CODE = "131016", "141003"
CW = Subject("cw1", "centre_caseworker", "family_centre")
CW_B = Subject("cwb", "centre_caseworker", "family_centre")
OFFICER = Subject("admin1", "administrator", "it")


@dataclass
class Side:
    home: Home
    identity: Identity
    nodes: dict[str, Node]

    def close(self) -> None:
        close_nodes(self.nodes)
        self.home.close()


def _sender(template: Path, root: Path) -> Home:
    """つなぐ市: 佐藤花子 (P0002, an open case, health records) and 髙橋太郎 (P0001, 重点支援) move out."""
    target = copy_home(template, root / "a" / "home")
    ingestor = Ingestor(packaged_manifests(), target / "vaults", load_settings(target).hub_url)
    try:
        ingestor.ingest_file(write_csv(target / "in" / "juki_idou_20261202.csv", IDOU_HEADER, [
            "1000000002,転出,令和8年12月1日,つなぐ市中央町1丁目2番3号,みらい市本町4丁目5番6号,",
            "1000000001,転出,令和8年11月30日,つなぐ市中央町1丁目2番3号,みらい市本町4丁目5番6号,",
        ]))
        ingestor.ingest_file(write_csv(target / "in" / "boshi_hoken_20261031.csv", BOSHI_HEADER, [
            "1000000002,1000000090,11,受診,,,訪問済,5,平成30年8月10日",
            "1000000002,1000000090,,,受診,,,,令和元年10月5日",
            "1000000002,1000000090,,,,未受診,,,令和3年4月20日",
        ]))
        ingestor.ingest_file(write_csv(target / "in" / "yobou_sesshu_20261031.csv", "宛名番号,未接種数,基準日",
                                       ["1000000002,2,令和8年10月31日"]))
    finally:
        ingestor.close()
    home = open_home(target)
    with home.factory.begin() as session:
        for source, dept in (("boshi_hoken", "maternal_child_health"), ("yobou_sesshu", "maternal_child_health")):
            session.add(PersonLink(person_id="P0002", department=dept, source=source, local_id="1000000002",
                                   method="aza_number", match_probability=None, run_id="link-1"))
        plans.create_plan(session, CW, "support_coordination", "P0002", goals="母子の生活の安定と登校の継続",
                          responsible_body="こども家庭センター", next_review_on=date(2027, 1, 15), cipher=home.cipher)
        assign(session, ADMIN, "cw1", "P0002")
    return home


def _receiver(root: Path) -> Home:
    """みらい市: 佐藤花子 has registered her move-in (Q0001); one other child."""
    target = root / "b" / "home"
    settings = new_home(target, Municipality(B_CODE, "みらい市"))
    ingestor = Ingestor(packaged_manifests(), target / "vaults", settings.hub_url)
    try:
        ingestor.ingest_file(write_csv(target / "in" / "juki_jumin_20261202.csv", JUKI_HEADER, [
            juki_row("2000000001", name="佐藤　花子", kana="ｻﾄｳ ﾊﾅｺ", sex="女"),
            juki_row("2000000002", name="佐藤　花", kana="ｻﾄｳ ﾊﾅ", sex="女"),
        ]))
        ingestor.ingest_file(write_csv(target / "in" / "juki_idou_20261202.csv", IDOU_HEADER, [
            "2000000001,転入,令和8年12月2日,つなぐ市中央町1丁目2番3号,みらい市本町4丁目5番6号,",
            "2000000002,転入,令和8年12月2日,かなた市緑町1番地,みらい市本町7丁目1番1号,",
        ]))
    finally:
        ingestor.close()
    home = open_home(target)
    with home.factory.begin() as session:
        for pid, aza in (("Q0001", "2000000001"), ("Q0002", "2000000002")):
            session.add(Person(person_id=pid, created_run="link-1", status="active"))
            session.flush()
            session.add(PersonLink(person_id=pid, department="resident_registry", source="juki_jumin", local_id=aza,
                                   method="spine", match_probability=None, run_id="link-1"))
        accounts.create_user(session, ADMIN, "cwb", role="centre_caseworker", display_name="青木 センター",
                             organisation="family_centre", password="correct-horse-battery",
                             approver=APPROVER)  # a role that reads children: a second person approves (#18)
        accounts.create_user(session, ADMIN, "admin1", role="administrator", display_name="管理者",
                             organisation="it", password="correct-horse-battery")
        assign(session, ADMIN, "cwb", "Q0001")  # the family called the centre on arrival: a case is open here
    return home


def trust(side: Side, other: Identity, endpoint: str | None) -> None:
    with side.home.factory.begin() as session:
        directory.register(session, OFFICER, directory.own_card(other, endpoint), own_code=side.identity.code,
                           now=datetime(2026, 12, 1, tzinfo=UTC))


@pytest.fixture
def pair(template_home: Path, tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    a_home, b_home = _sender(template_home, tmp_path), _receiver(tmp_path)
    a = Side(a_home, load_identity(a_home.settings), nodes_of(a_home.settings))
    b = Side(b_home, load_identity(b_home.settings), nodes_of(b_home.settings))
    yield a, b
    a.close()
    b.close()
