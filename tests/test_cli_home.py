import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tsunagu.cli import app
from tsunagu.errors import ExitCode
from tsunagu.store.db import create_hub_engine

runner = CliRunner()


def _init(home: Path, code: str = "272205", name: str = "箕面市", *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["init", "--home", str(home), "--name", name, "--code", code, *extra])
    return result.exit_code, result.output


def test_init_creates_a_home_and_rerun_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSUNAGU_DATABASE_URL", raising=False)
    home = tmp_path / "minoh"
    code, out = _init(home, "272205", "箕面市", "--json")
    assert code == 0, out
    created = json.loads(out)
    assert created["created"] is True
    assert (home / "tsunagu.yaml").is_file() and (home / "hub.sqlite3").is_file()
    before = {p: p.stat().st_mtime_ns for p in home.rglob("tsunagu.yaml")}
    code, out = _init(home)
    assert code == 0
    assert "何も変更していません" in out
    assert before == {p: p.stat().st_mtime_ns for p in home.rglob("tsunagu.yaml")}


def test_init_refuses_a_wrong_check_digit(tmp_path: Path) -> None:
    code, out = _init(tmp_path / "h", "272206")
    assert code == ExitCode.INPUT
    assert "6桁目" in out and "5" in out
    assert not (tmp_path / "h").exists()


def test_init_refuses_another_municipality_in_the_same_home(tmp_path: Path) -> None:
    assert _init(tmp_path / "h")[0] == 0
    code, out = _init(tmp_path / "h", "130001", "東京都")
    assert code == ExitCode.CONFIG
    assert "箕面市" in out


@pytest.mark.postgres
def test_init_on_postgres(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", pg_url)
    code, out = _init(tmp_path / "pg", "272205", "箕面市", "--json")
    assert code == 0, out
    assert json.loads(out)["hub_url"] == pg_url
    engine = create_hub_engine(pg_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select code, name from municipality").all() == [("272205", "箕面市")]
    engine.dispose()


def test_catalog_list_json_has_every_field() -> None:
    result = runner.invoke(app, ["catalog", "list", "--json"])
    assert result.exit_code == 0
    items = json.loads(result.output)["items"]
    assert len(items) >= 40
    for item in items:
        for key in ("id", "label", "domain", "tier", "department", "value_type", "sensitivity",
                    "legal_basis", "retention_years", "department_name"):
            assert key in item, (item["id"], key)


def test_catalog_show_and_unknown_item() -> None:
    shown = runner.invoke(app, ["catalog", "show", "abuse_consultation", "--json"])
    assert shown.exit_code == 0
    assert json.loads(shown.output)["sensitivity"] == 3
    missing = runner.invoke(app, ["catalog", "show", "no_such_item"])
    assert missing.exit_code == 1
    assert "no_such_item" in missing.output


def test_rules_test_runs_baseline_and_municipal_scenarios_each_against_its_own_rule_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A home of 箕面市 (which has its own rule changes) once failed on the baseline's scenarios.
    monkeypatch.delenv("TSUNAGU_DATABASE_URL", raising=False)
    home = tmp_path / "minoh"
    assert _init(home)[0] == 0
    rules = Path(__file__).resolve().parents[1] / "rules"
    for target in (rules / "baseline" / "scenarios", rules / "municipalities" / "272205" / "scenarios"):
        result = runner.invoke(app, ["rules", "test", str(target), "--home", str(home), "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["failed"] == 0 and report["passed"] >= 1
