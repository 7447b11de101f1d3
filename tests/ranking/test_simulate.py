"""``tsunagu screen simulate``: rounds recorded through the normal review service, figures as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

pytest.importorskip("lightgbm", reason="the optional extra 'learn' (scripts/test installs it)")
pytest.importorskip("fairlearn", reason="the optional extra 'learn' (scripts/test installs it)")

from support.hubs import copy_home, hub_of
from support.municipality import SmallTown
from tsunagu.cli import app
from tsunagu.privacy.models import AuditEntry
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.work.models import Review
from tsunagu.work.ranking.models import RankingVersion, ReviewSample

KEYS = {"listed_share", "ceiling_recall", "rules_recall", "model_recall", "model_ece", "single_department_recall"}


def test_simulate_records_decisions_as_a_town_would_and_reports_the_figures(
        linked_town: Path, small_town: SmallTown, tmp_path: Path) -> None:
    home = tmp_path / "home"
    copy_home(linked_town, home)
    result = CliRunner().invoke(app, ["screen", "simulate", "--truth", str(small_town.truth), "--home", str(home),
                                      "--rounds", "1", "--sample-share", "0.05", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert set(figures) >= KEYS
    assert all(0 <= figures[k] <= 1 for k in KEYS)
    assert figures["listed_share"] <= 0.15 + 1 / figures["children"]  # the list size holds (no hard-rule overflow here)
    (round_,) = figures["rounds"]
    with hub_of(home) as hub, hub.sessions() as session:
        reviews = session.scalar(select(func.count()).select_from(Review).where(Review.kind == "review"))
        audited = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "review.write", AuditEntry.outcome == "allowed"))
        listed = session.scalar(select(func.count()).select_from(ScreeningResult).where(
            ScreeningResult.run_id == round_["run_id"], ScreeningResult.in_list))
        sampled = session.scalar(select(func.count()).select_from(ReviewSample))
        versions = session.scalars(select(RankingVersion.status)).all()
    assert reviews == round_["reviewed"] == listed + sampled and audited == reviews
    assert versions == ["shadow"]  # the simulation never approves a version


def test_simulate_refuses_a_bad_setting_without_a_traceback(linked_town: Path, small_town: SmallTown) -> None:
    result = CliRunner().invoke(app, ["screen", "simulate", "--truth", str(small_town.truth), "--home", str(linked_town),
                                      "--rounds", "1", "--miss", "1.5"])
    assert result.exit_code != 0 and "--miss" in result.output and "Traceback" not in result.output
