"""``tsunagu audit …`` and ``tsunagu keys …``: every command is decided and recorded."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import select, text
from typer.testing import CliRunner

from support.hubs import hub_of
from tsunagu.commands import audit as audit_cmd
from tsunagu.commands import keys as keys_cmd
from tsunagu.errors import ExitCode
from tsunagu.home import init_home
from tsunagu.municipality import Municipality
from tsunagu.privacy import AuditEntry, Subject, authorise, break_glass

runner = CliRunner()
REASON = "夜間に警察から本児の安全確認の依頼があり、担当者不在のため記録を確認する"


def _app() -> typer.Typer:
    app = typer.Typer()
    audit_cmd.register(app)
    keys_cmd.register(app)
    return app


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TSUNAGU_DATABASE_URL", raising=False)
    monkeypatch.delenv("TSUNAGU_NOTE_KEY", raising=False)
    folder = tmp_path / "home"
    init_home(folder, Municipality(code="272205", name="箕面市"))
    with hub_of(folder) as hub, hub.sessions.begin() as session:
        centre = Subject("c-1", "centre_caseworker", "family_centre")
        for person in ("P1", "P2", "P1"):
            authorise(session, centre, "child.view", "assessment", person_id=person, relationship="municipality")
        break_glass(session, Subject("s-1", "school_social_worker", "school-9"), "child.view", "assessment", "P1",
                    REASON, relationship="municipality")
    return folder


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(_app(), list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


def _entries(home: Path) -> list[AuditEntry]:
    with hub_of(home) as hub, hub.sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def test_verify_passes_then_reports_where_the_chain_is_broken(home: Path) -> None:
    code, out = _run("audit", "verify", "--home", str(home))
    assert code == 0, out
    assert "正常" in out
    assert _entries(home)[-1].action == "audit.verify" and _entries(home)[-1].actor == getpass.getuser()
    with hub_of(home) as hub, hub.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_entries_no_update"))
        conn.execute(text("UPDATE audit_entries SET person_id = 'P3' WHERE seq = 2"))
    code, out = _run("audit", "verify", "--home", str(home))
    assert code == 1
    assert "seq 2" in out and "変更" in out
    code, out = _run("audit", "verify", "--home", str(home), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False and report["problem"]["seq"] == 2 and report["problem"]["kind"] == "changed"


def test_log_and_history_are_themselves_recorded(home: Path) -> None:
    code, out = _run("audit", "log", "--home", str(home), "--person", "P1", "--json")
    assert code == 0, out
    rows = json.loads(out)
    assert [r["action"] for r in rows] == ["child.view", "child.view", "break_glass.open"]
    last = _entries(home)[-1]
    assert (last.action, last.person_id, last.role, last.purpose) == ("audit.read", "P1", "privacy_officer", "administration")

    code, out = _run("audit", "history", "P1", "--home", str(home), "--json")
    assert code == 0, out
    history = json.loads(out)
    labels = [(r["role_label"], r["action_label"], r["break_glass"]) for r in history["records"]]
    assert labels[:3] == [
        ("こども家庭センター職員", "子どもの概要の閲覧", False),
        ("こども家庭センター職員", "子どもの概要の閲覧", False),
        ("スクールソーシャルワーカー", "緊急閲覧（ブレークグラス）の開始", True),
    ]
    assert labels[3][1] == "アクセス記録の閲覧"  # the officer's own reading of P1's log is disclosed too
    assert "actor" not in history["records"][0]
    code, out = _run("audit", "history", "P1", "--home", str(home))
    assert code == 0 and "こども家庭センター職員" in out

    code, out = _run("audit", "log", "--home", str(home), "--since", "2000-01-01", "--actor", "c-1")
    assert code == 0 and "センター" in out
    code, out = _run("audit", "log", "--home", str(home), "--since", "昨日")
    assert code == 1 and "YYYY-MM-DD" in out


def test_a_refused_command_is_recorded_and_reported(home: Path) -> None:
    code, out = _run("audit", "history", "P1", "--home", str(home), "--as-role", "administrator")
    assert code == ExitCode.REFUSED and "deny.purpose" in out
    last = _entries(home)[-1]
    assert (last.action, last.outcome, last.person_id) == ("audit.read", "denied", "P1")
    code, out = _run("audit", "log", "--home", str(home), "--as-role", "teacher")
    assert code == 1 and "privacy_officer / administrator" in out


def test_notifications_show_break_glass_and_can_be_marked_read(home: Path) -> None:
    code, out = _run("audit", "notifications", "--home", str(home), "--json", "--mark-read")
    assert code == 0, out
    notes = json.loads(out)
    assert [(n["kind"], n["person_id"]) for n in notes] == [("break_glass", "P1")]
    code, out = _run("audit", "notifications", "--home", str(home), "--json")
    assert json.loads(out) == []
    code, out = _run("audit", "notifications", "--home", str(home), "--as-role", "administrator")
    assert code == ExitCode.REFUSED


def test_checkpoint_then_verify_with_the_public_key(home: Path) -> None:
    code, out = _run("audit", "checkpoint", "--home", str(home), "--json")
    assert code == 0, out
    cp = json.loads(out)
    code, out = _run("audit", "verify", "--home", str(home), "--public-key", cp["public_key"], "--json")
    assert code == 0 and json.loads(out)["checkpoints_checked"] == 1
    code, out = _run("audit", "verify", "--home", str(home), "--public-key", "00" * 32)
    assert code == 1 and "別の鍵" in out
    code, out = _run("audit", "verify", "--home", str(home), "--public-key", "xyz")
    assert code == 1 and "16進数" in out


def test_keys_rotate_and_list(home: Path) -> None:
    code, out = _run("keys", "list", "--home", str(home), "--json")
    assert code == 0, out
    before = json.loads(out)
    code, out = _run("keys", "rotate", "--home", str(home), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["old_key_id"] == before["current_note_key"] and report["new_key_id"] != report["old_key_id"]
    code, out = _run("keys", "list", "--home", str(home))
    assert code == 0 and report["new_key_id"] in out
    code, out = _run("keys", "rotate", "--home", str(home), "--as-role", "privacy_officer")
    assert code == ExitCode.REFUSED and "暗号鍵の管理" in out
    assert [(e.action, e.outcome) for e in _entries(home)[-4:]] == [
        ("keys.manage", "allowed"), ("keys.manage", "allowed"), ("keys.manage", "allowed"), ("keys.manage", "denied"),
    ]
