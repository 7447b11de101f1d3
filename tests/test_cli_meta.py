"""Meta-test: every command is classified, and every command that touches personal data asks the
policy and leaves an audit entry when it is refused (the web app's routes have their own meta-test)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from sqlalchemy import select
from typer.main import get_command
from typer.testing import CliRunner

from support.hubs import copy_home, hub_of
from tsunagu.cli import app
from tsunagu.link.models import PersonLink
from tsunagu.privacy.models import AuditEntry

runner = CliRunner()

# Commands that read or write a person's data, with arguments that reach the permission check.
# Each is run as a teacher (a role with no business there) and must be refused on the record.
PERSONAL: dict[str, list[str]] = {
    "ingest": ["{tmp}"],
    "quarantine list": [],
    "quarantine show": ["juki_jumin"],
    "quarantine flagged": ["juki_jumin"],
    "quarantine export": ["--out", "{tmp}/q.csv"],
    "link review": [],
    "link decide": ["1", "match", "--reason", "同一人物と確認"],
    "audit log": [],
    "audit history": ["{person}"],
    "audit verify": [],
    "audit checkpoint": [],
    "audit notifications": [],
    "requests add": ["{person}", "--kind", "disclosure", "--received", "2026-11-01"],
    "requests list": [],
    "requests show": ["1"],
    "requests start": ["1"],
    "requests extend": ["1", "--reason", "資料の収集に時間を要するため"],
    "requests complete": ["1"],
    "requests refuse": ["1", "--reason", "本人確認ができないため"],
    "requests lift": ["1", "--reason", "利用停止の解除を確認したため"],
    "requests disclosure": ["1", "--out", "{tmp}/pack"],
    "requests notices": [],
    "requests resolve": ["1", "--rejected", "--reason", "出力を確認したが誤りはなかった"],
    "retention run": ["--dry-run"],
    "keys rotate": [],
    "keys list": [],
    "users add": ["someone", "--role", "teacher", "--name", "氏名", "--generate"],
    "users list": [],
    "users disable": ["someone"],
    "users approve": ["someone"],
    "handover list": [],
    "handover send": ["1", "--to", "131016", "--kind", "case_transfer"],
    "handover deliver": ["a" * 32],
    "handover accept": ["a" * 32],
    "handover link": ["a" * 32, "{person}"],
    "urgency escalate": ["--now", "2026-12-01T00:00:00"],
    "outreach list": ["--department", "board_of_education"],
    "outreach notices": ["--department", "board_of_education", "--out", "{tmp}/letters"],
    "outreach mailing-list": ["20261110-AB12CD", "--department", "board_of_education", "--out", "{tmp}/m.csv"],
    "outreach opt-out": ["--person", "{person}", "--department", "board_of_education", "--reason", "案内は不要との申出"],
    "outreach language": ["--person", "{person}", "--department", "board_of_education", "--lang", "en"],
    "outreach outcomes": ["--department", "board_of_education"],
    # the family portal's enrolment letter: the guardian's name and address from the register
    "family issue-code": ["--aza", "1000000001", "--out", "{tmp}/letter.pdf", "--portal-url", "https://example.jp/family/enrol"],
    "screen model train": [], "screen model score": [], "screen model card": [], "screen model approve": ["v1"],
}
# System runs over everyone's data: audited once per run (asserted in their own tests).
SYSTEM_RUNS = {"link", "screen", "demo", "outreach run",
               # hand-over: moves found, overdue tasks escalated, files from other municipalities taken in:
               # audited per task or package (tests/handover)
               "handover detect", "handover escalate", "handover receive", "handover receipt"}
# Rounds of screening and reviews on a synthetic town: every review authorised and audited (tests/ranking).
SYSTEM_RUNS.add("screen simulate")
SYSTEM_RUNS.add("stats")  # aggregates over everyone: one statistics.read entry per report (tests/stats)
# across municipalities: each municipality audits its release to the prefecture once per run (tests/prefecture)
SYSTEM_RUNS |= {"prefecture link", "prefecture stats"}
# Commands that touch no person's data, and why.
NO_PERSONAL_DATA = {
    "init": "creates an empty home", "synth": "synthetic data only", "bench": "synthetic data only",
    "serve": "starts the web app (its routes have their own meta-test)", "catalog list": "the catalogue",
    "catalog show": "the catalogue", "link evaluate": "pseudonymous ids against synthetic truth",
    "screen evaluate": "pseudonymous ids against synthetic truth", "rules show": "the rule set",
    "rules test": "synthetic scenarios", "node serve": "a department's node: it applies its own release "
    "policy and logs every request (tests/vault)", "node keygen": "keys", "registers files": "the file register",
    "registers legal-basis": "the legal bases", "resources list": "the public support directory",
    "resources add": "the support directory: services, not people",
    "resources import": "the support directory: services, not people",
    "schools load": "the school master: schools' codes and names, not people",
    "schools list": "the school master: schools' codes and names, not people",
    "outreach evaluate": "pseudonymous ids against synthetic truth",
    "manifest draft": "reads a file the steward names and prints column shapes and counts, never a value; no vault",
    "manifest check": "reads a file the steward names and prints counts and row numbers, never a value; no vault",
    "handover identity": "this municipality's public keys", "handover municipalities": "the trusted municipalities",
    "handover trust": "registers a municipality's public keys (an administrator's act, audited as handover.manage)",
    "urgency history": "the child guidance centre's anonymised past cases (no identifiers; tests/urgency)",
    "urgency train": "anonymised past cases", "urgency validate": "anonymised past cases",
    "urgency card": "the model card: aggregates",
}


def _commands() -> list[str]:
    found: list[str] = []

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        if hasattr(command, "list_commands"):
            context = click.Context(command)
            if getattr(command, "invoke_without_command", False) and path:
                found.append(" ".join(path))
            for name in command.list_commands(context):  # type: ignore[attr-defined]
                walk(command.get_command(context, name), (*path, name))  # type: ignore[attr-defined]
        else:
            found.append(" ".join(path))

    walk(get_command(app), ())
    return found


def test_every_command_is_classified() -> None:
    unclassified = [c for c in _commands() if c not in PERSONAL and c not in SYSTEM_RUNS and c not in NO_PERSONAL_DATA]
    assert unclassified == [], "classify each new command in tests/test_cli_meta.py"


@pytest.fixture(scope="module")
def home(linked_town: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A linked town with one request on record, so every request command reaches its check."""
    folder = tmp_path_factory.mktemp("meta") / "home"
    copy_home(linked_town, folder, scope="session")
    person, aza = _person(folder), _aza(folder)
    for extra in (["--kind", "disclosure"],
                  ["--kind", "correction", "--source", "juki_jumin", "--local-id", aza, "--field", "full_name",
                   "--value", "正しい氏名"]):
        added = runner.invoke(app, ["requests", "add", person, *extra, "--received", "2026-11-01", "--home", str(folder)])
        assert added.exit_code == 0, added.output
    return folder


def _aza(home: Path) -> str:
    with hub_of(home) as hub, hub.sessions() as session:
        aza = session.scalars(select(PersonLink.local_id).where(PersonLink.source == "juki_jumin")).first()
    assert aza is not None
    return aza


def _person(home: Path) -> str:
    with hub_of(home) as hub, hub.sessions() as session:
        person = session.scalars(select(PersonLink.person_id).where(PersonLink.source == "juki_jumin")).first()
    assert person is not None
    return person


def _denials(home: Path) -> list[tuple[str, str]]:
    with hub_of(home) as hub, hub.sessions() as session:
        rows = session.execute(select(AuditEntry.action, AuditEntry.role).where(AuditEntry.outcome == "denied")).all()
    return [(action, role) for action, role in rows]


@pytest.mark.parametrize("command", sorted(PERSONAL))
def test_a_personal_data_command_refuses_a_teacher_on_the_record(command: str, home: Path, tmp_path: Path) -> None:
    args = [a.replace("{tmp}", str(tmp_path)).replace("{person}", _person(home)) for a in PERSONAL[command]]
    before = len(_denials(home))
    result = runner.invoke(app, [*command.split(), *args, "--as-role", "teacher", "--home", str(home)])
    assert result.exit_code != 0, result.output
    refused_up_front = "--as-role" in result.output  # back-office commands refuse the claim itself
    if not refused_up_front:
        denials = _denials(home)
        assert len(denials) == before + 1, result.output
        assert denials[-1][1] == "teacher"


def test_each_verb_is_registered_by_the_module_the_lazy_table_names() -> None:
    """``tsunagu <verb>`` imports only ``COMMANDS[verb]``: a verb missing from the table or listed
    under the wrong module would vanish from that call."""
    from tsunagu.cli import COMMANDS, build_app

    everything = {c.name or "" for c in get_command(app).commands.values()}  # type: ignore[attr-defined]
    assert everything == set(COMMANDS)
    for verb in COMMANDS:
        alone = get_command(build_app([verb]))
        assert verb in alone.commands  # type: ignore[attr-defined]


def test_version_prints_without_a_command() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("tsunagu ")
