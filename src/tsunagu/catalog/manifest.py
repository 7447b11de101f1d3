"""Source manifests: how one department export maps to data items and identifiers.

A manifest is the contract between a department's export and tsunagu. It is loaded strictly and
checked against the data-item catalogue, so a municipality copying the worked examples gets an
error with file and line for every mistake rather than a silently wrong load.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tsunagu.catalog import Catalog, default_catalog
from tsunagu.yamlstrict import ConfigError, line_of, read_yaml, validation_error

# The identifier fields a manifest may map a column to, and what each is: a "code" is kept as written
# (width-folded) under its own name; the others are read into the vault's identity fields and keys.
IDENTIFIER_KINDS: dict[str, Literal["code", "id", "name", "reading", "date", "sex", "address", "postal_code",
                                     "place"]] = {
    "aza_number": "code",  # 宛名番号
    "household_number": "code",  # 世帯番号
    "local_id": "id",  # the source's own record id (児童生徒番号, ケース番号 …)
    "full_name": "name",  # family and given name in one cell
    "family_name": "name",
    "given_name": "name",
    "full_reading": "reading",
    "family_reading": "reading",
    "given_reading": "reading",
    "birth_date": "date",
    "sex": "sex",
    "address": "address",
    "postal_code": "postal_code",
    "guardian_name": "name",
    "guardian_reading": "reading",
    "guardian_aza_number": "code",
    "school_code": "code",
    "previous_address": "address",
    "previous_name": "name",
    "locality": "place",  # suburb, town or 町名 as written (generic profile)
    "region": "place",  # state, province or prefecture (generic profile)
}
IDENTIFIER_FIELDS = tuple(IDENTIFIER_KINDS)
CODE_IDENTIFIERS = tuple(field for field, kind in IDENTIFIER_KINDS.items() if kind == "code")

# Identifier fields a source's records may be partitioned by (linkage.within).
PARTITION_FIELDS = ("school_code", "household_number", "postal_code", "locality", "region")

# How identity text is normalised: "jp" for Japanese exports (kanji and kana names, 7-digit postal
# codes, Japanese addresses); "generic" for others (Latin names and street addresses, any postcode).
Profile = Literal["jp", "generic"]

DateStyle = Literal["auto", "wareki", "iso", "ymd_slash", "compact", "year_month", "fiscal_year"]
ObservedOn = Literal["export_date"] | str

_CADENCE_DAYS = {"daily": 3, "weekly": 10, "monthly": 45, "quarterly": 120, "yearly": 400}


def _default_sex_values() -> dict[str, Literal["M", "F"]]:
    return {"男": "M", "女": "F"}


class LegalUse(BaseModel):
    """The recorded ground for using the source beyond its original purpose (APPI art. 69(2))."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    law: str = Field(min_length=1)
    article: str = Field(min_length=1)
    clause: str = Field(min_length=1)
    item: str = ""
    reason: str = Field(min_length=10, description="相当の理由 — why this use is objectively reasonable")

    def __str__(self) -> str:
        item = f"第{self.item}号" if self.item else ""
        return f"{self.law} 第{self.article}条第{self.clause}項{item}"


class SnapshotGuard(BaseModel):
    """When a new export is held instead of replacing the source's current snapshot (see ingest.load).

    A host system that exports an empty file, a header only, the wrong encoding or a half-finished
    extract would otherwise replace the current records, and every link through them would be lost
    at the next linkage run. A real register loses a few percent a month, never half.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_drop: float = Field(default=0.5, ge=0.0, le=1.0,
                            description="share of the current records a new export may drop before it is held")
    allow_empty: bool = Field(default=False, description="an export with no loadable row is normal for this source")


class ItemMapping(BaseModel):
    """One column (optionally under a condition) feeding one data item."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str
    column: str
    values: dict[str, bool | int | float | str] | None = None
    when: dict[str, str | list[str]] | None = None
    observed_on: ObservedOn = "export_date"
    observed_style: DateStyle | None = None
    date_style: DateStyle | None = None
    blank_means: bool | int | float | str | None = None
    present_means: bool | int | float | str | None = None

    @model_validator(mode="after")
    def _one_meaning(self) -> ItemMapping:
        if self.present_means is not None and self.values:
            raise ValueError("present_means and values exclude each other")
        return self


class Linkage(BaseModel):
    """A source's role in linkage, declared rather than guessed from its name.

    ``role: register`` marks the resident register (the spine every other record is linked to; one
    source at most, keyed by 宛名番号). ``one_per_person`` says the source holds at most one record per
    person, ``within`` an identifier field (a school roster: one record per child per school).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["register", "records"] = "records"
    one_per_person: bool = True
    within: str | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    department: str
    label: str = Field(min_length=1)
    files: str = Field(min_length=1, description="glob matched against the file name")
    # The export date is the last 8-digit run before the extension (school codes also hold digits).
    export_date_pattern: str = r"(\d{8})\.[A-Za-z]+$"
    format: Literal["csv", "xlsx"]
    encoding: Literal["cp932", "utf-8", "auto"] = "auto"
    header_row: Annotated[int, Field(ge=1)] = 1
    date_style: DateStyle = "auto"
    subject: Literal["person", "household"] = "person"
    identity_of: str | None = Field(
        default=None, description="for rows keyed only by local_id: the source whose rows carry the identity"
    )
    local_id: list[str] = Field(min_length=1)
    identifiers: dict[str, str] = Field(default_factory=dict)
    sex_values: dict[str, Literal["M", "F"]] = Field(default_factory=_default_sex_values)
    items: list[ItemMapping] = Field(default_factory=list)
    allowed_values: dict[str, list[str]] = Field(
        default_factory=dict, description="columns checked against a list of values even when no item reads them"
    )
    legal_use: LegalUse
    retention_years: Annotated[int, Field(ge=1, le=100)]
    refresh: Literal["daily", "weekly", "monthly", "quarterly", "yearly"]
    consent: Literal["none", "required"] = "none"
    release: dict[str, list[str]] = Field(default_factory=dict)
    linkage: Linkage = Field(default_factory=Linkage)
    profile: Profile = "jp"
    snapshot_guard: SnapshotGuard = Field(default_factory=SnapshotGuard)
    # Excel serial dates written into a CSV carry no trace of their workbook's date system; an
    # xlsx file says its own, and this setting is not used for it.
    excel_date_system: Literal[1900, 1904] = 1900
    # Identifier fields whose unreadable value is loaded as missing and flagged instead of
    # quarantining the row: the record keeps its names and still links (a mistyped birth date in
    # another country's export). Only fields that never key a record may be listed.
    lenient_identifiers: list[Literal["birth_date", "sex", "postal_code"]] = Field(default_factory=list)

    @field_validator("export_date_pattern")
    @classmethod
    def _one_group(cls, value: str) -> str:
        if re.compile(value).groups != 1:
            raise ValueError("export_date_pattern needs exactly one group (the date as YYYYMMDD)")
        return value

    @model_validator(mode="after")
    def _identity(self) -> Manifest:
        if self.identity_of is None and not self.identifiers:
            raise ValueError("a source needs identifiers, or identity_of naming the source that carries them")
        return self

    @property
    def stale_after_days(self) -> int:
        """How old the latest export may be before its data is marked stale."""
        return _CADENCE_DAYS[self.refresh]

    def matches(self, file_name: str) -> bool:
        return fnmatch.fnmatch(file_name, self.files)

    def export_date_of(self, file_name: str) -> date | None:
        found = re.search(self.export_date_pattern, file_name)
        if not found:
            return None
        text = found.group(1)
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            return None

    def required_columns(self) -> list[str]:
        columns: list[str] = [*self.local_id, *self.identifiers.values()]
        columns.extend(self.allowed_values)
        for mapping in self.items:
            columns.append(mapping.column)
            columns.extend(mapping.when or {})
            if mapping.observed_on != "export_date":
                columns.append(mapping.observed_on)
        return list(dict.fromkeys(columns))

    def released_items(self, purpose: str) -> frozenset[str]:
        return frozenset(self.release.get(purpose, ()))

    @property
    def item_ids(self) -> frozenset[str]:
        return frozenset(m.item for m in self.items)


def _check_against_catalog(manifest: Manifest, path: Path, node: object, catalog: Catalog) -> None:
    import yaml

    tree = node if isinstance(node, yaml.Node) else None
    for key in manifest.identifiers:
        if key not in IDENTIFIER_FIELDS:
            raise ConfigError(
                path,
                line_of(tree, ("identifiers", key)),
                f"unknown identifier field {key!r}; valid: {', '.join(IDENTIFIER_FIELDS)}",
            )
    _check_linkage(manifest, path, tree)
    for i, name in enumerate(manifest.lenient_identifiers):
        if name not in manifest.identifiers:
            raise ConfigError(path, line_of(tree, ("lenient_identifiers", i)),
                              f"lenient_identifiers: {name!r} is not an identifier of this source")
    for key in manifest.release:
        if key not in (*catalog.purposes, "identifiers"):
            raise ConfigError(
                path,
                line_of(tree, ("release", key)),
                f"unknown purpose {key!r}; valid: identifiers, {', '.join(catalog.purposes)}",
            )
    if manifest.department not in catalog.departments:
        raise ConfigError(path, line_of(tree, ("department",)), f"unknown department {manifest.department!r}")
    for i, mapping in enumerate(manifest.items):
        where = line_of(tree, ("items", i, "item"))
        item = catalog.items.get(mapping.item)
        if item is None:
            raise ConfigError(path, where, f"unknown data item {mapping.item!r}")
        if item.department != manifest.department:
            raise ConfigError(
                path,
                where,
                f"item {mapping.item!r} is held by {item.department!r}, not by {manifest.department!r}",
            )
        if item.value_type == "code" and mapping.values and item.codes:
            bad = [v for v in mapping.values.values() if v not in item.codes]
            if bad:
                raise ConfigError(path, where, f"value {bad[0]!r} is not a code of {item.id!r}: {list(item.codes)}")
    for purpose, items in manifest.release.items():
        for j, item_id in enumerate(items):
            if purpose != "identifiers" and item_id not in manifest.item_ids:
                raise ConfigError(
                    path,
                    line_of(tree, ("release", purpose, j)),
                    f"release.{purpose}: {item_id!r} is not an item of this source",
                )


def _check_linkage(manifest: Manifest, path: Path, tree: Any) -> None:
    linkage = manifest.linkage
    if linkage.role == "register":
        if "aza_number" not in manifest.identifiers:
            raise ConfigError(path, line_of(tree, ("linkage", "role")),
                              "linkage.role: register needs the aza_number (宛名番号) identifier")
        if manifest.identity_of is not None:
            raise ConfigError(path, line_of(tree, ("linkage", "role")), "linkage.role: register cannot take identity_of")
    if linkage.within is not None and linkage.within not in PARTITION_FIELDS:
        raise ConfigError(path, line_of(tree, ("linkage", "within")),
                          f"linkage.within: {linkage.within!r} cannot partition records; valid: {', '.join(PARTITION_FIELDS)}")
    if linkage.within is not None and linkage.within not in manifest.identifiers:
        raise ConfigError(path, line_of(tree, ("linkage", "within")),
                          f"linkage.within: {linkage.within!r} is not an identifier of this source"
                          f" ({', '.join(manifest.identifiers)})")
    if linkage.within is not None and not linkage.one_per_person:
        raise ConfigError(path, line_of(tree, ("linkage", "within")), "linkage.within needs one_per_person: true")


def load_manifest(path: Path, catalog: Catalog | None = None) -> Manifest:
    data, node = read_yaml(path)
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, node, exc) from exc
    _check_against_catalog(manifest, path, node, catalog or default_catalog())
    return manifest


@dataclass(frozen=True)
class ManifestProblem:
    """A manifest that could not be loaded: its file, the error, and its file glob if it could be read.

    The error is the loader's ``ConfigError`` (a ``ConfigurationError``: the operator fixes the manifest).
    """

    path: Path
    error: ConfigError
    files: str | None

    @property
    def message(self) -> str:
        return str(self.error)

    def matches(self, file_name: str) -> bool:
        return self.files is not None and fnmatch.fnmatch(file_name, self.files)


@dataclass(frozen=True)
class ManifestSet:
    manifests: dict[str, Manifest]
    problems: tuple[ManifestProblem, ...] = ()

    def for_file(self, file_name: str) -> Manifest | None:
        for manifest in self.manifests.values():
            if manifest.matches(file_name):
                return manifest
        return None

    def problem_for(self, file_name: str) -> ManifestProblem | None:
        """The broken manifest that would have taken this file, when its ``files`` glob could be read."""
        return next((p for p in self.problems if p.matches(file_name)), None)

    def of_department(self, department: str) -> list[Manifest]:
        return [m for m in self.manifests.values() if m.department == department]

    def register(self) -> Manifest | None:
        """The resident register (``linkage.role: register``), whatever its source is called."""
        found = [m for m in self.manifests.values() if m.linkage.role == "register"]
        return found[0] if found else None

    def get(self, source: str) -> Manifest:
        try:
            return self.manifests[source]
        except KeyError:
            raise KeyError(f"unknown source {source!r}") from None


def _files_glob(path: Path) -> str | None:
    """The ``files`` entry of a manifest that failed validation, read leniently (None if unreadable)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, str) and files else None


def load_manifests(folder: Path, catalog: Catalog | None = None, *, tolerant: bool = False) -> ManifestSet:
    """Every manifest of a folder. ``tolerant``: a broken manifest becomes a problem of its own
    source (its files are refused with its error) instead of stopping every source."""
    manifests: dict[str, Manifest] = {}
    problems: list[ManifestProblem] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            manifest = load_manifest(path, catalog)
            if manifest.source in manifests:
                raise ConfigError(path, None, f"duplicate source id {manifest.source!r}")
            registers = [m.source for m in manifests.values() if m.linkage.role == "register"]
            if manifest.linkage.role == "register" and registers:
                raise ConfigError(path, line_of(read_yaml(path)[1], ("linkage", "role")),
                                  f"a second register: {registers[0]!r} already has linkage.role: register")
        except ConfigError as exc:
            if not tolerant:
                raise
            problems.append(ManifestProblem(path, exc, _files_glob(path)))
            continue
        manifests[manifest.source] = manifest
    for manifest in list(manifests.values()):
        if manifest.identity_of is not None and manifest.identity_of not in manifests:
            error = ConfigError(
                folder, None, f"{manifest.source}: identity_of names unknown source {manifest.identity_of!r}"
            )
            if not tolerant:
                raise error
            del manifests[manifest.source]
            problems.append(ManifestProblem(folder / f"{manifest.source}.yaml", error, manifest.files))
    return ManifestSet(manifests, tuple(problems))


def packaged_manifest_dir() -> Path:
    return Path(str(resources.files("tsunagu.catalog") / "manifests"))


def manifests_for_home(home: Path, *, tolerant: bool = False) -> ManifestSet:
    """A home's own manifests (``home/manifests``) if it has them, else the packaged examples."""
    own = home / "manifests"
    if own.is_dir() and any(own.glob("*.yaml")):
        return load_manifests(own, tolerant=tolerant)
    return packaged_manifests()


@lru_cache(maxsize=1)
def packaged_manifests() -> ManifestSet:
    return load_manifests(packaged_manifest_dir())
