"""A synthetic prefecture (``tsunagu synth --municipalities N``): several municipalities, children moving between them.

Each municipality is generated as ``tsunagu synth`` generates one (its own name, postcodes and seed:
a normal home's exports and truth under ``OUT/<code>/``). Then households with children move
between them, as the resident registers record a move inside the prefecture: the old municipality's
register keeps the person as 転出 with the 転出先 in its 異動履歴, the new one registers them as 転入
under a new 宛名番号 and household number at a new address, with the 転入前住所 in its 異動履歴.
What changes at a move changes here too: sometimes the surname (a divorce or remarriage is often
why a family moves) and now and then the reading or the birth date as the new clerk typed it.
``OUT/truth/moves.csv`` is the truth of who is who across municipalities.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from tsunagu.synth.context import rng_for
from tsunagu.synth.dates import format_one, from_day, to_day, typo_date
from tsunagu.synth.profile import Profile, load_profile
from tsunagu.synth.table import preamble

# Fictional municipalities of the fictional つなぐ県 (codes outside the real 全国地方公共団体コード range
# 01–47, with their check digits; postcodes' first three digits distinct). The first is the municipality ``tsunagu synth`` makes.
MUNICIPALITIES: tuple[tuple[str, str, str], ...] = (
    ("990019", "つなぐ市", "799"), ("990027", "あさひ市", "791"), ("990035", "さくら市", "792"),
    ("990043", "もみじ市", "793"), ("990051", "かわせ町", "794"), ("990060", "うみべ市", "795"),
    ("990078", "こもれび町", "796"), ("990086", "はやせ村", "797"),
)
# Shares of the prefecture's children: a central city, middle-sized cities, a town and a village, as
# in a prefecture of a few municipalities (the largest city holding about a third of the children).
SIZE_WEIGHTS = (0.34, 0.20, 0.16, 0.12, 0.08, 0.05, 0.03, 0.02)
# Households with children that moved to another municipality of the prefecture during the year:
# about 2 % (住民基本台帳人口移動報告: 移動率 of the ages 0–14 about 4 %, half of it within a prefecture).
MOVE_SHARE = 0.02
SURNAME_CHANGE_SHARE = 0.10  # a move together with a divorce or remarriage: the household's surname changes
READING_SLIP_SHARE = 0.02  # the new municipality's カナ氏名 with one kana mistyped
BIRTH_SLIP_SHARE = 0.01  # the new municipality's 生年月日 mistyped
REGISTER, MOVES = "juki_jumin", "juki_idou"
# Mistyped kana: each with one it is easily taken for (voicing marks, small kana, long vowels).
KANA_SLIPS = {"ｼ": "ｼﾞ", "ｶ": "ｶﾞ", "ﾀ": "ﾀﾞ", "ﾖ": "ｮ", "ﾂ": "ｯ", "ｳ": "", "ｵ": "ｳ", "ﾕ": "ｭ"}


@dataclass(frozen=True)
class PrefectureSummary:
    municipalities: list[dict[str, object]]
    children: int
    moved_households: int
    moved_persons: int
    moved_children: int
    seconds: float


def _sizes(children: int, count: int) -> list[int]:
    weights = np.array(SIZE_WEIGHTS[:count], dtype=float)
    sizes = np.floor(children * weights / weights.sum()).astype(int)
    sizes[0] += children - int(sizes.sum())
    return [max(int(s), 1) for s in sizes]


def _read(path: Path) -> tuple[str, pl.DataFrame]:
    text = path.read_bytes().decode("cp932")
    first, _, body = text.partition("\r\n")
    return first, pl.read_csv(body.encode("utf-8"), infer_schema=False)


def _write(path: Path, first: str, frame: pl.DataFrame) -> None:
    text = frame.write_csv(include_header=True, line_terminator="\r\n", quote_style="necessary")
    path.write_bytes((first + "\r\n" + text).encode("cp932"))


def _export(folder: Path, source: str) -> Path:
    found = sorted((folder / "exports").glob(f"{source}_*.csv"))
    if len(found) != 1:
        raise FileNotFoundError(f"{folder / 'exports'} に {source} のエクスポートがありません")
    return found[0]


@dataclass
class _Municipality:
    code: str
    name: str
    folder: Path
    first: dict[str, str]
    frames: dict[str, pl.DataFrame]
    persons: pl.DataFrame  # truth: aza_number, person_id, role, birth_date, status
    taken: set[str]  # 宛名番号 and 世帯番号 in use

    @classmethod
    def load(cls, code: str, name: str, folder: Path) -> _Municipality:
        first, frames = {}, {}
        for source in (REGISTER, MOVES):
            first[source], frames[source] = _read(_export(folder, source))
        persons = pl.read_csv(folder / "truth" / "persons.csv", infer_schema=False)
        register = frames[REGISTER]
        return cls(code, name, folder, first, frames, persons, set(register["宛名番号"]) | set(register["世帯番号"]))

    def save(self) -> None:
        for source in (REGISTER, MOVES):
            _write(_export(self.folder, source), self.first[source], self.frames[source])


def _split(text: str, sep: str) -> tuple[str, str] | None:
    parts = text.split(sep, 1)
    return (parts[0], parts[1]) if len(parts) == 2 and parts[0] and parts[1] else None


def _slip(reading: str, rng: np.random.Generator) -> str:
    spots = [i for i, ch in enumerate(reading) if ch in KANA_SLIPS]
    if not spots:
        return reading
    i = spots[int(rng.integers(0, len(spots)))]
    return reading[:i] + KANA_SLIPS[reading[i]] + reading[i + 1:]


def _new_ids(taken: set[str], count: int, rng: np.random.Generator, first_digit: str) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        candidate = first_digit + f"{int(rng.integers(0, 10**9)):09d}"
        if candidate not in taken:
            taken.add(candidate)
            out.append(candidate)
    return out


_TOWN = re.compile(r"^(.*?[0-9]+丁目)")


def _new_address(register: pl.DataFrame, rng: np.random.Generator) -> tuple[str, str]:
    """A new address in the municipality: a town where its residents live, a block and number of its own."""
    for _ in range(50):
        row = int(rng.integers(0, register.height))
        town = _TOWN.match(register["住所"][row] or "")
        if town and register["郵便番号"][row]:
            return (f"{town.group(1)}{int(rng.integers(1, 40))}番{int(rng.integers(1, 30))}号",
                    register["郵便番号"][row])
    raise ValueError("転入先の住所を作れません（住民記録に丁目のある住所がありません）")


def _households(m: _Municipality) -> list[str]:
    """世帯番号 of resident households with a child aged under 18."""
    children = m.persons.filter((pl.col("role") == "child") & (pl.col("status") == "resident"))
    register = m.frames[REGISTER]
    with_child = register.filter(pl.col("宛名番号").is_in(children["aza_number"].implode()) & (pl.col("住民区分") == "住民"))
    return sorted(set(with_child["世帯番号"].to_list()))


def _move(origin: _Municipality, destination: _Municipality, setai: str, day: int, rng: np.random.Generator,
          moves: list[dict[str, object]], appended: dict[str, list[dict[str, str | None]]]) -> None:
    register = origin.frames[REGISTER]
    # A register export may carry a person's row twice (a noise of the municipality's own export): one move each.
    members = register.filter((pl.col("世帯番号") == setai) & (pl.col("住民区分") == "住民")).unique(
        subset=["宛名番号"], keep="first", maintain_order=True)
    if members.height == 0:
        return
    moved_on = format_one(day, "kanji")
    address, postcode = _new_address(destination.frames[REGISTER], rng)
    new_aza = _new_ids(destination.taken, members.height, rng, "8")
    new_setai = _new_ids(destination.taken, 1, rng, "7")[0]
    surname: tuple[str, str] | None = None
    if rng.random() < SURNAME_CHANGE_SHARE:
        donor = destination.frames[REGISTER].row(int(rng.integers(0, destination.frames[REGISTER].height)), named=True)
        donor_name, donor_kana = _split(donor["氏名"] or "", "　"), _split(donor["カナ氏名"] or "", " ")
        surname = (donor_name[0], donor_kana[0]) if donor_name and donor_kana else None
    truth = origin.persons.select(pl.col("aza_number").alias("宛名番号"), "person_id", "role", "birth_date")
    known = members.select("宛名番号").join(truth, on="宛名番号", how="left", maintain_order="left")
    origin_address = members["住所"][0]
    for i, row in enumerate(members.iter_rows(named=True)):
        person_id, role, birth = known["person_id"][i], known["role"][i] or "other", known["birth_date"][i] or ""
        name, reading = row["氏名"], row["カナ氏名"]
        name_parts, kana_parts = _split(name or "", "　"), _split(reading or "", " ")
        changed = surname is not None and name_parts is not None and kana_parts is not None
        if changed and surname is not None and name_parts is not None and kana_parts is not None:
            name, reading = surname[0] + "　" + name_parts[1], surname[1] + " " + kana_parts[1]
        reading_slip = rng.random() < READING_SLIP_SHARE
        if reading_slip:
            reading = _slip(reading, rng)
        birth_text = row["生年月日"]
        birth_slip = bool(birth) and rng.random() < BIRTH_SLIP_SHARE
        if birth:
            birth_day = to_day(date.fromisoformat(birth))
            birth_text = format_one(typo_date(birth_day, float(rng.random()), day) if birth_slip else birth_day, "kanji")
        appended[destination.code].append({**row, "宛名番号": new_aza[i], "世帯番号": new_setai, "氏名": name,
                                           "カナ氏名": reading, "生年月日": birth_text, "住所": address,
                                           "郵便番号": postcode, "住民区分": "住民", "異動日": moved_on})
        appended[destination.code + ":idou"].append({"宛名番号": new_aza[i], "異動事由": "転入", "異動日": moved_on,
                                                     "異動前住所": origin_address, "異動後住所": address, "異動前氏名": None})
        appended[origin.code + ":idou"].append({"宛名番号": row["宛名番号"], "異動事由": "転出", "異動日": moved_on,
                                                "異動前住所": origin_address, "異動後住所": address, "異動前氏名": None})
        appended[origin.code + ":out"].append({"宛名番号": row["宛名番号"], "異動日": moved_on})
        moves.append({"person": f"{origin.code}:{person_id or row['宛名番号']}",
                      "role": role, "birth_date": birth, "from_code": origin.code, "from_aza": row["宛名番号"],
                      "to_code": destination.code, "to_aza": new_aza[i], "moved_on": from_day(day).isoformat(),
                      "surname_changed": int(changed), "reading_slip": int(reading_slip), "birth_slip": int(birth_slip)})


def _apply(m: _Municipality, appended: dict[str, list[dict[str, str | None]]]) -> None:
    register, idou = m.frames[REGISTER], m.frames[MOVES]
    out = appended[m.code + ":out"]
    if out:
        left = pl.DataFrame(out, schema={"宛名番号": pl.Utf8, "異動日": pl.Utf8}).rename({"異動日": "_out"})
        register = register.join(left, on="宛名番号", how="left", maintain_order="left").with_columns(
            pl.when(pl.col("_out").is_not_null()).then(pl.lit("転出")).otherwise(pl.col("住民区分")).alias("住民区分"),
            pl.coalesce("_out", "異動日").alias("異動日")).drop("_out")
    if appended[m.code]:
        register = pl.concat([register, pl.DataFrame(appended[m.code], schema=register.schema)])
    if appended[m.code + ":idou"]:
        idou = pl.concat([idou, pl.DataFrame(appended[m.code + ":idou"], schema=idou.schema)])
    m.frames[REGISTER], m.frames[MOVES] = register, idou
    m.save()
    if appended[m.code]:  # the municipality's own truth: each record its person (new persons here)
        records = pl.DataFrame({"source": REGISTER, "file": _export(m.folder, REGISTER).name,
                                "row": range(register.height - len(appended[m.code]) + 1, register.height + 1),
                                "local_key": [r["宛名番号"] for r in appended[m.code]],
                                "person_id": [f"T{m.code}-{r['宛名番号']}" for r in appended[m.code]]})
        with (m.folder / "truth" / "records.csv").open("ab") as fh:
            records.write_csv(fh, include_header=False)


def generate_prefecture(children: int, municipalities: int, seed: int, profile: str | Path | Profile,
                        out: Path) -> PrefectureSummary:
    """``municipalities`` municipalities with ``children`` children between them, and moves inside the prefecture."""
    from tsunagu.synth import generate

    started = time.perf_counter()
    if not 2 <= municipalities <= len(MUNICIPALITIES):
        raise ValueError(f"市町村の数は2から{len(MUNICIPALITIES)}までです")
    base = profile if isinstance(profile, Profile) else load_profile(profile)
    out = Path(out)
    listed: list[dict[str, object]] = []
    loaded: list[_Municipality] = []
    for i, size in enumerate(_sizes(children, municipalities)):
        code, name, postal = MUNICIPALITIES[i]
        own = base.model_copy(update={"municipality": base.municipality.model_copy(update={"name": name, "postal_prefix": postal})})
        summary = generate(size, seed * 100 + i, own, out / code)
        listed.append({"code": code, "name": name, "folder": code, "children": size, "seed": seed * 100 + i})
        loaded.append(_Municipality.load(code, name, out / code))
        del summary
    rng = rng_for(seed, "prefecture/moves")
    export_day = to_day(base.export_date)
    appended: dict[str, list[dict[str, str | None]]] = {k: [] for m in loaded for k in (m.code, m.code + ":idou", m.code + ":out")}
    moves: list[dict[str, object]] = []
    weights = np.array([h["children"] for h in listed], dtype=float)
    households = 0
    for index, origin in enumerate(loaded):
        candidates = _households(origin)
        count = round(len(candidates) * MOVE_SHARE)
        chosen: list[int] = sorted(int(c) for c in rng.choice(len(candidates), size=count, replace=False)) if count else []
        others = np.array([w if j != index else 0.0 for j, w in enumerate(weights)])
        for pick in chosen:
            destination = loaded[int(rng.choice(len(loaded), p=others / others.sum()))]
            day = export_day - int(rng.integers(10, 330))
            _move(origin, destination, candidates[pick], day, rng, moves, appended)
            households += 1
    for m in loaded:
        _apply(m, appended)
    truth = out / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame(moves, schema={"person": pl.Utf8, "role": pl.Utf8, "birth_date": pl.Utf8, "from_code": pl.Utf8,
                                        "from_aza": pl.Utf8, "to_code": pl.Utf8, "to_aza": pl.Utf8, "moved_on": pl.Utf8,
                                        "surname_changed": pl.Int64, "reading_slip": pl.Int64, "birth_slip": pl.Int64})
    frame.write_csv(truth / "moves.csv")
    moved_children = frame.filter(pl.col("role") == "child").height
    (out / "prefecture.json").write_text(json.dumps(
        {"prefecture": "つなぐ県", "export_date": base.export_date.isoformat(), "seed": seed, "municipalities": listed,
         "note": preamble("つなぐ県", "utf-8")}, ensure_ascii=False, indent=2), encoding="utf-8")
    return PrefectureSummary(listed, children, households, frame.height, moved_children,
                             round(time.perf_counter() - started, 3))


__all__ = ["MUNICIPALITIES", "PrefectureSummary", "generate_prefecture"]
