"""Profiles: every number the generator uses, loaded strictly from YAML.

A profile may start with ``extends: <name or path>``; it is then merged key by key over that base,
so a variant (``noisy``, ``small-town``) states only what differs. The merged result is validated
as a whole, so an unknown or misspelt key is an error naming the file and line.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tsunagu.yamlstrict import ConfigError, read_yaml, validation_error

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]

DateStyle = Literal["kanji", "abbrev", "abbrev_slash", "iso", "slash"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Municipality(_Strict):
    name: str
    postal_prefix: Annotated[str, Field(pattern=r"^[0-9]{3}$")]
    children_per_town: Annotated[int, Field(gt=0)]
    apartment_rate: Rate
    outside_children_rate: Rate


class Households(_Strict):
    children_per_household: Annotated[list[Annotated[float, Field(ge=0.0)]], Field(min_length=1, max_length=6)]
    age_weights: Annotated[list[Positive], Field(min_length=18, max_length=18)]
    single_parent_rate: Rate
    single_father_share: Rate
    three_generation_rate: Rate
    grandparents_both_rate: Rate
    adult_child_rate: Rate
    foreign_national_rate: Rate
    twin_rate: Rate
    mother_age_at_first_birth_mean: Annotated[float, Field(ge=16.0, le=45.0)]
    mother_age_at_first_birth_sd: Positive
    father_age_gap_mean: float
    father_age_gap_sd: Positive
    registered_variant_rate: Rate
    adult_disability_rate: Rate
    elder_care_need_rate: Rate

    @model_validator(mode="after")
    def _some_children(self) -> Households:
        if sum(self.children_per_household) <= 0:
            raise ValueError("children_per_household must not be all zero")
        return self


class Dynamics(_Strict):
    move_in_rate: Rate
    move_out_rate: Rate
    move_within_rate: Rate
    divorce_rate: Rate
    remarriage_rate: Rate
    surname_change_on_divorce: Rate
    child_death_rate: Rate
    elder_death_rate: Rate


class Economy(_Strict):
    poverty_rate: Rate
    public_assistance_rate: Rate
    public_assistance_ended_rate: Rate
    school_aid_rate: Rate
    school_aid_takeup: Annotated[float, Field(gt=0.0, le=1.0)]
    child_rearing_allowance_takeup: Rate
    median_income: Annotated[int, Field(gt=0)]
    income_sigma: Positive
    single_parent_effect: float
    foreign_effect: float
    disability_effect: float
    three_generation_effect: float


class NeedEffects(_Strict):
    """Logit coefficients linking the latent needs (modelling assumptions, see docs/synth.md)."""

    family_factor_on_poverty: float
    poverty_on_neglect: float
    poverty_on_abuse: float
    poverty_on_school_refusal: float
    family_on_neglect: float
    family_on_abuse: float
    family_on_school_refusal: float
    single_parent_on_neglect: float
    stepparent_on_abuse: float
    developmental_on_school_refusal: float
    developmental_on_abuse: float
    bullying_on_school_refusal: float
    care_need_on_young_carer: float
    disability_on_young_carer: float
    single_parent_on_young_carer: float
    foreign_on_young_carer: float
    boy_on_developmental: float
    poverty_on_postnatal_depression: float
    single_parent_on_postnatal_depression: float
    family_on_postnatal_depression: float


class Needs(_Strict):
    neglect_rate: Rate
    abuse_rate: Rate
    school_refusal_elementary: Rate
    school_refusal_junior_high: Rate
    young_carer_rate: Rate
    developmental_rate: Rate
    postnatal_depression_rate: Rate
    bullying_rate: Rate
    severe_share: Rate
    effects: NeedEffects


class Support(_Strict):
    """Probabilities that a support body knows a child, given the child's needs."""

    centre_abuse: Rate
    centre_abuse_severe: Rate
    centre_postnatal_depression: Rate
    centre_school_refusal: Rate
    centre_young_carer: Rate
    centre_developmental: Rate
    centre_no_need: Rate
    centre_unregistered: Rate
    centre_closed_share: Rate
    cgc_abuse: Rate
    cgc_abuse_severe: Rate
    cgc_disability: Rate
    cgc_delinquency: Rate
    cgc_protection_share: Rate
    ssw_school_refusal: Rate
    ssw_abuse: Rate
    ssw_young_carer: Rate
    ssw_bullying: Rate
    ssw_no_need: Rate


class Health(_Strict):
    checkup_4m_rate: Rate
    checkup_18m_rate: Rate
    checkup_3y_rate: Rate
    newborn_visit_rate: Rate
    visit_refusal_share: Rate
    late_notification_rate: Rate
    vaccination_missing_mean: Annotated[float, Field(ge=0.0)]
    nursery_rate_by_age: Annotated[list[Rate], Field(min_length=6, max_length=6)]
    child_certificate_rate: Rate
    child_service_rate: Rate


class Schools(_Strict):
    pupils_per_elementary: Annotated[int, Field(gt=0)]
    pupils_per_junior_high: Annotated[int, Field(gt=0)]
    private_elementary_rate: Rate
    private_junior_high_rate: Rate
    kokoro_participation: Rate
    kokoro_days: Annotated[int, Field(ge=1, le=200)]
    kokoro_answer_rate: Rate
    untreated_caries_mean: Annotated[float, Field(ge=0.0)]


class NoiseOverride(_Strict):
    """Per-source noise rates; a missing key falls back to ``noise.defaults``."""

    variant_kanji: Rate | None = None
    name_space: Rate | None = None
    romaji_name: Rate | None = None
    reading_form: Rate | None = None
    kana_typo: Rate | None = None
    missing_reading: Rate | None = None
    birth_date_typo: Rate | None = None
    date_style_mixed: Rate | None = None
    address_variant: Rate | None = None
    building_omitted: Rate | None = None
    stale_address: Rate | None = None
    stale_surname: Rate | None = None
    missing_value: Rate | None = None
    duplicate_row: Rate | None = None
    broken_row: Rate | None = None


class NoiseRates(_Strict):
    variant_kanji: Rate
    name_space: Rate
    romaji_name: Rate
    reading_form: Rate
    kana_typo: Rate
    missing_reading: Rate
    birth_date_typo: Rate
    date_style_mixed: Rate
    address_variant: Rate
    building_omitted: Rate
    stale_address: Rate
    stale_surname: Rate
    missing_value: Rate
    duplicate_row: Rate
    broken_row: Rate


NOISE_KINDS: tuple[str, ...] = tuple(NoiseRates.model_fields)


class Noise(_Strict):
    defaults: NoiseRates
    sources: dict[str, NoiseOverride]
    date_styles: dict[str, DateStyle]

    @model_validator(mode="after")
    def _known_sources(self) -> Noise:
        # The sources are the catalogue's (its packaged manifests): a misspelt one is an error, not a
        # setting silently never read.
        from tsunagu.catalog.manifest import packaged_manifests

        known = set(packaged_manifests().manifests)
        unknown = sorted((set(self.sources) | set(self.date_styles)) - known)
        if unknown:
            raise ValueError(f"unknown source {', '.join(unknown)} (the catalogue's sources: {', '.join(sorted(known))})")
        return self

    def rate(self, source: str, kind: str) -> float:
        override = self.sources.get(source)
        if override is not None:
            value = getattr(override, kind)
            if value is not None:
                return float(value)
        return float(getattr(self.defaults, kind))

    def style(self, source: str) -> str:
        return str(self.date_styles.get(source, "iso"))


class HighSchool(_Strict):
    """The prefecture's high schools. Defaults are national figures, so every profile has them."""

    # 学校基本調査（令和5年度）: 高等学校等進学率 98.7 %
    enrolment_rate: Rate = 0.987
    # 学校基本調査: about a third of high-school students attend a private school
    private_share: Rate = 0.34
    # 高専 (national), other prefectures' schools and 広域通信制 schools: enrolled, but not in this
    # prefecture's records (学校基本調査: 通信制 about 8 % of students, many at 広域 schools elsewhere)
    elsewhere_share: Rate = 0.05
    # 問題行動・不登校調査（令和5年度）: 高等学校 不登校 2.4 %, 中途退学率 1.5 % a year
    school_refusal_rate: Rate = 0.024
    leaving_rate_per_year: Rate = 0.015
    # 高等学校等就学支援金: the income limit (910万円) leaves about 8 in 10 students eligible (文部科学省)
    support_fund_share: Rate = 0.80


class Profile(_Strict):
    name: str
    description: str
    export_date: date
    period_months: Annotated[int, Field(ge=1, le=24)]
    municipality: Municipality
    households: Households
    dynamics: Dynamics
    economy: Economy
    needs: Needs
    support: Support
    health: Health
    schools: Schools
    noise: Noise
    high_school: HighSchool = HighSchool()


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def builtin_profiles() -> list[str]:
    folder = resources.files("tsunagu.synth") / "profiles"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _locate(name_or_path: str | Path) -> tuple[str, str]:
    """Return (path label, text) for a built-in profile name or a file path."""
    text_name = str(name_or_path)
    if isinstance(name_or_path, str) and "/" not in text_name and not text_name.endswith((".yaml", ".yml")):
        resource = resources.files("tsunagu.synth") / "profiles" / f"{text_name}.yaml"
        if not resource.is_file():
            known = ", ".join(builtin_profiles())
            raise ConfigError(text_name, None, f"プロファイルが見つかりません（組み込み: {known}）")
        return f"<builtin>/{text_name}.yaml", resource.read_text(encoding="utf-8")
    path = Path(name_or_path)
    try:
        return str(path), path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(path, None, "file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _load_raw(name_or_path: str | Path, depth: int = 0) -> tuple[dict[str, Any], str, yaml.Node | None]:
    label, text = _locate(name_or_path)
    data, node = read_yaml(label, text)
    if data is None:
        raise ConfigError(label, None, "file is empty")
    if not isinstance(data, dict):
        raise ConfigError(label, 1, "a profile must be a mapping")
    base_name = data.pop("extends", None)
    if base_name is None:
        return data, label, node
    if depth > 4:
        raise ConfigError(label, None, "extends chain is too deep")
    if not isinstance(base_name, str):
        raise ConfigError(label, None, "extends: must be a profile name or path")
    base_ref: str | Path = base_name
    if "/" in base_name or base_name.endswith((".yaml", ".yml")):
        here = Path(label).parent if not label.startswith("<builtin>") else Path(".")
        base_ref = (here / base_name).resolve()
    base, _, _ = _load_raw(base_ref, depth + 1)
    return _deep_merge(base, data), label, node


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a built-in profile by name (``default``) or any profile file by path, strictly."""
    data, label, node = _load_raw(name_or_path)
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(label, node, exc) from exc
