from pathlib import Path

import pytest

from tsunagu.config import load_settings
from tsunagu.yamlstrict import ConfigError


def test_defaults_to_embedded_sqlite_in_the_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSUNAGU_DATABASE_URL", raising=False)
    settings = load_settings(tmp_path / "home")
    assert settings.hub_url.startswith("sqlite:///")
    assert settings.hub_url.endswith("home/hub.sqlite3")
    assert not settings.uses_postgres


def test_environment_switches_the_hub_to_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/db")
    settings = load_settings(tmp_path)
    assert settings.uses_postgres
    assert settings.hub_url == "postgresql+psycopg://u@127.0.0.1/db"


def test_home_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_HOME", str(tmp_path / "envhome"))
    assert load_settings().home == tmp_path / "envhome"
    # --home wins over the environment
    assert load_settings(tmp_path / "cli").home == tmp_path / "cli"


def test_unknown_config_key_lists_valid_keys(tmp_path: Path) -> None:
    (tmp_path / "tsunagu.yaml").write_text(
        "municipality_name: 箕面市\nmunicipality_code: '272205'\ndatabse_url: x\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    message = str(info.value)
    assert info.value.line == 3
    assert "databse_url" in message
    assert "database_url" in message and "municipality_code" in message


def test_config_file_with_bad_code_is_refused(tmp_path: Path) -> None:
    (tmp_path / "tsunagu.yaml").write_text(
        "municipality_name: 箕面市\nmunicipality_code: '272206'\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="検査数字") as info:
        load_settings(tmp_path)
    assert info.value.line == 2
