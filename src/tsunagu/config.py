"""Settings: one object built from the home's config file and the environment.

A *home* is the folder of one municipality's deployment: its config file (``tsunagu.yaml``), the
department vaults and the embedded hub database. The environment (``TSUNAGU_*``) overrides the
file, so an operator can point a home at PostgreSQL without editing it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tsunagu.municipality import validate_code
from tsunagu.yamlstrict import ConfigError, line_of, read_yaml, validation_error

CONFIG_FILE = "tsunagu.yaml"
ENV_PREFIX = "TSUNAGU_"
DEFAULT_HOME = Path("tsunagu-home")


class HomeFile(BaseModel):
    """What a home's ``tsunagu.yaml`` may contain (everything else is an error)."""

    model_config = ConfigDict(extra="forbid")

    municipality_name: str = Field(min_length=1)
    municipality_code: str
    database_url: str | None = None
    rules_dir: Path | None = None
    note_key: str | None = None
    # The reverse proxies whose X-Forwarded-For the staff app believes (addresses or networks,
    # comma-separated); empty: the connecting address is the client's.
    trusted_proxies: str = ""
    # Published statistics suppress every count from fewer children than this (a municipal setting).
    statistics_k: int = Field(default=10, ge=2, le=1000)
    # How long a family portal enrolment code (sent by letter) stays valid, in days.
    family_code_days: int = Field(default=30, ge=1, le=365)

    @field_validator("municipality_code")
    @classmethod
    def _code(cls, value: str) -> str:
        return validate_code(value)


class Settings(BaseModel):
    """Resolved settings for one command run."""

    # validate_default as pydantic-settings did: a default is checked like a given value.
    model_config = ConfigDict(extra="ignore", validate_default=True)

    home: Path = DEFAULT_HOME
    database_url: str | None = None
    municipality_name: str | None = None
    municipality_code: str | None = None
    rules_dir: Path | None = None
    note_key: str | None = None
    trusted_proxies: str = ""
    statistics_k: int = Field(default=10, ge=2, le=1000)
    family_code_days: int = Field(default=30, ge=1, le=365)

    @model_validator(mode="before")
    @classmethod
    def _environment(cls, values: Any) -> Any:
        """The environment (``TSUNAGU_<FIELD>``, in any case) wins over the values given (the home
        file's): operators override. Read here rather than through pydantic-settings, whose import
        (its secret-manager sources, asyncio) cost 0.15 CPU-seconds on every command."""
        if not isinstance(values, dict):
            return values
        found = {key.upper(): value for key, value in os.environ.items() if key.upper().startswith(ENV_PREFIX)}
        given = {name: found[ENV_PREFIX + name.upper()] for name in cls.model_fields if ENV_PREFIX + name.upper() in found}
        return {**values, **given}

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def vault_dir(self) -> Path:
        return self.home / "vaults"

    @property
    def hub_url(self) -> str:
        """The hub store: PostgreSQL when configured, else a SQLite file in the home."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'hub.sqlite3').resolve()}"

    @property
    def uses_postgres(self) -> bool:
        return self.hub_url.startswith("postgresql")

    @property
    def is_initialised(self) -> bool:
        return self.config_path.is_file()

    @property
    def rules_path(self) -> Path:
        """The rule sets: ``rules_dir`` (file or TSUNAGU_RULES_DIR), else the ``rules/`` of this checkout."""
        if self.rules_dir is not None:
            return self.rules_dir if self.rules_dir.is_absolute() else self.home / self.rules_dir
        return Path(__file__).resolve().parents[2] / "rules"


def valid_keys() -> list[str]:
    return sorted(HomeFile.model_fields)


def read_home_file(path: Path) -> HomeFile:
    """Load a home's config file strictly; unknown keys list the valid ones."""
    data, node = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, line_of(node, ()), "設定ファイルはキーと値の対応表である必要があります / must be a mapping")
    unknown = [key for key in data if key not in HomeFile.model_fields]
    if unknown:
        raise ConfigError(
            path,
            line_of(node, (unknown[0],)),
            f"unknown key {unknown[0]!r}; valid keys: {', '.join(valid_keys())}",
        )
    try:
        return HomeFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, node, exc) from exc


def resolve_home(home: Path | None) -> Path:
    if home is not None:
        return home
    env = os.environ.get("TSUNAGU_HOME")
    return Path(env) if env else DEFAULT_HOME


def load_settings(home: Path | None = None) -> Settings:
    """Settings for ``home`` (or ``TSUNAGU_HOME``, or ``./tsunagu-home``)."""
    folder = resolve_home(home)
    values: dict[str, Any] = {}
    config = folder / CONFIG_FILE
    if config.is_file():
        values = read_home_file(config).model_dump(exclude_none=True)
    values["home"] = folder
    settings = Settings(**values)
    # The home given on the command line wins over TSUNAGU_HOME.
    settings.home = folder
    return settings
