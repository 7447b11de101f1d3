"""Creating and opening a municipality's home (its config, vaults and hub store)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select

from tsunagu.config import CONFIG_FILE, Settings, load_settings, read_home_file
from tsunagu.errors import ConfigurationError
from tsunagu.hub import Hub
from tsunagu.municipality import Municipality
from tsunagu.store.db import current_revision, migrate
from tsunagu.store.files import private_folder
from tsunagu.store.models import MunicipalityRow


class HomeConflictError(ConfigurationError, ValueError):
    """The home already belongs to another municipality."""

    code = "home_conflict"
    status = 409


@dataclass(frozen=True)
class InitResult:
    home: Path
    created: bool
    municipality_code: str
    municipality_name: str
    hub_url: str
    hub_revision: str | None


def _record_municipality(settings: Settings, municipality: Municipality) -> None:
    with Hub(settings) as hub, hub.sessions.begin() as session:
        row = session.scalars(select(MunicipalityRow)).first()
        if row is None:
            session.add(MunicipalityRow(code=municipality.code, name=municipality.name))
        elif row.code != municipality.code:
            raise HomeConflictError(
                f"ハブの保存先は既に {row.name}（{row.code}）のものです / "
                f"the hub store already belongs to {row.code}"
            )


def init_home(home: Path, municipality: Municipality, *, database_url: str | None = None) -> InitResult:
    """Create a home, or confirm an existing one for the same municipality (no change).

    ``database_url`` puts the hub store (and on PostgreSQL the vaults) there and is written to the
    home's file; ``TSUNAGU_DATABASE_URL`` still wins over it, as over anything in the file.
    """
    config = home / CONFIG_FILE
    if config.is_file():
        existing = read_home_file(config)
        if existing.municipality_code != municipality.code or existing.municipality_name != municipality.name:
            raise HomeConflictError(
                f"{home} は既に {existing.municipality_name}（{existing.municipality_code}）のホームです。"
                f"別の自治体には別のフォルダを使ってください / {home} already belongs to "
                f"{existing.municipality_code}"
            )
        settings = load_settings(home)
        return InitResult(
            home, False, municipality.code, municipality.name, settings.hub_url,
            current_revision(settings.hub_url),
        )
    private_folder(home)
    private_folder(home / "vaults")
    settings = load_settings(home)
    if database_url is not None and settings.database_url is None:
        settings.database_url = database_url
    migrate(settings.hub_url)
    _record_municipality(settings, municipality)
    # Written last: a home counts as initialised only once its hub store is ready.
    body = {"municipality_name": municipality.name, "municipality_code": municipality.code}
    if database_url is not None:
        body["database_url"] = database_url
    config.write_text(
        "# tsunagu 自治体ホーム設定 — keys: municipality_name, municipality_code, database_url, rules_dir, note_key\n"
        + yaml.safe_dump(body, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return InitResult(home, True, municipality.code, municipality.name, settings.hub_url,
                      current_revision(settings.hub_url))
