"""The truth behind the exports, in OUT/truth/: persons, children, record map, breaks, noise."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import polars as pl

from tsunagu.synth.context import Context
from tsunagu.synth.dates import NA, format_dates
from tsunagu.synth.needs import TIERS
from tsunagu.synth.population import RESIDENT, single_parent
from tsunagu.synth.profile import NOISE_KINDS
from tsunagu.synth.sources import SOURCES
from tsunagu.synth.table import Written

GENERATOR_VERSION = "tsunagu-synth/1"
_ROLE = np.array(["child", "guardian", "other"], dtype=object)
_STATUS = np.array(["resident", "moved_out", "dead", "elsewhere"], dtype=object)
_SEX = np.array(["M", "F"], dtype=object)


def _pid_text(values: pl.Series) -> pl.Series:
    """P + 8 digits: the person's index + 1 (stable for one seed, profile and size)."""
    return ("P" + (values + 1).cast(pl.String).str.zfill(8)).alias("person_id")


RECORDS_HEADER = b"source,file,row,local_key,person_id\n"


def append_records(fh: BinaryIO, written: Written) -> None:
    """Append one export's rows to records.csv (written as each export is done, to bound memory)."""
    df = written.records.with_columns(_pid_text(written.records["person_id"]))
    df.write_csv(fh, include_header=False)


def write_broken(out: Path, written: list[Written]) -> None:
    rows = [b for w in written for b in w.broken]
    df = pl.DataFrame(
        {
            "source": [r[0] for r in rows],
            "file": [r[1] for r in rows],
            "row": pl.Series([r[2] for r in rows], dtype=pl.Int64),
            "column": [r[3] for r in rows],
            "kind": [r[4] for r in rows],
        },
        schema={"source": pl.String, "file": pl.String, "row": pl.Int64, "column": pl.String, "kind": pl.String},
    )
    df.write_csv(out / "broken_rows.csv")


def write_noise(ctx: Context, out: Path) -> None:
    rows = []
    for source in SOURCES:
        for kind in NOISE_KINDS:
            counts = ctx.ledger.counts.get((source, kind))
            if counts is None:
                continue
            rows.append((source, kind, counts[0], counts[1], ctx.rate(source, kind)))
    pl.DataFrame(
        {
            "source": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "affected": pl.Series([r[2] for r in rows], dtype=pl.Int64),
            "eligible": pl.Series([r[3] for r in rows], dtype=pl.Int64),
            "rate": pl.Series([r[4] for r in rows], dtype=pl.Float64),
        }
    ).write_csv(out / "noise.csv")


def write_persons(ctx: Context, out: Path) -> None:
    pop = ctx.pop
    idx = np.arange(pop.n, dtype=np.int64)
    aza = pop.p_aza.astype(str).astype(object)
    aza[pop.p_aza == 0] = ""
    df = pl.DataFrame(
        {
            "person_id": _pid_text(pl.Series(idx)),
            "household_id": ("H" + pl.Series(pop.p_hh + 1).cast(pl.String).str.zfill(8)),
            "role": pl.Series(_ROLE[pop.p_role.astype(np.int64)], dtype=pl.String),
            "sex": pl.Series(_SEX[pop.p_sex.astype(np.int64)], dtype=pl.String),
            "birth_date": pl.Series(format_dates(pop.p_birth, "iso"), dtype=pl.String),
            "family_name": pl.Series(pop.p_family, dtype=pl.String),
            "given_name": pl.Series(pop.hb.p_given, dtype=pl.String),
            "reading": pl.Series(pop.p_family_kana + "　" + pop.hb.p_given_kana, dtype=pl.String),
            "aza_number": pl.Series(aza, dtype=pl.String),
            "foreign_national": pl.Series(pop.p_foreign.astype(np.int64)),
            "in_municipality": pl.Series((pop.p_status == RESIDENT).astype(np.int64)),
            "status": pl.Series(_STATUS[pop.p_status.astype(np.int64)], dtype=pl.String),
            "previous_family_name": pl.Series(pop.p_prev_family, dtype=pl.String),
            "romaji_name": pl.Series(
                np.where(pop.p_foreign, pop.p_family_romaji + " " + pop.hb.p_given_romaji, ""), dtype=pl.String
            ),
        }
    )
    df.write_csv(out / "persons.csv")


def _age_band(age: np.ndarray) -> np.ndarray:
    bands = np.array(["0-2", "3-5", "6-11", "12-14", "15-17"], dtype=object)
    out: np.ndarray = bands[np.searchsorted(np.array([3, 6, 12, 15]), age, side="right")]
    return out


def write_children(ctx: Context, out: Path) -> None:
    pop, nd, sn = ctx.pop, ctx.needs, ctx.schools
    idx = np.flatnonzero(pop.child_mask())
    school = np.full(pop.n, -1, dtype=np.int64)
    school[sn.pupil] = sn.school
    grade = np.zeros(pop.n, dtype=np.int64)
    grade[sn.pupil] = sn.grade
    codes = np.array([*sn.codes, ""], dtype=object)
    hh = pop.p_hh[idx]
    moved = (pop.hh_move_in_day[hh] != NA) | (pop.hh_move_within_day[hh] != NA)
    cols: dict[str, Any] = {
        "person_id": _pid_text(pl.Series(idx)),
        "age": nd.age[idx],
        "school_code": pl.Series(codes[np.where(school[idx] < 0, len(codes) - 1, school[idx])], dtype=pl.String),
        "grade": np.where(grade[idx] > 0, grade[idx], 0),
    }
    for need in (
        "poverty",
        "neglect",
        "abuse",
        "school_refusal",
        "young_carer",
        "developmental",
        "postnatal_depression",
    ):
        cols[need] = getattr(nd, need)[idx].astype(np.int64)
    cols["needs_support"] = nd.needs_support[idx].astype(np.int64)
    cols["true_tier"] = pl.Series(np.array(TIERS, dtype=object)[nd.tier[idx].astype(np.int64)], dtype=pl.String)
    cols["known_to_support"] = nd.known[idx].astype(np.int64)
    cols["known_centre"] = nd.centre[idx].astype(np.int64)
    cols["known_cgc"] = nd.cgc[idx].astype(np.int64)
    cols["known_ssw_sc"] = nd.ssw[idx].astype(np.int64)
    cols["school_aid"] = nd.school_aid[idx].astype(np.int64)
    cols["single_parent"] = single_parent(pop)[hh].astype(np.int64)
    cols["foreign_national"] = pop.p_foreign[idx].astype(np.int64)
    cols["disability_in_household"] = nd.disability_hh[hh].astype(np.int64)
    cols["moved"] = moved.astype(np.int64)
    cols["surname_changed"] = (pop.p_prev_family[idx] != "").astype(np.int64)
    cols["twin"] = pop.hb.p_twin[idx].astype(np.int64)
    cols["age_band"] = pl.Series(_age_band(nd.age[idx]), dtype=pl.String)
    cols["sex"] = pl.Series(_SEX[pop.p_sex[idx].astype(np.int64)], dtype=pl.String)
    pl.DataFrame(cols).write_csv(out / "children.csv")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(
    ctx: Context, out: Path, children: int, files: list[str], rows: dict[str, int], export_dir: Path
) -> None:
    manifest = {
        "generator": GENERATOR_VERSION,
        "synthetic": True,
        "note": "合成データ（架空の自治体）。実在の人物・世帯とは関係ありません。",
        "seed": ctx.seed,
        "profile": ctx.profile.name,
        "resolved_profile": ctx.profile.model_dump(mode="json"),
        "export_date": ctx.profile.export_date.isoformat(),
        "children": children,
        "persons": ctx.pop.n,
        "households": len(ctx.pop.hh_status),
        "schools": [
            {"code": str(c), "name": str(n), "public": bool(p)}
            for c, n, p in zip(ctx.schools.codes, ctx.schools.names, ctx.schools.public, strict=True)
        ],
        "rows_per_source": rows,
        "files": [{"file": f, "sha256": sha256(export_dir / f)} for f in files],
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
