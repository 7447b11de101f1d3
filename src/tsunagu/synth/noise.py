"""Columns as a department writes them: names, readings, dates and addresses, with their mess.

Each helper applies the profile's noise for one source, records affected/eligible counts in the
ledger, and returns an object array of strings. Per-row Python runs only on the affected rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tsunagu.synth.context import Context
from tsunagu.synth.dates import ALTERNATIVES, NA, format_dates, typo_date
from tsunagu.synth.names import (
    flip_variants,
    fold_for_cp932,
    has_variant_char,
    kana_typo,
    kanji_number,
    lexicon,
    reading_form,
)
from tsunagu.synth.population import HH_ELSEWHERE, Address

Arr = npt.NDArray[Any]
IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]

_OTHER_FORMS = {"full": ("half", "hira"), "half": ("full",), "hira": ("full",)}
_SPACE = {"full": "　", "half": " ", "hira": "　"}


def _apply(values: Arr, mask: BoolArr, func: Any) -> None:
    idx = np.flatnonzero(mask)
    if len(idx):
        values[idx] = np.array([func(v) for v in values[idx]], dtype=object)


def person_names(
    ctx: Context,
    source: str,
    pids: IntArr,
    *,
    rng: np.random.Generator,
    form: str | None = "full",
    space: str = "　",
    romaji_dominant: bool = False,
    cp932: bool = True,
    name_column: bool = True,
) -> tuple[Arr, Arr]:
    """Return (氏名, reading) columns for persons ``pids`` as ``source`` writes them."""
    pop = ctx.pop
    n = len(pids)
    family = pop.p_family[pids].copy()
    family_kana = pop.p_family_kana[pids].copy()
    stale = ctx.draw(source, "stale_surname", pop.p_prev_family[pids] != "", rng)
    family[stale] = pop.p_prev_family[pids][stale]
    family_kana[stale] = pop.p_prev_family_kana[pids][stale]
    given = pop.hb.p_given[pids]
    given_kana = pop.hb.p_given_kana[pids]

    foreign = pop.p_foreign[pids]
    # 住民記録 writes foreign residents' names in the alphabet; others mostly in katakana
    romaji = foreign if romaji_dominant else ctx.draw(source, "romaji_name", foreign, rng)
    if name_column:
        variant = ctx.draw(
            source, "variant_kanji", ~foreign & np.array([has_variant_char(str(f)) for f in family], dtype=bool), rng
        )
        _apply(family, variant, flip_variants)
        if cp932:
            _apply(family, np.ones(n, dtype=bool), fold_for_cp932)
        sep: Arr = np.full(n, space, dtype=object)
        odd = ctx.draw(source, "name_space", np.ones(n, dtype=bool), rng)
        sep[odd] = np.where(rng.random(int(odd.sum())) < 0.7, "", " " if space == "　" else "　")
        name = family + sep + given
        if romaji.any():
            fam_r = pop.p_family_romaji[pids][romaji]
            giv_r = pop.hb.p_given_romaji[pids][romaji]
            name[romaji] = fam_r + " " + giv_r
    else:
        name = np.full(n, "", dtype=object)

    if form is None:
        return name, np.full(n, "", dtype=object)
    kana = family_kana + "　" + given_kana
    has = np.ones(n, dtype=bool)
    typo = ctx.draw(source, "kana_typo", has, rng)
    picks = rng.random(n)
    idx = np.flatnonzero(typo)
    if len(idx):
        kana[idx] = np.array([kana_typo(str(kana[i]), float(picks[i])) for i in idx], dtype=object)
    other = ctx.draw(source, "reading_form", has, rng)
    forms: Arr = np.full(n, form, dtype=object)
    alts = _OTHER_FORMS[form]
    forms[other] = np.array(alts, dtype=object)[rng.integers(0, len(alts), int(other.sum()))]
    if form != "full" or other.any():
        for f in ("half", "hira"):
            mask = forms == f
            if mask.any():
                kana[mask] = np.array(
                    [reading_form(str(k), f).replace("　", _SPACE[f]) for k in kana[mask]], dtype=object
                )
    missing = ctx.draw(source, "missing_reading", has, rng)
    kana[missing] = ""
    return name, kana


def date_column(
    ctx: Context,
    source: str,
    days: IntArr,
    *,
    rng: np.random.Generator,
    birth: bool = False,
    style: str | None = None,
) -> Arr:
    """Format ``days`` in the source's dominant style, mixing in other styles; typos for births."""
    days = days.copy()
    present = days != NA
    if birth:
        typo = ctx.draw(source, "birth_date_typo", present, rng)
        picks = rng.random(len(days))
        for i in np.flatnonzero(typo):
            days[i] = typo_date(int(days[i]), float(picks[i]), ctx.pop.export_day)
    dominant = style or ctx.profile.noise.style(source)
    out = format_dates(days, dominant)
    mixed = ctx.draw(source, "date_style_mixed", present, rng)
    if mixed.any():
        alts = ALTERNATIVES[dominant]
        chosen = rng.integers(0, len(alts), len(days))
        for k, alt in enumerate(alts):
            mask = mixed & (chosen == k)
            if mask.any():
                out[mask] = format_dates(days[mask], alt)
    return out


_FULL_DIGITS = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _number_forms(n: IntArr, kanji: bool) -> Arr:
    if kanji:
        table: Arr = np.array([kanji_number(i) if i > 0 else "〇" for i in range(100)], dtype=object)
    else:
        table = np.array([str(i) for i in range(100)], dtype=object)
    return table[np.clip(n, 0, 99)]


def address_text(
    ctx: Context,
    hh: IntArr,
    addr: Address,
    *,
    style: str = "standard",
    building: BoolArr | None = None,
    city: bool = True,
) -> Arr:
    """つなぐ市{町名}{n}丁目{n}番{n}号 and its variants, for households ``hh``.

    styles: standard (丁目番号), hyphen (1-2-3), kanji (漢数字), banchi (番地), fullwidth (全角数字).
    """
    pop = ctx.pop
    town = pop.town_names[addr.town[hh]]
    kanji = style == "kanji"
    c, b, g = (_number_forms(getattr(addr, f)[hh], kanji) for f in ("chome", "ban", "go"))
    if style == "hyphen":
        body = town + c + "-" + b + "-" + g
    elif style == "banchi":
        body = town + c + "丁目" + b + "番地" + g
    else:
        body = town + c + "丁目" + b + "番" + g + "号"
    prefix = ctx.profile.municipality.name if city else ""
    out: Arr = prefix + body
    bld = addr.building[hh]
    show = (bld >= 0) if building is None else (bld >= 0) & building
    if show.any():
        names = lexicon().buildings[bld[show]]
        room = addr.room[hh][show].astype(str).astype(object)
        suffix = "号室" if style != "hyphen" else ""
        out[show] = out[show] + " " + names + room + suffix
    if style == "fullwidth":
        out = np.array([str(v).translate(_FULL_DIGITS) for v in out], dtype=object)
    # households that never lived in つなぐ市 are known only by an address elsewhere
    elsewhere = pop.hh_status[hh] == HH_ELSEWHERE
    if elsewhere.any():
        origins = lexicon().origins
        local = np.array([o for o in origins if str(o).startswith("つなぐ県")], dtype=object)
        out[elsewhere] = local[pop.hh_origin[hh][elsewhere] % len(local)] + body[elsewhere]
    return out


ADDRESS_VARIANTS = ("hyphen", "kanji", "banchi", "fullwidth", "nocity")


def address_column(
    ctx: Context,
    source: str,
    pids: IntArr,
    *,
    rng: np.random.Generator,
    style: str = "standard",
) -> Arr:
    """Current address of each person as ``source`` writes it (stale after a move, variants)."""
    pop = ctx.pop
    hh = pop.p_hh[pids]
    moved = pop.hh_move_within_day[hh] != NA
    stale = ctx.draw(source, "stale_address", moved, rng)
    has_building = np.where(stale, pop.prev_address.building[hh], pop.address.building[hh]) >= 0
    omitted = ctx.draw(source, "building_omitted", has_building, rng)
    variant = ctx.draw(source, "address_variant", np.ones(len(pids), dtype=bool), rng)
    variants = tuple(v for v in ADDRESS_VARIANTS if v != style)
    chosen: Arr = np.full(len(pids), style, dtype=object)
    chosen[variant] = np.array(variants, dtype=object)[rng.integers(0, len(variants), int(variant.sum()))]
    out: Arr = np.empty(len(pids), dtype=object)
    for use_prev in (False, True):
        addr = pop.prev_address if use_prev else pop.address
        for st in (style, *variants):
            mask = (stale == use_prev) & (chosen == st)
            if mask.any():
                out[mask] = address_text(
                    ctx,
                    hh[mask],
                    addr,
                    style="standard" if st == "nocity" else st,
                    building=~omitted[mask],
                    city=st != "nocity" and style != "nocity",
                )
    return out


def blank_some(ctx: Context, source: str, values: Arr, rng: np.random.Generator) -> Arr:
    """Missing values: blank a share of the filled cells of an optional column."""
    filled = values != ""
    hit = ctx.draw(source, "missing_value", filled, rng)
    values = values.copy()
    values[hit] = ""
    return values
