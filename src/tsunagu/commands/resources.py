"""``tsunagu resources list|add|import``: the directory of local support services (社会資源)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tsunagu.commands.common import (
    HomeOption,
    JsonOption,
    cli_subject,
    console,
    emit_json,
    fail,
    reported_errors,
    settings_for,
    signing_key,
)
from tsunagu.commands.users import work_session
from tsunagu.work import resources as directory
from tsunagu.work.errors import WorkError

resources_app = typer.Typer(help="社会資源（地域の支援サービス）の一覧と登録", no_args_is_help=True)
AS_ROLE_HELP = "CLIを使う人の役割（既定: administrator）。OSのユーザー名とともにアクセス記録に残ります"


@resources_app.command("list")
def list_command(
    include_inactive: bool = typer.Option(False, "--all", help="廃止したものも表示する"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """社会資源の一覧（個人情報を含まないため記録はしません）。"""
    settings = settings_for(home)
    with work_session(settings) as session:
        rows = directory.list_resources(session, include_inactive=include_inactive)
    if json_out:
        emit_json(rows)
        return
    table = Table(title=f"社会資源（{len(rows)}件）")
    for header in ("ID", "名称", "種別", "対象", "連絡先", "地域", "公開"):
        table.add_column(header)
    for r in rows:
        table.add_row(str(r.id), r.name, r.category, r.eligibility, r.contact, r.area, "公開" if r.public else "職員のみ")
    console.print(table)


@resources_app.command("add")
def add_command(
    name: str = typer.Option(..., "--name", help="名称"),
    category: str = typer.Option(..., "--category", help=f"種別（例: {'、'.join(directory.CATEGORIES[:4])}）"),
    eligibility: str = typer.Option("", "--eligibility", help="対象・利用の条件"),
    contact: str = typer.Option("", "--contact", help="連絡先"),
    area: str = typer.Option("", "--area", help="地域"),
    private: bool = typer.Option(False, "--private", help="職員向けだけに表示する（公開ページに出さない）"),
    home: HomeOption = None,
    as_role: str = typer.Option("administrator", "--as-role", help=AS_ROLE_HELP),
) -> None:
    """社会資源を登録する。"""
    settings = settings_for(home)
    key = signing_key(settings)
    entry = directory.ResourceEntry(name=name, category=category, eligibility=eligibility, contact=contact,
                                    area=area, public=not private)
    try:
        with work_session(settings) as session:
            view = directory.add_resource(session, cli_subject(as_role, "cli", back_office_only=False), "administration", entry, key=key)
    except WorkError as exc:
        fail(exc.message, exc.exit_code)
    console.print(f"[green]✔[/] 社会資源 #{view.id} {view.name} を登録しました")


@resources_app.command("import")
def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="resources: [...] の YAML ファイル"),
    home: HomeOption = None,
    as_role: str = typer.Option("administrator", "--as-role", help=AS_ROLE_HELP),
) -> None:
    """YAML ファイルから社会資源をまとめて登録・更新する（名称と種別が同じものは更新）。"""
    settings = settings_for(home)
    key = signing_key(settings)
    try:
        with reported_errors(), work_session(settings) as session:
            added, updated = directory.import_resources(session, cli_subject(as_role, "cli", back_office_only=False), "administration", file,
                                                        key=key)
    except WorkError as exc:
        fail(exc.message, exc.exit_code)
    console.print(f"[green]✔[/] 追加 {added}件、更新 {updated}件")


def register(app: typer.Typer) -> None:
    app.add_typer(resources_app, name="resources")
