"""Small pieces shared by the export builders."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tsunagu.synth.context import Context
from tsunagu.synth.dates import from_day

Arr = npt.NDArray[Any]
IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]

SEX_LABEL: Arr = np.array(["男", "女"], dtype=object)


def file_name(ctx: Context, stem: str, ext: str = "csv") -> str:
    return f"{stem}_{from_day(ctx.pop.export_day).strftime('%Y%m%d')}.{ext}"


def aza_text(values: IntArr) -> Arr:
    """宛名番号 as a 10-digit string; 0 (no number) becomes empty."""
    out: Arr = values.astype(str).astype(object)
    out[values == 0] = ""
    return out


def ints_text(values: IntArr) -> Arr:
    out: Arr = values.astype(np.int64).astype(str).astype(object)
    return out


def sex_text(ctx: Context, pids: IntArr) -> Arr:
    out: Arr = SEX_LABEL[ctx.pop.p_sex[pids].astype(np.int64)]
    return out


def pick(labels: tuple[str, ...], index: IntArr) -> Arr:
    """labels[index] with -1 as empty."""
    table: Arr = np.array([*labels, ""], dtype=object)
    out: Arr = table[np.where(index < 0, len(labels), index)]
    return out


def uniform_days(rng: np.random.Generator, n: int, lo: IntArr | int, hi: IntArr | int) -> IntArr:
    lo_a = np.broadcast_to(np.asarray(lo, dtype=np.int64), (n,))
    hi_a = np.broadcast_to(np.asarray(hi, dtype=np.int64), (n,))
    return np.asarray(lo_a + np.floor(rng.random(n) * np.maximum(hi_a - lo_a, 1)).astype(np.int64), dtype=np.int64)


def guardian_of(ctx: Context, pids: IntArr) -> IntArr:
    """The guardian named on school and case files: the mother, else the father."""
    per_hh = ctx.pop.guardian_of_household()
    out: IntArr = per_hh[ctx.pop.p_hh[pids]]
    return out
