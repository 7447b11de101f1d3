"""Synthetic municipality generator (``tsunagu synth``).

Writes what the departments of the fictional 「つなぐ市」 export — with the mess real exports
have — into ``OUT/exports/``, and the truth behind them into ``OUT/truth/``, so that linkage and
screening can be measured. No real person's data is used or imitated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from tsunagu.synth.cgc_history import write_history
from tsunagu.synth.context import Context, rng_for
from tsunagu.synth.highschool import build_high_schools
from tsunagu.synth.needs import build_needs
from tsunagu.synth.population import build_population
from tsunagu.synth.profile import Profile, builtin_profiles, load_profile
from tsunagu.synth.programmes import write_programmes
from tsunagu.synth.schools import build_schools, write_school_master
from tsunagu.synth.sources import BUILDERS, SOURCES
from tsunagu.synth.table import Written, write_table
from tsunagu.synth.truth import (
    RECORDS_HEADER,
    append_records,
    write_broken,
    write_children,
    write_manifest,
    write_noise,
    write_persons,
)

__all__ = ["SOURCES", "Profile", "SynthSummary", "builtin_profiles", "generate", "load_profile"]


@dataclass(frozen=True)
class SynthSummary:
    children: int
    persons: int
    rows_per_source: dict[str, int]
    files: list[str]
    seconds: float
    profile: str
    seed: int
    export_date: date


def _clear(folder: Path) -> None:
    """Remove files a previous run left, so a smaller run leaves no stale school files behind."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file() and old.suffix in (".csv", ".xlsx", ".json"):
            old.unlink()


def generate(children: int, seed: int, profile: str | Path | Profile, out: Path) -> SynthSummary:
    """Generate a municipality with ``children`` resident children aged 0–17 at the export date."""
    started = time.perf_counter()
    if children < 0:
        raise ValueError("children must be zero or more")
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    out = Path(out)
    export_dir, truth_dir = out / "exports", out / "truth"
    _clear(export_dir)
    _clear(truth_dir)

    pop = build_population(prof, children, rng_for(seed, "population"))
    network = build_schools(pop, rng_for(seed, "schools"))
    public_pupil = np.zeros(pop.n, dtype=bool)
    public_pupil[network.pupil[network.public[network.school]]] = True
    needs = build_needs(pop, public_pupil, rng_for(seed, "needs"))
    high_schools = build_high_schools(pop, needs, rng_for(seed, "high_school"))
    ctx = Context(profile=prof, seed=seed, pop=pop, schools=network, needs=needs, high_schools=high_schools)

    written: list[Written] = []
    with (truth_dir / "records.csv").open("wb") as records:
        records.write(RECORDS_HEADER)
        for source in SOURCES:
            built = BUILDERS[source](ctx)
            for table in built if isinstance(built, list) else [built]:
                result = write_table(ctx, table, export_dir)
                append_records(records, result)
                result.records = result.records.clear()  # keep only the counts in memory
                written.append(result)

    rows: dict[str, int] = dict.fromkeys(SOURCES, 0)
    for w in written:
        rows[w.source] += w.rows
    files = sorted(w.file for w in written)
    write_broken(truth_dir, written)
    write_noise(ctx, truth_dir)
    write_persons(ctx, truth_dir)
    write_children(ctx, truth_dir)
    write_programmes(ctx, truth_dir)
    write_manifest(ctx, truth_dir, children, files, rows, export_dir)
    # The child guidance centre's past intakes, for the urgency aid: beside exports/, additive.
    write_history(seed, prof.export_date, out)
    write_school_master(network, out)
    return SynthSummary(
        children=children,
        persons=pop.n,
        rows_per_source=rows,
        files=[f"exports/{f}" for f in files],
        seconds=round(time.perf_counter() - started, 3),
        profile=prof.name,
        seed=seed,
        export_date=prof.export_date,
    )
