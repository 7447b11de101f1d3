"""Table-driven hard cases for the linkage: each row is a small register and one unkeyed record.

The records are normalised with the same functions ingest uses, and scored with the model trained
on the small synthetic town, so these tests exercise normalisation, comparisons and assignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
import pytest

from tsunagu.ingest.normalize import address_key, name_key, reading_key, split_name
from tsunagu.link.assign import Thresholds, assign
from tsunagu.link.model import choose_comparisons, settings_dict
from tsunagu.link.probabilistic import link_probabilistic


@dataclass(frozen=True)
class Registered:
    aza: str
    name: str
    reading: str
    birth: date
    sex: str = "F"
    address: str = "つなぐ市中央町2丁目3番4号"
    guardians: tuple[str, ...] = ("山田　一郎",)
    guardian_readings: tuple[str, ...] = ("ヤマダ　イチロウ",)
    previous_names: tuple[str, ...] = ()
    previous_addresses: tuple[str, ...] = ()
    school: str | None = "B992901100012"


@dataclass(frozen=True)
class Unkeyed:
    name: str
    reading: str
    birth: date
    sex: str | None = "F"
    address: str | None = "つなぐ市中央町2丁目3番4号"
    guardian: str | None = "山田　一郎"
    guardian_reading: str | None = "やまだ　いちろう"
    school: str | None = "B992901100012"
    source: str = "school_meibo"


@dataclass(frozen=True)
class Case:
    name: str
    register: tuple[Registered, ...]
    record: Unkeyed
    expected: str | None  # the 宛名番号 it must link to, or None: must not link automatically
    extra: dict[str, Any] = field(default_factory=dict)


def _keys(name: str) -> tuple[str | None, str | None]:
    family, given = split_name(name)
    return name_key(family), (name_key(given) if given else None)


def _reading_keys(reading: str) -> tuple[str | None, str | None]:
    parts = reading.replace("\u3000", " ").split()
    if len(parts) < 2:
        return reading_key(reading), None
    return reading_key(parts[0]), reading_key("".join(parts[1:]))


def _spine(register: tuple[Registered, ...]) -> pl.DataFrame:
    rows = []
    for person in register:
        family, given = _keys(person.name)
        family_r, given_r = _reading_keys(person.reading)
        rows.append({
            "key": f"juki_jumin:{person.aza}", "source": "juki_jumin", "aza_number": person.aza,
            "family_key": family, "given_key": given, "family_reading_key": family_r, "given_reading_key": given_r,
            "birth_date": person.birth, "sex": person.sex, "address_key": address_key(person.address).key,
            "school_code": person.school,
            "guardian_names": [name_key(g) for g in person.guardians],
            "guardian_givens": [name_key(split_name(g)[1] or "") for g in person.guardians],
            "guardian_readings": [reading_key(r) for r in person.guardian_readings],
            "previous_family_keys": [name_key(n) for n in person.previous_names],
            "previous_address_keys": [address_key(a).key for a in person.previous_addresses],
        })
    return pl.DataFrame(rows, schema_overrides={"birth_date": pl.Date})


def _record(record: Unkeyed) -> pl.DataFrame:
    family, given = _keys(record.name)
    family_r, given_r = _reading_keys(record.reading)
    _, guardian_given = split_name(record.guardian) if record.guardian else ("", None)
    row = {
        "key": f"{record.source}:X:0001", "source": record.source, "family_key": family, "given_key": given,
        "family_reading_key": family_r, "given_reading_key": given_r, "birth_date": record.birth, "sex": record.sex,
        "address_key": address_key(record.address).key if record.address else None, "school_code": record.school,
        "guardian_name_key": name_key(record.guardian) if record.guardian else None,
        "guardian_given_key": name_key(guardian_given) if guardian_given else None,
        "guardian_reading_key": reading_key(record.guardian_reading) if record.guardian_reading else None,
    }
    return pl.DataFrame([row], schema_overrides={"birth_date": pl.Date, "sex": pl.Utf8, "address_key": pl.Utf8,
                                                 "school_code": pl.Utf8, "guardian_name_key": pl.Utf8,
                                                 "guardian_given_key": pl.Utf8, "guardian_reading_key": pl.Utf8})


HANAKO = Registered("1000000001", "山田　花子", "ヤマダ　ハナコ", date(2015, 4, 2))
TWIN = Registered("1000000002", "山田　桃子", "ヤマダ　モモコ", date(2015, 4, 2))
SISTER = Registered("1000000003", "山田　葉子", "ヤマダ　ヨウコ", date(2017, 6, 9))
TAKAHASHI = Registered("1000000004", "髙橋　翔太", "タカハシ　ショウタ", date(2012, 11, 30), sex="M",
                       guardians=("髙橋　美和",), guardian_readings=("タカハシ　ミワ",), school="C992901200013")
WATANABE = Registered("1000000005", "渡邊　結衣", "ワタナベ　ユイ", date(2014, 1, 15),
                      guardians=("渡邊　恵",), guardian_readings=("ワタナベ　メグミ",))
REMARRIED = Registered("1000000006", "佐藤　陽菜", "サトウ　ヒナ", date(2016, 3, 3), previous_names=("鈴木　陽菜",),
                       guardians=("佐藤　真由美",), guardian_readings=("サトウ　マユミ",))
MOVED = Registered("1000000007", "中村　蓮", "ナカムラ　レン", date(2013, 7, 21), sex="M",
                   address="つなぐ市緑町1丁目5番6号", previous_addresses=("つなぐ市中央町2丁目3番4号",),
                   guardians=("中村　健",), guardian_readings=("ナカムラ　ケン",))
NGUYEN = Registered("1000000008", "グエン　ティ　ラン", "グエン　ティラン", date(2014, 9, 5),
                    guardians=("グエン　ヴァン　ナム",), guardian_readings=("グエン　ヴァンナム",))
SMITH = Registered("1000000009", "SMITH　EMMA", "スミス　エマ", date(2015, 2, 14),
                   guardians=("SMITH　JOHN",), guardian_readings=("スミス　ジョン",))
OTHERS = (SISTER, TAKAHASHI, WATANABE, REMARRIED, MOVED, NGUYEN, SMITH)

CASES = [
    Case("exact school record", (HANAKO, TWIN, *OTHERS), Unkeyed("山田　花子", "やまだ　はなこ", date(2015, 4, 2)), HANAKO.aza),
    Case("twin: same birth, household, guardian; other given name",
         (HANAKO, TWIN, *OTHERS), Unkeyed("山田　桃子", "やまだ　ももこ", date(2015, 4, 2)), TWIN.aza),
    Case("twin's record never lands on the other twin even with a reading typo",
         (HANAKO, TWIN, *OTHERS), Unkeyed("山田　桃子", "やまだ　もこ", date(2015, 4, 2)), TWIN.aza,
         {"never": HANAKO.aza}),
    Case("sibling: same household, other birth date", (HANAKO, TWIN, *OTHERS),
         Unkeyed("山田　葉子", "やまだ　ようこ", date(2017, 6, 9)), SISTER.aza),
    Case("variant kanji 髙 → 高 and half-width reading", (HANAKO, *OTHERS),
         Unkeyed("高橋　翔太", "ﾀｶﾊｼ ｼｮｳﾀ", date(2012, 11, 30), sex="M", guardian="高橋　美和",
                 guardian_reading="ﾀｶﾊｼ ﾐﾜ", school="C992901200013"), TAKAHASHI.aza),
    Case("variant kanji 邊 → 辺 with the birth date's day and month swapped", (HANAKO, *OTHERS),
         Unkeyed("渡辺　結衣", "わたなべ　ゆい", date(2014, 1, 15).replace(month=1, day=15), guardian="渡辺　恵",
                 guardian_reading="わたなべ　めぐみ"), WATANABE.aza),
    Case("surname changed after remarriage, school still has the old surname", (HANAKO, *OTHERS),
         Unkeyed("鈴木　陽菜", "すずき　ひな", date(2016, 3, 3), guardian="佐藤　真由美",
                 guardian_reading="さとう　まゆみ"), REMARRIED.aza),
    Case("moved family: the record still has the previous address", (HANAKO, *OTHERS),
         Unkeyed("中村　蓮", "なかむら　れん", date(2013, 7, 21), sex="M", guardian="中村　健",
                 guardian_reading="なかむら　けん"), MOVED.aza),
    Case("foreign name in katakana, the school writes it without the middle space", (HANAKO, *OTHERS),
         Unkeyed("グエン　ティラン", "ぐえん　てぃらん", date(2014, 9, 5), guardian="グエン　ヴァンナム",
                 guardian_reading="ぐえん　ゔぁんなむ"), NGUYEN.aza),
    Case("foreign name in romaji with a katakana reading", (HANAKO, *OTHERS),
         Unkeyed("Smith　Emma", "すみす　えま", date(2015, 2, 14), guardian="Smith　John",
                 guardian_reading="すみす　じょん"), SMITH.aza),
    Case("a child unknown to the register (child-guidance case from another town)", (HANAKO, TWIN, *OTHERS),
         Unkeyed("田中　美咲", "たなか　みさき", date(2011, 8, 8), address="となり市本町1-1-1", guardian="田中　恵子",
                 guardian_reading="たなか　けいこ", school=None, source="jisou"), None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hard_case(case: Case, trained_model: dict[str, Any]) -> None:
    settings = settings_dict(choose_comparisons(["full_name", "full_reading", "birth_date", "sex", "address",
                                                 "guardian_name", "guardian_reading", "school_code"]))
    result = link_probabilistic(_spine(case.register), _record(case.record), settings, trained_model=trained_model,
                                threshold=0.0)
    assignment = assign(result.pairs, pl.DataFrame(schema={"left_key": pl.Utf8, "right_key": pl.Utf8,
                                                           "decision": pl.Utf8}), Thresholds())
    linked = assignment.links["key_l"].to_list()
    if case.expected is None:
        assert linked == [], f"must not link automatically, got {linked}"
    else:
        assert linked == [f"juki_jumin:{case.expected}"]
    never = case.extra.get("never")
    if never:
        assert f"juki_jumin:{never}" not in linked
