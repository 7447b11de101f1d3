"""One error base: every error class has a documented code, an HTTP status and an exit code."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import tsunagu
from tsunagu.commands.common import refuse, reported_errors
from tsunagu.errors import ExitCode, InputError, KeyFileError, RefusedError, TsunaguError, split_languages
from tsunagu.web import errors as web_errors
from tsunagu.work.errors import NotFound, Refused

DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def _all_errors() -> list[type[TsunaguError]]:
    for module in pkgutil.walk_packages(tsunagu.__path__, "tsunagu."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: list[type[TsunaguError]] = []
    stack = [TsunaguError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return [c for c in found if c.__module__.startswith("tsunagu.")]


def test_every_error_is_documented_with_a_valid_status_and_exit_code() -> None:
    doc = DOC.read_text(encoding="utf-8")
    errors = _all_errors()
    assert len(errors) > 30  # the families and the errors of every package
    for cls in errors:
        assert f"`{cls.code}`" in doc, f"{cls.__qualname__}: code {cls.code!r} missing from docs/errors.md"
        assert 400 <= cls.status <= 599, cls
        assert cls.exit_code in set(ExitCode) - {ExitCode.OK, ExitCode.USAGE}, cls


def test_the_duplicates_are_one_class() -> None:
    from tsunagu import privacy
    from tsunagu.privacy.breakglass import BreakGlassRefused
    from tsunagu.vault.http import signing
    from tsunagu.vault.node import NodeRefusedError

    assert privacy.KeyFileError is signing.KeyFileError is KeyFileError
    for refused in (Refused, BreakGlassRefused, NodeRefusedError):
        assert issubclass(refused, RefusedError) and issubclass(refused, PermissionError)
        assert refused.exit_code == ExitCode.REFUSED and refused.status == 403


def test_messages_split_into_japanese_and_english() -> None:
    assert split_languages("鍵ファイルがありません: /k/a.pem / key file not found") == (
        "鍵ファイルがありません: /k/a.pem", "key file not found")
    # A Japanese message listing options with " / " has no English part.
    only = "--as-role は privacy_officer / administrator のいずれかです"
    assert split_languages(only) == (only, only)
    error = KeyFileError("鍵がありません / no key")
    assert (error.message_ja, error.message_en, error.exit_code) == ("鍵がありません", "no key", ExitCode.CONFIG)


class _BadInput(InputError):
    code = "bad_test_input"


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def run(kind: str) -> None:
        with reported_errors():
            if kind == "input":
                raise _BadInput("読めません / unreadable")
            if kind == "missing":
                raise NotFound("見つかりません")
            refuse("許可されていません")

    return app


@pytest.mark.parametrize(("kind", "exit_code", "text"), [
    ("input", ExitCode.INPUT, "読めません"), ("missing", ExitCode.NOT_FOUND, "見つかりません"),
    ("refused", ExitCode.REFUSED, "許可されていません")])
def test_the_cli_exits_with_the_table_code_and_one_line(kind: str, exit_code: int, text: str) -> None:
    result = CliRunner().invoke(_cli(), [kind])
    assert result.exit_code == exit_code
    assert text in result.output and "Traceback" not in result.output


def test_the_api_answers_the_one_error_shape() -> None:
    app = FastAPI()
    web_errors.install(app)

    @app.get("/api/input")
    def _input() -> None:
        raise _BadInput("読めません / unreadable")

    @app.get("/api/internal")
    def _internal() -> None:
        raise KeyFileError("鍵ファイルがありません: /secret/path / key file not found")

    client = TestClient(app)
    answer = client.get("/api/input")
    assert answer.status_code == 422
    assert answer.json() == {"error": {"code": "bad_test_input", "message": "読めません"}}
    internal = client.get("/api/internal")
    # Our own fault: the status and code, but not the path on the server.
    assert internal.status_code == 500 and internal.json()["error"]["code"] == "key_file"
    assert "/secret/path" not in internal.text
