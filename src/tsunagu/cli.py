"""The one entry point: ``tsunagu <verb>``.

Each verb's module is imported only when that verb runs: importing every command (the web app, the
screening engine, the urgency model …) cost about 2 CPU-seconds on every call, more than some
commands' own work. ``--help``, ``--version`` and an unknown verb load them all, so help lists
every verb and typer's own "no such command" message stays as it is.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import sys
from collections.abc import Iterable

import typer

from tsunagu import __version__

# verb → the module under tsunagu.commands whose ``register`` adds it (tests/test_cli_meta.py checks
# that each module registers exactly the verbs listed for it).
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "init": "home",
    "catalog": "catalog",
    "ingest": "ingest",
    "quarantine": "ingest",
    "link": "link",
    "screen": "screen",
    "rules": "screen",
    "synth": "synth",
    "node": "node",
    "audit": "audit",
    "requests": "requests",
    "retention": "retention",
    "registers": "registers",
    "keys": "keys",
    "bench": "bench",
    "users": "users",
    "resources": "resources",
    "serve": "serve",
    "manifest": "manifest",
    "stats": "stats",
    "handover": "handover",
    "urgency": "urgency",
    "outreach": "outreach",
    "family": "family",
    "schools": "schools",
    "prefecture": "prefecture",
}


def _root(
    version: bool = typer.Option(False, "--version", help="バージョンを表示して終了する", is_eager=True),
) -> None:
    if version:
        typer.echo(f"tsunagu {__version__}")
        raise typer.Exit()


def build_app(verbs: Iterable[str] | None = None) -> typer.Typer:
    """The CLI with the given verbs' modules registered (all of them when ``verbs`` is None)."""
    app = typer.Typer(
        name="tsunagu",
        help="つなぐ — 部署が持つ子どものデータを、中央データベースを作らずにつなぎ、支援が必要な子どもを見つける",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback(invoke_without_command=True)(_root)
    wanted = COMMANDS.values() if verbs is None else (COMMANDS[v] for v in verbs)
    for module in dict.fromkeys(wanted):
        importlib.import_module(f"tsunagu.commands.{module}").register(app)
    return app


def _verb(argv: list[str]) -> str | None:
    """The verb on the command line when it is a known one; None for help, --version or a typo."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    if first is None or first not in COMMANDS or argv[0] != first:
        return None
    return first


def __getattr__(name: str) -> typer.Typer:
    # ``from tsunagu.cli import app`` (tests, CliRunner) gets the whole CLI, built on first use.
    if name == "app":
        return build_app()
    raise AttributeError(name)


def _frozen_at_exit() -> None:
    """The objects still alive when the process ends, moved out of the cycle collector's sight.

    At exit Python collects cycles again over every object the imported libraries hold
    (SQLAlchemy's, Splink's, pydantic's): 0.2 to 0.5 s of every command, after its work is done,
    for memory the operating system takes back anyway. Registered first, this runs after every
    other exit handler (files flushed, threads joined, logging shut down); objects freed by
    reference count are still freed, and standard output is still flushed."""
    gc.freeze()


def main() -> None:
    from tsunagu.commands.common import run_app

    atexit.register(_frozen_at_exit)
    verb = _verb(sys.argv[1:])
    run_app(build_app(None if verb is None else [verb]))
