"""A small home for the work and web tests: vaults from tiny exports, linked persons, two screening
runs, accounts of every kind and a few support resources (synthetic: つなぐ市, not real children)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from support.exports import JUKI_HEADER, juki_row, write_csv
from support.hubs import new_home
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.config import Settings, load_settings
from tsunagu.hub import Hub
from tsunagu.ingest.load import Ingestor
from tsunagu.link.models import Person, PersonLink
from tsunagu.municipality import Municipality
from tsunagu.privacy import NoteCipher, Subject
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.work import users as accounts
from tsunagu.work.assignments import assign
from tsunagu.work.resources import ResourceEntry, add_resource

PASSWORD = "correct-horse-battery"
# P0001 also has a 児童相談所 case (at another address: a placement) and 生活保護: records whose mere
# existence is sensitive, for the tests of who may see which link, identity row and department.
JISOU_HEADER = "ケース番号,氏名,ふりがな,生年月日,性別,住所,保護者氏名,相談種別,一時保護,対応状況,受理日"
JISOU_ROW = "J-2026-0042,髙橋　太郎,たかはし　たろう,平成30年4月1日,男,つなぐ市北町9丁目9番9号,髙橋　一郎,養護相談（虐待）,有,援助中,2026-08-01"
SEIHO_HEADER = "宛名番号,氏名,生年月日,保護開始日,保護廃止日"
SEIHO_ROW = "1000000001,髙橋　太郎,平成30年4月1日,2025-04-01,"
KIROKU_HEADER = "学校コード,児童生徒番号,年月,欠席日数,遅刻回数,早退回数,保健室来室回数,給食費滞納月数,教材費未納,SSW・SC関与"
ADMIN = Subject("setup", "administrator", "cli")
APPROVER = Subject("setup-privacy", "privacy_officer", "privacy")  # the second person (separation of duties)

# person id -> (aza number, name, kana, sex, school, pupil no, grade)
CHILDREN = {
    "P0001": ("1000000001", "髙橋　太郎", "ﾀｶﾊｼ ﾀﾛｳ", "男", "S001", "0001", 5),
    "P0002": ("1000000002", "佐藤　花子", "ｻﾄｳ ﾊﾅｺ", "女", "S001", "0002", 3),
    "P0003": ("1000000003", "鈴木　一郎", "ｽｽﾞｷ ｲﾁﾛｳ", "男", "S002", "0001", 4),
    "P0004": ("1000000004", "田中　美咲", "ﾀﾅｶ ﾐｻｷ", "女", "S001", "0003", 6),
}
USERS = {
    "ssw1": ("school_social_worker", "S001", "山田 SSW"),
    "cw1": ("centre_caseworker", "family_centre", "中村 センター"),
    "teacher1": ("teacher", "S001", "小林 担任"),
    "teacher2": ("teacher", "S002", "加藤 担任"),
    "po1": ("privacy_officer", "privacy", "井上 保護担当"),
    "admin1": ("administrator", "it", "木村 管理者"),
    "steward1": ("data_steward", "resident_registry", "林 データ担当"),
    "officer1": ("programme_officer", "board_of_education", "佐々木 学務課"),
}


def _reason(rule: str, label: str, item: str | None, value: str | None, dept: str | None, on: str | None,
            stale: bool = False, score: int = 1) -> dict[str, object]:
    return {"rule": rule, "label": label, "item_id": item, "value": value, "department": dept, "observed_on": on,
            "stale": stale, "score": score}


REASONS = {
    "P0001": [
        _reason("sch_absence", "欠席が多い", "absence_days", "8", "schools", "2026-10-31", score=2),
        _reason("hr_abuse_recent", "最近の虐待相談", "abuse_consultation", "ネグレクト", "family_centre", "2026-08-01"),
        _reason("pov_lunch_arrears", "給食費の滞納", "lunch_fee_arrears_months", "4", "schools", "2026-10-31", True),
    ],
    "P0002": [_reason("pov_school_aid", "就学援助を受けている", "school_aid", "準要保護", "board_of_education", "2026-04-01")],
    "P0003": [_reason("sch_absence", "欠席が多い", "absence_days", "3", "schools", "2026-10-31")],
    "P0004": [_reason("sch_absence", "欠席が多い", "absence_days", "12", "schools", "2026-10-31")],
}
TIERS_NOW = {"P0001": "重点支援", "P0002": "予防的支援", "P0003": "見守り", "P0004": "重点支援"}
DOMAINS_NOW = {"P0001": ["school_refusal", "abuse_risk", "poverty"], "P0002": ["poverty"],
               "P0003": ["school_refusal"], "P0004": ["school_refusal"]}


@dataclass
class Home:
    settings: Settings
    factory: sessionmaker[Session]
    cipher: NoteCipher
    run_id: str
    engine: Engine
    resources: list[int] = field(default_factory=list)

    def close(self) -> None:
        self.engine.dispose()

    def subject(self, user_id: str) -> Subject:
        role, org, _name = USERS[user_id]
        return Subject(user_id, role, org)


def _vaults(home: Path) -> None:
    ingestor = Ingestor(packaged_manifests(), home / "vaults", load_settings(home).hub_url)
    try:
        rows = [juki_row(aza, name=name, kana=kana, sex=sex) for aza, name, kana, sex, *_ in CHILDREN.values()]
        ingestor.ingest_file(write_csv(home / "in" / "juki_jumin_20261031.csv", JUKI_HEADER, rows))
        for school in ("S001", "S002"):
            lines = []
            for aza, _n, _k, _s, sch, pupil, _g in CHILDREN.values():
                if sch == school:
                    absent = int(aza[-1]) * 3
                    lines.append(f"{sch},{pupil},2026-09,{absent - 1},1,0,1,2,無,")
                    lines.append(f"{sch},{pupil},2026-10,{absent},2,0,2,{3 if aza.endswith('1') else 0},有,SSW")
            ingestor.ingest_file(write_csv(home / "in" / f"school_{school}_kiroku_20261031.csv", KIROKU_HEADER, lines,
                                           encoding="utf-8"))
        ingestor.ingest_file(write_csv(home / "in" / "jisou_20261031.csv", JISOU_HEADER, [JISOU_ROW]))
        ingestor.ingest_file(write_csv(home / "in" / "seiho_jukyu_20261031.csv", SEIHO_HEADER, [SEIHO_ROW]))
    finally:
        ingestor.close()


def _hub(session: Session) -> str:
    now = datetime.now(UTC)
    runs = [("run-2026-09", date(2026, 9, 30)), ("run-2026-10", date(2026, 10, 31))]
    for run_id, as_of in runs:
        session.add(ScreeningRun(run_id=run_id, as_of=as_of, started_at=now, finished_at=now, rule_set_hash="x" * 64,
                                 rule_set_json="{}", snapshots_json=json.dumps({"juki_jumin": ["2026-10-31"]}),
                                 missing_sources=json.dumps(["kokoro_tenki"]), counts_json="{}", children=4,
                                 data_digest=""))
    session.flush()
    for pid, (aza, _name, _kana, _sex, school, pupil, grade) in CHILDREN.items():
        session.add(Person(person_id=pid, created_run="link-1", status="active"))
        session.flush()
        session.add(PersonLink(person_id=pid, department="resident_registry", source="juki_jumin", local_id=aza,
                               method="spine", match_probability=None, run_id="link-1"))
        session.add(PersonLink(person_id=pid, department="schools", source="school_kiroku",
                               local_id=f"{school}:{pupil}", method="probabilistic", match_probability=0.97,
                               run_id="link-1"))
        if pid == "P0001":
            session.add(PersonLink(person_id=pid, department="child_guidance", source="jisou", local_id="J-2026-0042",
                                   method="probabilistic", match_probability=0.91, run_id="link-1"))
            session.add(PersonLink(person_id=pid, department="public_assistance", source="seiho_jukyu",
                                   local_id=aza, method="aza_number", match_probability=None, run_id="link-1"))
        before = "見守り" if pid == "P0001" else TIERS_NOW[pid]
        for run_id, tier, trend in (("run-2026-09", before, "new"),
                                    ("run-2026-10", TIERS_NOW[pid], "worse" if pid == "P0001" else "same")):
            session.add(ScreeningResult(
                run_id=run_id, person_id=pid, tier=tier, domains=json.dumps(DOMAINS_NOW[pid]),
                domain_scores=json.dumps({d: 2 for d in DOMAINS_NOW[pid]}), hard_rules="[]",
                reasons=json.dumps(REASONS[pid], ensure_ascii=False), benefit_only=False,
                known_to_support=pid == "P0003", known_by="[]", no_mark=pid != "P0003",
                first_flag=pid == "P0002" and run_id == "run-2026-10", trend=trend, school_code=school, grade=grade,
                age=10.0, stale_reasons=sum(1 for r in REASONS[pid] if r["stale"]),
            ))
    return "run-2026-10"


def build_home(root: Path, *, with_users: bool = True, scope: str = "session") -> Home:
    """A migrated home with vaults, links, runs, accounts (password PASSWORD) and resources."""
    home = root / "home"
    new_home(home, Municipality("272205", "つなぐ市"), scope=scope)
    _vaults(home)
    settings = load_settings(home)
    hub = Hub(settings)
    engine, factory = hub.engine, hub.sessions
    with factory.begin() as session:
        run_id = _hub(session)
    built = Home(settings, factory, hub.note_cipher, run_id, engine)
    if with_users:
        with factory.begin() as session:
            for user_id, (role, org, name) in USERS.items():
                accounts.create_user(session, ADMIN, user_id, role=role, display_name=name, organisation=org,
                                     password=PASSWORD, approver=APPROVER)
            assign(session, ADMIN, "teacher1", "P0001")
            for name, category in (("こども食堂 ひだまり", "居場所・こども食堂"), ("学習支援教室 つなぐ塾", "学習支援")):
                view = add_resource(session, Subject("setup", "administrator", "cli"), "administration",
                                    ResourceEntry(name=name, category=category, eligibility="市内の小中学生",
                                                  contact="0120-000-000", area="中央地区"))
                built.resources.append(view.id)
    return built


def open_home(home: Path, run_id: str = "run-2026-10") -> Home:
    """A Home over an existing folder (a copy of a built one)."""
    hub = Hub(load_settings(home))
    return Home(hub.settings, hub.sessions, hub.note_cipher, run_id, hub.engine, [1, 2])
