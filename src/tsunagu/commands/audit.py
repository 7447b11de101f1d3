"""``tsunagu audit verify|log|history|checkpoint|notifications``: the access log.

Reading the access log is itself recorded: the CLI user is the operating-system user
(``getpass.getuser()``) acting in the role given by ``--as-role`` (privacy_officer by default,
or administrator), and every command is decided by the policy and appended to the chain in the
same transaction as what it reads. A refused command is recorded too, then reported.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.commands.common import (
    HomeOption,
    JsonOption,
    cli_subject,
    console,
    emit_json,
    fail,
    refuse,
    settings_for,
    signing_key,
)
from tsunagu.config import Settings
from tsunagu.hub import Hub
from tsunagu.privacy import (
    ChainBrokenError,
    access_history,
    authorise,
    checkpoint,
    parse_public_key,
    query_log,
    verify,
)
from tsunagu.privacy.anchor import ANCHOR_PATH
from tsunagu.privacy.audit import EVENT_LABELS, OUTCOME_LABELS
from tsunagu.privacy.models import AuditEntry, PrivacyNotification
from tsunagu.privacy.policy import JST, policy_of

audit_app = typer.Typer(help="アクセス記録（監査ログ）の検証と閲覧", no_args_is_help=True)

AsRoleOption = Annotated[
    str,
    typer.Option("--as-role", help="CLIを使う人の役割: privacy_officer（既定）または administrator。OSのユーザー名とともに記録されます"),
]
OrganisationOption = Annotated[str, typer.Option("--organisation", help="所属（アクセス記録に残す）")]
PurposeOption = Annotated[str, typer.Option("--purpose", help="利用目的（administration / disclosure_handling）")]


@contextmanager
def hub_session(settings: Settings) -> Iterator[Session]:
    """One transaction: the audit entry is committed with (and only with) what it records."""
    with Hub(settings) as hub, hub.sessions.begin() as session:
        yield session


def jst(moment: datetime) -> str:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def entry_json(row: AuditEntry) -> dict[str, Any]:
    return {
        "seq": row.seq, "at": (row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at).isoformat(),
        "request_id": row.request_id, "actor": row.actor, "role": row.role, "organisation": row.organisation,
        "purpose": row.purpose, "action": row.action, "person_id": row.person_id, "items": json.loads(row.items),
        "outcome": row.outcome, "reason": row.reason, "rule": row.rule, "prev_hash": row.prev_hash,
        "entry_hash": row.entry_hash,
    }


@audit_app.command("verify")
def verify_command(
    home: HomeOption = None,
    json_out: JsonOption = False,
    public_key: str | None = typer.Option(None, "--public-key", help="ハブの公開鍵（64桁の16進数）。省略時はホームの鍵"),
    as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
) -> None:
    """アクセス記録のハッシュ連鎖と署名付きチェックポイントを検証する（壊れていれば終了コード1）。"""
    settings = settings_for(home)
    subject = cli_subject(as_role, organisation)
    key = signing_key(settings)
    try:
        trusted = parse_public_key(public_key) if public_key else key.public_key()
    except ValueError as exc:
        fail(str(exc))
    with hub_session(settings) as session:
        decision = authorise(session, subject, "audit.verify", "administration", key=key)
        report = verify(session, trusted, anchors=settings.home / ANCHOR_PATH) if decision.allowed else None
    if report is None:
        refuse(decision.reason)
    if json_out:
        emit_json(report)
    elif report.ok:
        purged = f"（seq {report.purged_upto} までは保存期間満了で削除済み）" if report.purged_upto else ""
        console.print(
            f"[green]✔[/] アクセス記録の連鎖は正常です: {report.entries_checked}件（先頭 seq {report.head_seq}）、"
            f"署名付きチェックポイント {report.checkpoints_checked}件{purged}"
        )
        console.print(f"  先頭ハッシュ: {report.head_hash}")
        console.print(f"  外部アンカー（{ANCHOR_PATH}）と照合: {report.anchors_checked}件")
    else:
        for problem in report.problems:
            console.print(f"[red]✘[/] seq {problem.seq}: {problem.message}（{problem.kind}）")
    if report.anchor_missing and not json_out:
        console.print(f"[yellow]![/] 外部アンカー {settings.home / ANCHOR_PATH} がありません。`tsunagu audit checkpoint` "
                      "で作成し、ホームの外にも写しを保管してください")
    if not report.ok:
        first = report.problems[0]
        if json_out:
            raise typer.Exit(1)
        fail(f"アクセス記録の連鎖が壊れています。最初の問題は seq {first.seq}: {first.message}")


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        fail(f"--since は YYYY-MM-DD で指定してください（指定: {value}）")
    return datetime(day.year, day.month, day.day, tzinfo=JST)


@audit_app.command("log")
def log_command(
    person: str | None = typer.Option(None, "--person", help="本人の個人ID（仮名）で絞り込む"),
    actor: str | None = typer.Option(None, "--actor", help="利用者IDで絞り込む"),
    since: str | None = typer.Option(None, "--since", help="この日（日本時間、YYYY-MM-DD）以降"),
    limit: int = typer.Option(200, "--limit", min=1, help="新しい順に最大この件数"),
    home: HomeOption = None,
    json_out: JsonOption = False,
    as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
    purpose: PurposeOption = "administration",
) -> None:
    """アクセス記録を表示する（この閲覧自体も記録されます）。"""
    settings = settings_for(home)
    subject = cli_subject(as_role, organisation)
    moment = _since(since)
    key = signing_key(settings)
    request_id = uuid.uuid4().hex
    with hub_session(settings) as session:
        decision = authorise(session, subject, "audit.read", purpose, person_id=person, key=key, request_id=request_id)
        rows = query_log(session, person_id=person, actor=actor, since=moment, limit=limit + 1) if decision.allowed else []
        # The entry just written records this very read; it is not part of what was asked for.
        payload = [entry_json(r) for r in rows if r.request_id != request_id][-limit:]
        policy = policy_of(session)
    if not decision.allowed:
        refuse(decision.reason)
    if json_out:
        emit_json(payload)
        return
    table = Table(title=f"アクセス記録（{len(payload)}件、理由の全文は --json）")
    for header in ("seq", "日時", "利用者", "役割", "所属", "目的", "操作", "本人", "結果", "ルール"):
        table.add_column(header)
    for e in payload:
        role = policy.roles.get(e["role"])
        action = policy.actions.get(e["action"])
        table.add_row(
            str(e["seq"]), jst(datetime.fromisoformat(e["at"])), e["actor"], role.label if role else e["role"],
            e["organisation"], policy.purposes.get(e["purpose"], e["purpose"]),
            action.label if action else EVENT_LABELS.get(e["action"], e["action"]), e["person_id"] or "",
            OUTCOME_LABELS.get(e["outcome"], e["outcome"]), e["rule"],
        )
    console.print(table)


@audit_app.command("history")
def history_command(
    person_id: str = typer.Argument(..., help="本人の個人ID（仮名）"),
    home: HomeOption = None,
    json_out: JsonOption = False,
    as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
    purpose: PurposeOption = "disclosure_handling",
) -> None:
    """本人のデータに、いつ・どの役割と所属が・何の目的でアクセスしたか（開示請求への回答用）。"""
    settings = settings_for(home)
    subject = cli_subject(as_role, organisation)
    key = signing_key(settings)
    with hub_session(settings) as session:
        decision = authorise(session, subject, "audit.read", purpose, person_id=person_id, key=key)
        records = access_history(session, person_id) if decision.allowed else []
    if not decision.allowed:
        refuse(decision.reason)
    if json_out:
        emit_json({"person_id": person_id, "records": records})
        return
    table = Table(title=f"本人 {person_id} のデータへのアクセス（{len(records)}件）")
    for header in ("日時", "役割", "所属", "目的", "操作", "結果", "緊急閲覧"):
        table.add_column(header)
    for r in records:
        table.add_row(jst(r.at), r.role_label, r.organisation, r.purpose_label, r.action_label, r.outcome_label,
                      "はい" if r.break_glass else "")
    console.print(table)


@audit_app.command("checkpoint")
def checkpoint_command(
    home: HomeOption = None,
    json_out: JsonOption = False,
    as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
) -> None:
    """現在の連鎖の先頭に署名付きチェックポイントを作る（直前のチェックポイント以降を検証してから）。"""
    settings = settings_for(home)
    subject = cli_subject(as_role, organisation)
    key = signing_key(settings)
    result: dict[str, Any] | None = None
    broken: ChainBrokenError | None = None
    with hub_session(settings) as session:
        decision = authorise(session, subject, "audit.verify", "administration", key=key)
        if decision.allowed:
            try:
                cp = checkpoint(session, key)
                result = {"id": cp.id, "upto_seq": cp.upto_seq, "head_hash": cp.head_hash, "public_key": cp.public_key}
            except ChainBrokenError as exc:
                broken = exc
    if not decision.allowed:
        refuse(decision.reason)
    if broken is not None or result is None:
        fail(str(broken))
    if json_out:
        emit_json(result)
        return
    console.print(f"[green]✔[/] チェックポイント #{result['id']} を作成しました（seq {result['upto_seq']} まで）")


@audit_app.command("notifications")
def notifications_command(
    include_read: bool = typer.Option(False, "--all", help="確認済みの通知も表示する"),
    mark_read: bool = typer.Option(False, "--mark-read", help="表示した通知を確認済みにする"),
    home: HomeOption = None,
    json_out: JsonOption = False,
    as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
) -> None:
    """個人情報保護担当への通知（緊急閲覧の利用など）を表示する。"""
    settings = settings_for(home)
    subject = cli_subject(as_role, organisation)
    key = signing_key(settings)
    with hub_session(settings) as session:
        decision = authorise(session, subject, "notifications.read", "administration", key=key)
        stmt = select(PrivacyNotification).order_by(PrivacyNotification.id)
        if not include_read:
            stmt = stmt.where(PrivacyNotification.read_at.is_(None))
        rows = list(session.scalars(stmt)) if decision.allowed else []
        now = datetime.now(UTC)
        payload = [{"id": n.id, "created_at": jst(n.created_at), "kind": n.kind, "subject": n.subject,
                    "person_id": n.person_id, "text": n.text, "read": n.read_at is not None} for n in rows]
        if mark_read:
            for n in rows:
                n.read_at = n.read_at or now
    if not decision.allowed:
        refuse(decision.reason)
    if json_out:
        emit_json(payload)
        return
    table = Table(title=f"通知（{len(payload)}件）")
    for header in ("ID", "日時", "種類", "利用者", "本人", "内容"):
        table.add_column(header)
    for item in payload:
        table.add_row(str(item["id"]), str(item["created_at"]), str(item["kind"]), str(item["subject"]),
                      str(item["person_id"] or ""), str(item["text"]))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
