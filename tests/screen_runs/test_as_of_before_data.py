"""`tsunagu screen --as-of` a date before any export refuses, naming the earliest export date."""

from __future__ import annotations

from typer.testing import CliRunner

from tsunagu.cli import app
from tsunagu.errors import ExitCode
from work.builders import Home

runner = CliRunner()


def test_a_base_date_before_the_earliest_export_is_refused(home: Home) -> None:
    where = str(home.settings.home)
    result = runner.invoke(app, ["screen", "--as-of", "2026-10-30", "--home", where])
    assert result.exit_code == ExitCode.INPUT
    assert "2026-10-31" in result.output and "より前" in result.output
    assert "Traceback" not in result.output


def test_the_earliest_export_date_itself_is_allowed(home: Home) -> None:
    result = runner.invoke(app, ["screen", "--as-of", "2026-10-31", "--home", str(home.settings.home), "--json"])
    assert result.exit_code == 0, result.output
