"""The audit chain's anchor outside the hub database (issue 18, finding 3)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import typer
from sqlalchemy import select, text
from typer.testing import CliRunner

from support.hubs import hub_of
from tsunagu.commands import audit as audit_cmd
from tsunagu.home import init_home
from tsunagu.municipality import Municipality
from tsunagu.privacy import AuditEntry, ChainBrokenError, Subject, authorise, checkpoint, load_or_create_signing_key
from tsunagu.privacy.anchor import ANCHOR_PATH
from tsunagu.privacy.chain import GENESIS_HASH, entry_hash

runner = CliRunner()
CENTRE = Subject("c-1", "centre_caseworker", "family_centre")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TSUNAGU_DATABASE_URL", raising=False)
    folder = tmp_path / "home"
    init_home(folder, Municipality(code="272205", name="箕面市"))
    _reads(folder, ("P1", "P2", "P1"))
    return folder


def _reads(home: Path, persons: tuple[str, ...]) -> None:
    with hub_of(home) as hub, hub.sessions.begin() as session:
        for person in persons:
            authorise(session, CENTRE, "child.view", "assessment", person_id=person, relationship="municipality")


def _run(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    audit_cmd.register(app)
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


def _rewrite_everything(home: Path) -> None:
    """What someone with the database file can do: triggers out, checkpoints gone, an entry changed,
    every hash after it recomputed so that the chain inside the database verifies again."""
    with hub_of(home) as hub:
        with hub.engine.begin() as conn:
            for trigger in ("audit_entries_no_update", "audit_entries_no_delete",
                            "audit_checkpoints_no_update", "audit_checkpoints_no_delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
            conn.execute(text("DELETE FROM audit_checkpoints"))
            conn.execute(text("UPDATE audit_entries SET person_id = 'P9' WHERE seq = 2"))
        with hub.sessions.begin() as session:
            prev = GENESIS_HASH
            for row in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
                row.prev_hash = prev
                row.entry_hash = entry_hash(row)
                prev = row.entry_hash
                session.flush()


def test_a_checkpoint_is_anchored_in_an_append_only_file_outside_the_database(home: Path) -> None:
    code, out = _run("audit", "checkpoint", "--home", str(home), "--json")
    assert code == 0, out
    path = home / ANCHOR_PATH
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["upto_seq"] == json.loads(out)["upto_seq"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    code, out = _run("audit", "verify", "--home", str(home), "--json")
    assert code == 0 and json.loads(out)["anchors_checked"] == 1, out


def test_a_database_rewritten_with_its_checkpoints_fails_against_the_anchor(home: Path) -> None:
    assert _run("audit", "checkpoint", "--home", str(home))[0] == 0
    _reads(home, ("P3",))
    _rewrite_everything(home)
    code, out = _run("audit", "verify", "--home", str(home), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["problem"]["kind"] == "anchor" and "書き換え" in report["problem"]["message"]
    # and nothing signs over the forgery: neither the command nor the automatic path
    code, out = _run("audit", "checkpoint", "--home", str(home))
    assert code == 1 and "外部アンカー" in out
    with hub_of(home) as hub, hub.sessions.begin() as session, pytest.raises(ChainBrokenError):
        checkpoint(session, load_or_create_signing_key(home))
    assert len((home / ANCHOR_PATH).read_text("utf-8").splitlines()) == 1


def test_a_rolled_back_checkpoint_is_not_anchored(home: Path) -> None:
    with hub_of(home) as hub:
        session = hub.sessions()
        checkpoint(session, load_or_create_signing_key(home))
        session.rollback()
        session.close()
    assert not (home / ANCHOR_PATH).exists()
    code, out = _run("audit", "verify", "--home", str(home), "--json")
    assert code == 0 and json.loads(out)["anchors_checked"] == 0
