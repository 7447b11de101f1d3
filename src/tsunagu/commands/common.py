"""What every command shares: the --home and --json options, output and error reporting."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console

from tsunagu.config import Settings, load_settings
from tsunagu.errors import ExitCode, TsunaguError
from tsunagu.privacy import KeyFileError, Subject, load_or_create_signing_key

console = Console()
err_console = Console(stderr=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="自治体ホームフォルダ（既定: $TSUNAGU_HOME または ./tsunagu-home）"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="結果をJSONで出力する（スクリプト向け）")]


def _default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=_default) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]エラー:[/] {message}")
    raise typer.Exit(code)


def refuse(reason: str) -> NoReturn:
    """The policy said no (the refusal is already recorded): exit with ``ExitCode.REFUSED``."""
    fail(reason, ExitCode.REFUSED)


@contextmanager
def reported_errors(*kinds: type[Exception]) -> Iterator[None]:
    """Turn expected errors into one clear line and a non-zero exit, never a traceback.

    Every ``TsunaguError`` exits with its own code (``tsunagu.errors.ExitCode``, docs/errors.md);
    the other ``kinds`` named by a command exit with 1.
    """
    try:
        yield
    except TsunaguError as exc:
        fail(str(exc), exc.exit_code)
    except Exception as exc:
        if isinstance(exc, kinds):
            fail(str(exc))
        raise


def run_app(app: typer.Typer) -> None:
    """Run the CLI; an error no command expected still ends in one line and its exit code."""
    try:
        app()
    except TsunaguError as exc:
        err_console.print(f"[bold red]エラー:[/] {exc}")
        sys.exit(exc.exit_code)


def settings_for(home: Path | None, *, require_init: bool = True) -> Settings:
    with reported_errors():
        settings = load_settings(home)
    if require_init and not settings.is_initialised:
        fail(
            f"{settings.home} は tsunagu のホームではありません。先に `tsunagu init --home {settings.home} "
            "--name 自治体名 --code 地方公共団体コード` を実行してください / not a tsunagu home: run `tsunagu init` first"
        )
    return settings


# The roles an operator may claim on the command line: the CLI is a back office, not a caseworker's tool.
CLI_ROLES = ("privacy_officer", "administrator")


def cli_subject(as_role: str, organisation: str, *, back_office_only: bool = True) -> Subject:
    """The person at the terminal: their OS user name and the role they claim (recorded in the audit).

    ``back_office_only=False`` lets any role be claimed, so the policy refuses it on the record.
    """
    if back_office_only and as_role not in CLI_ROLES:
        fail(f"--as-role は {' / '.join(CLI_ROLES)} のいずれかです（指定: {as_role}）")
    return Subject(getpass.getuser(), as_role, organisation)


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The hub's audit signing key (created on first use)."""
    try:
        return load_or_create_signing_key(settings.home)
    except KeyFileError as exc:
        fail(str(exc), exc.exit_code)


Command = Callable[..., None]
