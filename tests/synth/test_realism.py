"""Prevalences, noise rates and deliberately broken rows of a larger, noisier municipality."""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from tsunagu.catalog import default_catalog
from tsunagu.synth import generate, load_profile

CHILDREN = 8000
SEED = 7
PROFILE = load_profile("noisy")

DATES = {
    "juki_jumin": ["生年月日", "異動日"],
    "juki_idou": ["異動日"],
    "seiho_jukyu": ["生年月日", "保護開始日", "保護廃止日"],
    "jifu_teate": ["認定日"],
    "shogai": ["交付日"],
    "kaigo": ["認定日"],
    "boshi_hoken": ["記録日"],
    "yobou_sesshu": ["基準日"],
    "hoiku": ["入所日"],
    "gakureibo": ["生年月日"],
    "shugaku_enjo": ["認定日"],
    "school_meibo": ["生年月日"],
    "kokoro_tenki": ["日付"],
    "kodomo_center": ["生年月日", "受付日"],
    "jisou": ["生年月日", "受理日"],
    "koko_zaiseki": ["生年月日", "入学日", "退学日"],
}
SEX = {"juki_jumin": ["性別"], "gakureibo": ["性別"], "school_meibo": ["性別"], "jisou": ["性別"], "koko_zaiseki": ["性別"]}
NUMBERS = {
    "zeimu_kazei": ["年度", "合計所得金額"],
    "boshi_hoken": ["妊娠届出週数", "EPDS得点"],
    "yobou_sesshu": ["未接種数"],
    "hoiku": ["出席率"],
    "gakureibo": ["学年"],
    "school_meibo": ["学年"],
    "school_kiroku": ["欠席日数", "遅刻回数", "早退回数", "保健室来室回数", "給食費滞納月数"],
    "school_chosa": ["年度", "学力調査偏差値", "非認知能力調査得点", "未処置歯数"],
    "koko_shusseki": ["欠席日数"],
}
# Text columns with a shape in the catalogue (a 組 is 2組, never ??).
SHAPED = {"school_meibo": {"組": str(default_catalog().item("school_class").checks.pattern)}}  # type: ignore[union-attr]
RELATIONS = {"世帯主", "妻", "夫", "子", "父", "母", "祖父", "祖母", "孫", "兄", "弟", "姉", "妹", "縁故者", "同居人"}
SEEN = {"受診", "未受診"}
CODES: dict[str, dict[str, set[str]]] = {
    "juki_jumin": {"続柄": RELATIONS, "住民区分": {"住民", "転出", "死亡"}, "外国人区分": {"日本人", "外国人"}},
    "juki_idou": {"異動事由": {"転入", "転出", "転居", "出生", "死亡", "氏変更"}},
    "zeimu_kazei": {"課税区分": {"課税", "非課税", "均等割のみ"}},
    "jifu_teate": {"支給状況": {"全部支給", "一部支給", "支給停止"}},
    "jidou_teate": {"受給状況": {"受給中", "消滅"}},
    "shogai": {"手帳種別": {"身体", "療育", "精神"}, "障害児通所": {"有", "無"}},
    "kaigo": {"要介護度": {"要支援1", "要支援2", "要介護1", "要介護2", "要介護3", "要介護4", "要介護5"}},
    "boshi_hoken": {
        "4か月児健診": SEEN,
        "1歳6か月児健診": SEEN,
        "3歳児健診": SEEN,
        "新生児訪問": {"訪問済", "不在・拒否", "未実施"},
    },
    "shugaku_enjo": {"認定区分": {"要保護", "準要保護"}},
    "school_kiroku": {"教材費未納": {"有", "無"}, "SSW・SC関与": {"SSW", "SC", "SSW・SC"}},
    "school_chosa": {"いじめアンケート訴え": {"有", "無"}},
    "kokoro_tenki": {"天気": {"晴れ", "くもり", "雨", "雷"}},
    "kodomo_center": {
        "相談種別": {"養護相談", "育成相談", "障害相談", "非行相談", "保健相談", "その他"},
        "虐待種別": {"身体的虐待", "性的虐待", "ネグレクト", "心理的虐待"},
        "要対協登録": {"要保護児童", "要支援児童", "特定妊婦", "終結"},
        "支援状況": {"支援中", "終結"},
    },
    "jisou": {
        "相談種別": {"養護相談（虐待）", "養護相談（その他）", "障害相談", "非行相談", "育成相談", "保健相談"},
        "一時保護": {"有", "無"},
        "対応状況": {"受理", "調査中", "援助中", "終結"},
    },
    "koko_zaiseki": {"在籍状況": {"在籍", "中途退学"}},
}
CP932 = {"juki_jumin", "juki_idou", "zeimu_kazei", "seiho_jukyu", "jifu_teate", "shogai", "kaigo", "boshi_hoken"}
CP932 |= {"yobou_sesshu", "gakureibo", "shugaku_enjo", "kodomo_center"}
ERAS = {
    "昭和": (date(1926, 12, 25), date(1989, 1, 7)),
    "平成": (date(1989, 1, 8), date(2019, 4, 30)),
    "令和": (date(2019, 5, 1), date(2100, 1, 1)),
}
LETTERS = {"S": "昭和", "H": "平成", "R": "令和"}


def parse_date(text: str) -> date | None:
    """Western (2024-04-01, 2024/4/1) or 和暦 (令和6年4月1日, R6.4.1, H31/4/30); None if not a real day."""
    western = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", text)
    try:
        if western:
            return date(int(western[1]), int(western[2]), int(western[3]))
        kanji = re.fullmatch(r"(昭和|平成|令和)(元|\d{1,2})年(\d{1,2})月(\d{1,2})日", text)
        abbrev = re.fullmatch(r"([SHR])(\d{1,2})[./](\d{1,2})[./](\d{1,2})", text)
        if kanji:
            era, year, month, day = kanji[1], 1 if kanji[2] == "元" else int(kanji[2]), int(kanji[3]), int(kanji[4])
        elif abbrev:
            era, year, month, day = LETTERS[abbrev[1]], int(abbrev[2]), int(abbrev[3]), int(abbrev[4])
        else:
            return None
        start, end = ERAS[era]
        value = date(start.year + year - 1, month, day)
        return value if start <= value <= end else None
    except ValueError:
        return None


def source_of(file: str) -> str:
    return "school_" + file.split("_")[2] if file.startswith("school_") else file.rsplit("_", 1)[0]


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    if path.suffix == ".xlsx":
        rows = [
            ["" if v is None else str(v) for v in r]
            for r in load_workbook(path, read_only=True).active.iter_rows(values_only=True)
        ]
        width = len(rows[1])
        return rows[1], [(r + [""] * width)[:width] for r in rows[2:]]
    raw = path.read_bytes()
    text = raw.decode("cp932") if source_of(path.name) in CP932 else raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    return rows[1], rows[2:]


def invalid(source: str, column: str, value: str) -> bool:
    if column in SHAPED.get(source, {}):
        return re.fullmatch(SHAPED[source][column], value) is None
    if column in DATES.get(source, []):
        return parse_date(value) is None
    if column in SEX.get(source, []):
        return value not in ("男", "女")
    if column in NUMBERS.get(source, []):
        return re.fullmatch(r"\d+(\.\d+)?", value) is None
    return value not in CODES[source][column]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth_noisy")
    generate(CHILDREN, SEED, "noisy", folder)
    return folder


@pytest.fixture(scope="module")
def exports(out: Path) -> dict[str, tuple[list[str], list[list[str]]]]:
    return {p.name: read_rows(p) for p in sorted((out / "exports").iterdir())}


@pytest.fixture(scope="module")
def children(out: Path) -> pl.DataFrame:
    return pl.read_csv(out / "truth" / "children.csv")


@pytest.fixture(scope="module")
def records(out: Path) -> pl.DataFrame:
    return pl.read_csv(out / "truth" / "records.csv", infer_schema=False)


def within(observed: float, expected: float, n: int, slack: float = 0.0) -> bool:
    return abs(observed - expected) <= 4 * math.sqrt(max(expected * (1 - expected), 1e-9) / max(n, 1)) + slack


def test_prevalences_match_the_profile(children: pl.DataFrame) -> None:
    eco, nd = PROFILE.economy, PROFILE.needs
    n = children.height
    assert n == CHILDREN
    assert within(float((children["poverty"] > 0).mean()), eco.poverty_rate, n)  # type: ignore[operator]
    assert within(float((children["poverty"] == 2).mean()), eco.public_assistance_rate, n)  # type: ignore[operator]
    pupils = children.filter(pl.col("grade") > 0)
    assert within(float((pupils["school_aid"] > 0).mean()), eco.school_aid_rate, pupils.height)  # type: ignore[operator]
    elem = children.filter(pl.col("school_code").str.starts_with("B"))
    jhs = children.filter(pl.col("school_code").str.starts_with("C"))
    assert within(float((elem["school_refusal"] > 0).mean()), nd.school_refusal_elementary, elem.height)  # type: ignore[operator]
    assert within(float((jhs["school_refusal"] > 0).mean()), nd.school_refusal_junior_high, jhs.height)  # type: ignore[operator]
    assert within(float((jhs["young_carer"] > 0).mean()), nd.young_carer_rate, jhs.height, 0.01)  # type: ignore[operator]
    # outside the municipal schools, school refusal is drawn only for high-school students (15–17)
    assert (children.filter((pl.col("grade") == 0) & (pl.col("age") < 15))["school_refusal"] == 0).all()
    twin_share = 2 * PROFILE.households.twin_rate / (1 + PROFILE.households.twin_rate)
    assert within(float(children["twin"].mean()), twin_share, n // 2)  # type: ignore[arg-type]
    assert within(float(children["foreign_national"].mean()), PROFILE.households.foreign_national_rate, n // 2, 0.005)  # type: ignore[arg-type]
    infants = children.filter(pl.col("age") == 0)
    assert within(float((infants["postnatal_depression"] > 0).mean()), nd.postnatal_depression_rate, infants.height)  # type: ignore[operator]


def test_needs_are_correlated_the_way_the_literature_says(children: pl.DataFrame) -> None:
    single = children.filter(pl.col("single_parent") == 1)
    couple = children.filter(pl.col("single_parent") == 0)
    assert float((single["poverty"] > 0).mean()) > 2.5 * float((couple["poverty"] > 0).mean())  # type: ignore[operator]
    poor = children.filter(pl.col("poverty") > 0)
    rest = children.filter(pl.col("poverty") == 0)
    for need in ("neglect", "abuse"):
        assert float((poor[need] > 0).mean()) > 1.5 * float((rest[need] > 0).mean())  # type: ignore[operator]
    tiers = children.group_by("true_tier").len()
    assert set(tiers["true_tier"].to_list()) == {"重点支援", "予防的支援", "見守り", "対象外"}


def _absence(
    exports: dict[str, tuple[list[str], list[list[str]]]], records: pl.DataFrame, children: pl.DataFrame, source: str
) -> pl.DataFrame:
    """Absence days per child over the export period, with the child's truth."""
    absence: dict[str, int] = {}
    for name, (header, rows) in exports.items():
        if source_of(name) != source:
            continue
        col = header.index("欠席日数")
        pids = records.filter(pl.col("file") == name)["person_id"].to_list()
        for pid, row in zip(pids, rows, strict=True):
            if row[col].isdigit():
                absence[pid] = absence.get(pid, 0) + int(row[col])
    return children.join(pl.DataFrame({"person_id": list(absence), "days": list(absence.values())}), on="person_id")


def test_high_school_records_follow_the_junior_high_mechanism(
    exports: dict[str, tuple[list[str], list[list[str]]]], records: pl.DataFrame, children: pl.DataFrame
) -> None:
    roster = set(records.filter(pl.col("source") == "koko_zaiseki")["person_id"].to_list())
    ages = children.filter(pl.col("person_id").is_in(list(roster)))["age"]
    assert roster and int(ages.min()) >= 15 and int(ages.max()) <= 18  # type: ignore[operator, arg-type]
    teens = children.filter(pl.col("age").is_between(16, 17))
    listed = teens.filter(pl.col("person_id").is_in(list(roster))).height
    assert 0.85 <= listed / teens.height < 0.99  # most are enrolled; some not, or at schools elsewhere
    rate = PROFILE.high_school.school_refusal_rate
    students = children.filter(pl.col("person_id").is_in(list(roster)))
    assert within(float((students["school_refusal"] > 0).mean()), rate, students.height, 0.01)  # type: ignore[operator]

    def ratio(frame: pl.DataFrame) -> float:
        refusal = frame.filter(pl.col("school_refusal") > 0)["days"].mean()
        return float(refusal) / max(float(frame.filter(pl.col("school_refusal") == 0)["days"].mean()), 1e-9)  # type: ignore[arg-type]

    # the same monthly mechanism: absence separates refusal no more sharply at high school than at junior high
    high = _absence(exports, records, children, "koko_shusseki")
    junior = _absence(exports, records, children, "school_kiroku").filter(pl.col("school_code").str.starts_with("C"))
    assert high.filter(pl.col("school_refusal") > 0).height > 0
    assert ratio(high) <= 1.5 * ratio(junior)


def test_observables_follow_latent_needs(
    out: Path, exports: dict[str, tuple[list[str], list[list[str]]]], records: pl.DataFrame, children: pl.DataFrame
) -> None:
    frame = _absence(exports, records, children, "school_kiroku")
    refusal = frame.filter(pl.col("school_refusal") > 0)["days"]
    others = frame.filter(pl.col("school_refusal") == 0)["days"]
    assert float(refusal.median()) >= 30  # type: ignore[arg-type]
    assert float(others.mean()) < 8  # type: ignore[arg-type]
    # apart from the registers of every child, no single department sees every child in need
    needy = set(children.filter(pl.col("needs_support") == 1)["person_id"].to_list())
    for source in set(records["source"].unique().to_list()) - {"juki_jumin", "jidou_teate"}:
        seen = set(records.filter(pl.col("source") == source)["person_id"].to_list())
        assert not needy <= seen, source
    aid = set(children.filter(pl.col("school_aid") > 0)["person_id"].to_list())
    assert set(records.filter(pl.col("source") == "shugaku_enjo")["person_id"].to_list()) == aid


def test_realised_noise_rates_match_the_profile(out: Path) -> None:
    noise = pl.read_csv(out / "truth" / "noise.csv")
    checked = 0
    for row in noise.iter_rows(named=True):
        assert row["rate"] == PROFILE.noise.rate(row["source"], row["kind"])
        if row["rate"] == 0:
            assert row["affected"] == 0, row
        elif row["eligible"] >= 400:
            assert within(row["affected"] / row["eligible"], row["rate"], row["eligible"], 0.001), row
            checked += 1
    assert checked >= 40
    kinds = set(noise.filter(pl.col("affected") > 0)["kind"].to_list())
    assert {
        "variant_kanji",
        "kana_typo",
        "birth_date_typo",
        "date_style_mixed",
        "stale_address",
        "stale_surname",
    } <= kinds
    assert {"duplicate_row", "broken_row", "missing_value", "reading_form", "romaji_name", "address_variant"} <= kinds


def test_birth_date_typos_are_visible_against_the_truth(
    out: Path, exports: dict[str, tuple[list[str], list[list[str]]]], records: pl.DataFrame
) -> None:
    persons = pl.read_csv(out / "truth" / "persons.csv", infer_schema=False)
    birth = dict(zip(persons["person_id"].to_list(), persons["birth_date"].to_list(), strict=True))
    broken = pl.read_csv(out / "truth" / "broken_rows.csv", infer_schema=False)
    broken_cells = set(zip(broken["file"].to_list(), broken["row"].cast(pl.Int64).to_list(), strict=True))
    for source in ("gakureibo", "school_meibo", "jisou"):
        wrong = total = 0
        for name, (header, rows) in exports.items():
            if source_of(name) != source:
                continue
            col = header.index("生年月日")
            pids = records.filter(pl.col("file") == name)["person_id"].to_list()
            for i, (pid, row) in enumerate(zip(pids, rows, strict=True), start=1):
                if not row[col] or (name, i) in broken_cells:
                    continue
                total += 1
                wrong += parse_date(row[col]) != date.fromisoformat(birth[pid])
        rate = PROFILE.noise.rate(source, "birth_date_typo")
        assert total > 100
        assert within(wrong / total, rate, total, 0.01), (source, wrong, total)


def test_broken_rows_are_exactly_the_invalid_cells(
    out: Path, exports: dict[str, tuple[list[str], list[list[str]]]]
) -> None:
    broken = pl.read_csv(out / "truth" / "broken_rows.csv", infer_schema=False)
    listed = {(f, int(r), c) for f, r, c in zip(broken["file"], broken["row"], broken["column"], strict=True)}
    assert len(listed) == broken.height > 20
    assert set(broken["kind"].unique().to_list()) == {"impossible_date", "invalid_sex", "non_numeric", "unknown_code",
                                                    "bad_class"}
    found = set()
    for name, (header, rows) in exports.items():
        source = source_of(name)
        columns = (DATES.get(source, []) + SEX.get(source, []) + NUMBERS.get(source, []) + list(CODES.get(source, {}))
                   + list(SHAPED.get(source, {})))
        for column in columns:
            col = header.index(column)
            for i, row in enumerate(rows, start=1):
                if row[col] and invalid(source, column, row[col]):
                    found.add((name, i, column))
    assert found == listed


def test_variant_characters_reach_the_right_encodings(out: Path) -> None:
    cp932_text = ""
    utf8_text = ""
    for path in sorted((out / "exports").glob("*.csv")):
        raw = path.read_bytes()
        if source_of(path.name) in CP932:
            cp932_text += raw.decode("cp932")
        else:
            utf8_text += raw.decode("utf-8-sig")
    assert "髙" in cp932_text and "﨑" in cp932_text
    assert "𠮷" not in cp932_text
    assert "𠮷" in utf8_text
    assert re.search(r"[ｦ-ﾟ]", cp932_text)  # half-width kana in the registry


def test_the_registry_writes_names_as_registered(
    out: Path, exports: dict[str, tuple[list[str], list[list[str]]]], records: pl.DataFrame
) -> None:
    """住民記録 is the record others drift from: current surname, registered characters, no typos."""
    persons = pl.read_csv(out / "truth" / "persons.csv", infer_schema=False)
    truth = {
        pid: (fam.replace("𠮷", "吉"), giv, (rom or "").upper())
        for pid, fam, giv, rom in zip(
            persons["person_id"], persons["family_name"], persons["given_name"], persons["romaji_name"], strict=True
        )
    }
    name = next(n for n in exports if n.startswith("juki_jumin_"))
    header, rows = exports[name]
    pids = records.filter(pl.col("file") == name)["person_id"].to_list()
    col = header.index("氏名")
    mismatched = 0
    for pid, row in zip(pids, rows, strict=True):
        family, given, romaji = truth[pid]
        written = row[col]
        if romaji:
            mismatched += written != romaji
        else:
            mismatched += written not in {f"{family}　{given}", f"{family}{given}", f"{family} {given}"}
    assert len(rows) > 10_000
    assert mismatched == 0
    changed = persons.filter(pl.col("previous_family_name").fill_null("") != "")
    assert changed.height > 0  # there were surname changes to leak, and none did
