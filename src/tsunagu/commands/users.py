"""``tsunagu users add|list|disable``: local accounts for the staff web app.

The CLI user is the operating-system user acting as ``--as-role`` (administrator by default),
as for ``tsunagu audit``; managing accounts is the policy's ``users.manage`` and is recorded.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from tsunagu.commands.common import (
    HomeOption,
    JsonOption,
    cli_subject,
    console,
    emit_json,
    fail,
    settings_for,
    signing_key,
)
from tsunagu.config import Settings
from tsunagu.hub import Hub
from tsunagu.work import users as accounts
from tsunagu.work.errors import WorkError

users_app = typer.Typer(help="利用者（職員のアカウント）の管理", no_args_is_help=True)

AS_ROLE_HELP = "CLIを使う人の役割（既定: administrator）。OSのユーザー名とともにアクセス記録に残ります"


@contextmanager
def work_session(settings: Settings) -> Iterator[Session]:
    # Migrated: a home made before the work tables existed gets them now.
    with Hub.open(settings) as hub, hub.unit() as session:
        yield session


def _password(password_stdin: bool, generate: bool) -> tuple[str, bool]:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    if generate:
        return accounts.generate_password(), True
    if not sys.stdin.isatty():
        fail("パスワードは --password-stdin で渡すか、--generate で生成してください（端末がありません）。")
    password = typer.prompt("パスワード（12文字以上）", hide_input=True, confirmation_prompt="もう一度")
    return str(password), False


@users_app.command("add")
def add_command(
    user_id: str = typer.Argument(..., help="利用者ID（英数字と . _ -）"),
    role: str = typer.Option(..., "--role", help="役割（アクセス方針の役割名: school_social_worker, teacher など）"),
    name: str = typer.Option(..., "--name", help="氏名（画面に表示）"),
    organisation: str = typer.Option("", "--organisation", help="所属: 学校コード（複数はカンマ区切り）または部署ID"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="パスワードを標準入力の1行目から読む"),
    generate: bool = typer.Option(False, "--generate", help="パスワードを生成して一度だけ表示する"),
    home: HomeOption = None,
    json_out: JsonOption = False,
    as_role: str = typer.Option("administrator", "--as-role", help=AS_ROLE_HELP),
) -> None:
    """利用者を追加する。"""
    settings = settings_for(home)
    password, generated = _password(password_stdin, generate)
    key = signing_key(settings)
    try:
        with work_session(settings) as session:
            account = accounts.create_user(
                session, cli_subject(as_role, "cli", back_office_only=False), user_id, role=role, display_name=name,
                organisation=organisation, password=password, key=key,
            )
    except WorkError as exc:
        fail(exc.message, exc.exit_code)
    if json_out:
        emit_json({"user_id": account.user_id, "role": account.role, "organisation": account.organisation,
                   **({"password": password} if generated else {})})
        return
    console.print(f"[green]✔[/] 利用者 {account.user_id}（{account.display_name}、{account.role_label}）を追加しました")
    if generated:
        console.print(f"  初期パスワード（この一度だけ表示します）: [bold]{password}[/]")


@users_app.command("list")
def list_command(
    home: HomeOption = None,
    json_out: JsonOption = False,
    as_role: str = typer.Option("administrator", "--as-role", help=AS_ROLE_HELP),
) -> None:
    """利用者の一覧。"""
    settings = settings_for(home)
    key = signing_key(settings)
    try:
        with work_session(settings) as session:
            rows = accounts.list_users(session, cli_subject(as_role, "cli", back_office_only=False), key=key)
    except WorkError as exc:
        fail(exc.message, exc.exit_code)
    if json_out:
        emit_json([{"user_id": a.user_id, "display_name": a.display_name, "role": a.role,
                    "organisation": a.organisation, "disabled": a.disabled, "created_at": a.created_at,
                    "last_login_at": a.last_login_at} for a in rows])
        return
    table = Table(title=f"利用者（{len(rows)}人）")
    for header in ("利用者ID", "氏名", "役割", "所属", "状態", "最終サインイン"):
        table.add_column(header)
    for a in rows:
        table.add_row(a.user_id, a.display_name, a.role_label, a.organisation, "無効" if a.disabled else "有効",
                      a.last_login_at.isoformat(timespec="minutes") if a.last_login_at else "")
    console.print(table)


@users_app.command("disable")
def disable_command(
    user_id: str = typer.Argument(..., help="利用者ID"),
    home: HomeOption = None,
    as_role: str = typer.Option("administrator", "--as-role", help=AS_ROLE_HELP),
) -> None:
    """利用者を無効にする（サインイン中のセッションもすぐ終わります）。"""
    settings = settings_for(home)
    key = signing_key(settings)
    try:
        with work_session(settings) as session:
            account = accounts.disable_user(session, cli_subject(as_role, "cli", back_office_only=False), user_id, key=key)
    except WorkError as exc:
        fail(exc.message, exc.exit_code)
    console.print(f"[green]✔[/] 利用者 {account.user_id} を無効にしました")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
