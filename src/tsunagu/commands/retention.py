"""``tsunagu retention run``: remove what has outlived its retention period.

The CLI user is the operating-system user in ``--as-role`` (privacy_officer by default, or
administrator), as for ``tsunagu audit``. ``--dry-run`` only counts; a real run removes exactly
what a dry run for the same day reports. Audit entries are never removed (see docs/privacy.md).
"""

from __future__ import annotations

from datetime import date

import typer
from rich.table import Table

from tsunagu.commands.audit import AsRoleOption, OrganisationOption
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
from tsunagu.hub import Hub
from tsunagu.work.errors import Refused
from tsunagu.work.rights.retention import run_retention

retention_app = typer.Typer(help="保存期間の管理", no_args_is_help=True)


@retention_app.command("run")
def run_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="削除せず、対象の件数だけを表示する"),
    today: str | None = typer.Option(None, "--today", help="基準日（YYYY-MM-DD、既定: 今日）。リハーサル用"),
    vaults_only: bool = typer.Option(False, "--vaults-only", help="部署の保管庫だけ（部署のノードのホストで実行）"),
    home: HomeOption = None,
    json_out: JsonOption = False,
    as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
) -> None:
    """保存期間を過ぎたデータを削除する（部署の保管庫の出力・ハブの派生データ。アクセス記録は削除しない）。"""
    day = None
    if today is not None:
        try:
            day = date.fromisoformat(today)
        except ValueError:
            fail(f"--today は YYYY-MM-DD で指定してください（指定: {today}）")
    settings = settings_for(home)
    subject, key = cli_subject(as_role, organisation), signing_key(settings)
    try:
        with reported_errors(), Hub.open(settings) as opened:
            report = run_retention(settings, subject, today=day, dry_run=dry_run, hub=not vaults_only, key=key,
                                   sessions=opened.sessions, nodes=opened.nodes())
    except Refused as exc:
        fail(exc.message, exc.exit_code)
    if json_out:
        emit_json(report)
    else:
        verb = "削除の対象（試行: 削除していません）" if dry_run else "削除した件数"
        table = Table(title=f"保存期間の処理（{report.today.isoformat()}時点）— {verb}")
        for header in ("場所", "データソース・表", "記録", "項目の値", "取込不可行", "件数"):
            table.add_column(header)
        for department, sources in sorted(report.vaults.items()):
            for source, rows in sorted(sources.items()):
                table.add_row(department, source, str(rows["records"]), str(rows["observations"]),
                              str(rows["quarantine"]), str(sum(rows.values())))
        for name, rows_count in report.hub.items():
            table.add_row("ハブ", name, "", "", "", str(rows_count))
        console.print(table)
        for department in report.remote:
            console.print(f"[yellow]別ホストの部署:[/] {department}（そのホストで `tsunagu retention run --vaults-only`）")
        if report.audit is not None:
            upto = f"seq {report.audit.purge_upto_seq} まで" if report.audit.purge_upto_seq else "なし"
            console.print(f"アクセス記録: 保存期間 {report.audit.years}年、期間を過ぎた記録 {report.audit.entries_past_period}件。"
                          f"運用者が削除できる署名付きチェックポイント: {upto}（このコマンドは削除しません）")
    if report.errors:
        fail("；".join(f"{d}: {e}" for d, e in sorted(report.errors.items())))


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")
