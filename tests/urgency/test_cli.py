"""``tsunagu urgency``: history → train → validate --json, card, escalate, and refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from support.hubs import new_home
from tsunagu.cli import app
from tsunagu.errors import ExitCode
from tsunagu.municipality import Municipality
from tsunagu.privacy import AuditEntry
from work.builders import Home

runner = CliRunner()


def test_history_train_validate_card(history_csv: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    new_home(home, Municipality("272205", "つなぐ市"))
    where = str(home)
    loaded = runner.invoke(app, ["urgency", "history", str(history_csv), "--home", where, "--json"])
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout)["loaded"] == 10000
    missing = runner.invoke(app, ["urgency", "validate", "--home", where, "--json"])
    assert missing.exit_code == ExitCode.NOT_FOUND and "運用中の推定モデルがありません" in missing.output
    trained = runner.invoke(app, ["urgency", "train", "--bootstrap", "5", "--home", where, "--json"])
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout)["in_force"] is True
    result = runner.invoke(app, ["urgency", "validate", "--home", where, "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert {"auc", "ece", "critical_recall", "held_out_cases"} <= set(metrics)
    assert metrics["critical_recall"] == 1.0 and metrics["ece"] <= 0.03 and metrics["held_out_cases"] > 1000
    card = runner.invoke(app, ["urgency", "card", "--home", where, "--json"])
    assert card.exit_code == 0 and json.loads(card.stdout)["limits"]
    bad = runner.invoke(app, ["urgency", "train", "--cutoff", "2031-13-01", "--home", where])
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output
    refused = runner.invoke(app, ["urgency", "train", "--cutoff", "2019-01-01", "--home", where])
    assert refused.exit_code == ExitCode.INPUT and "件しかありません" in refused.output and "Traceback" not in refused.output


def test_escalate_from_the_command_line(uhome: Home) -> None:
    from tsunagu.privacy import Subject
    from tsunagu.work.urgency import intake as svc

    received = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
    with uhome.factory.begin() as session:
        view = svc.record_intake(session, Subject("cw1", "centre_caseworker", "family_centre"), svc.IntakeForm(
            received_at=received, reporter_kind="警察", concern="面前DV", grades={}, person_id="P0001"),
            cipher=uhome.cipher, hours=48)
    where = str(uhome.settings.home)
    early = runner.invoke(app, ["urgency", "escalate", "--now", (received + timedelta(hours=1)).isoformat(),
                                "--home", where, "--json"])
    assert early.exit_code == 0 and json.loads(early.stdout) == {"escalated": []}
    late = runner.invoke(app, ["urgency", "escalate", "--now", (received + timedelta(hours=49)).isoformat(),
                               "--home", where, "--json"])
    assert json.loads(late.stdout) == {"escalated": [view.id]}
    with uhome.factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "urgency.manage")) == 2
    refused = runner.invoke(app, ["urgency", "escalate", "--as-role", "privacy_officer", "--home", where])
    assert refused.exit_code == ExitCode.REFUSED and "拒否" in refused.output
