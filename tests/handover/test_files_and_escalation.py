"""Packages and receipts as files for LGWAN mail, and escalation on the due date with a fixed clock."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from handover.conftest import B_CODE, CW, TODAY, Side, trust
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.commands import handover as handover_cmd
from tsunagu.handover import detect, outbox, service
from tsunagu.handover.models import HandoverEvent, HandoverPackage, HandoverTask
from tsunagu.privacy import AuditEntry
from tsunagu.work.errors import Invalid

app = typer.Typer()
handover_cmd.register(app)
runner = CliRunner()
SENT_AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def run(side: Side, *args: str) -> typer.testing.Result:
    return runner.invoke(app, ["handover", *args, "--home", str(side.home.settings.home)])


def _task(side: Side, person_id: str) -> HandoverTask:
    with side.home.factory() as session:
        row = session.scalars(select(HandoverTask).where(HandoverTask.person_id == person_id)).one()
        session.expunge(row)
        return row


def _package(side: Side, package_id: str) -> HandoverPackage:
    with side.home.factory() as session:
        row = session.get(HandoverPackage, package_id)
        assert row is not None
        session.expunge(row)
        return row


def _refusals(side: Side, event: str) -> list[str]:
    with side.home.factory() as session:
        return list(session.scalars(select(HandoverEvent.detail).where(HandoverEvent.event == event,
                                                                       HandoverEvent.outcome == "refused")))


def test_no_receipt_by_the_due_date_escalates_then_files_close_the_task(
        pair: tuple[Side, Side], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = pair
    monkeypatch.setattr(getpass, "getuser", lambda: "cwb")  # the person at each terminal: 青木 at みらい市
    with a.home.factory.begin() as session:
        detect.detect(session, a.nodes, packaged_manifests(), today=TODAY)
    trust(a, b.identity, None)
    trust(b, a.identity, None)
    package_file = tmp_path / "mail" / "package.json"
    sent = service.send(a.home.factory, CW, _task(a, "P0002").id, kind="case_transfer", recipient=B_CODE,
                        identity=a.identity, nodes=a.nodes, cipher=a.home.cipher, file=package_file,
                        now=lambda: SENT_AT)
    assert sent.ok and sent.status == "sent" and package_file.stat().st_mode & 0o077 == 0
    assert _package(a, sent.package_id).due_on == date(2026, 12, 10)  # 7 days for a case transfer's receipt

    with a.home.factory.begin() as session:
        assert outbox.escalate_overdue(session, date(2026, 12, 9), now=SENT_AT) == []
    with a.home.factory.begin() as session:
        assert sent.package_id in outbox.escalate_overdue(session, date(2026, 12, 10), now=SENT_AT)
    unsent = _task(a, "P0001")  # 情報提供, moved 11-30: due 14 days later, and never sent
    assert unsent.due_on == date(2026, 12, 14)
    with a.home.factory.begin() as session:
        assert outbox.escalate_overdue(session, date(2026, 12, 13), now=SENT_AT) == []
    with a.home.factory.begin() as session:
        assert outbox.escalate_overdue(session, date(2026, 12, 14), now=SENT_AT) == [f"task:{unsent.id}"]
    assert _package(a, sent.package_id).escalated_at is not None
    assert _task(a, "P0002").status == "escalated"
    with a.home.factory() as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "handover.escalate",
                                                        AuditEntry.person_id == "P0002")).first() is not None

    # みらい市 takes the file, answers with a receipt file; つなぐ市 records it.
    receipt = tmp_path / "mail" / "receipt.json"
    taken = run(b, "receive", str(package_file), "--receipt-out", str(receipt))
    assert taken.exit_code == 0, taken.output
    assert "Q0001" in taken.output
    recorded = run(a, "receipt", str(receipt))
    assert recorded.exit_code == 0, recorded.output
    assert (_package(a, sent.package_id).status, _task(a, "P0002").status) == ("received", "sent")
    with pytest.raises(Invalid, match="既に相手の自治体が受領"):  # no second package while the first awaits 受理
        service.send(a.home.factory, CW, _task(a, "P0002").id, kind="case_transfer", recipient=B_CODE,
                     identity=a.identity, nodes=a.nodes, cipher=a.home.cipher, file=tmp_path / "again.json")

    # The same files again: refused and logged.
    again = run(b, "receive", str(package_file), "--receipt-out", str(tmp_path / "r2.json"))
    assert again.exit_code == 1 and "duplicate" in again.output
    assert any("duplicate" in d for d in _refusals(b, "refused"))
    twice = run(a, "receipt", str(receipt))
    assert twice.exit_code == 1
    assert any("duplicate" in d for d in _refusals(a, "receipt_refused"))

    # A tampered file is refused.
    doc = json.loads(package_file.read_bytes())
    doc["kind"] = "information_provision"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    refused = run(b, "receive", str(forged), "--receipt-out", str(tmp_path / "r3.json"))
    assert refused.exit_code == 1 and "bad_signature" in refused.output

    # Accepted by a named owner, the acceptance goes back as a file and closes the task.
    accepted_file = tmp_path / "mail" / "accepted.json"
    accepted = run(b, "accept", sent.package_id, "--file", str(accepted_file))
    assert accepted.exit_code == 0, accepted.output
    assert run(a, "receipt", str(accepted_file)).exit_code == 0
    done = _package(a, sent.package_id)
    assert (done.status, done.accepted_by) == ("accepted", "青木 センター（みらい市）")
    assert _task(a, "P0002").status == "closed"
    listed = run(a, "list", "--json")
    assert listed.exit_code == 0
    assert {t["status"] for t in json.loads(listed.stdout)["tasks"]} == {"closed", "escalated"}
