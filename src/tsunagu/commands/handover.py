"""``tsunagu handover``: moves that need a hand-over, packages to and from other municipalities,
their receipts, and the directory of trusted municipalities.

Staff steps (list, send, deliver, accept, link) are the operating-system user acting in the role
given by ``--as-role`` (default: the family centre's caseworker), decided by the policy and
recorded, first for the municipality's hand-over work as a whole and then for the child; the name
recorded as the accepting owner is the user's account name when there is an account, else the OS
user. Detection, escalation and taking files in are system runs, audited per task or package.
Registering municipalities is an administrator's act.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

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
)
from tsunagu.errors import TsunaguError
from tsunagu.handover import detect, directory, inbox, outbox, service, views
from tsunagu.handover.keys import Identity, load_identity
from tsunagu.hub import Hub
from tsunagu.privacy import Subject
from tsunagu.work.errors import Refused
from tsunagu.work.users import get_account

handover_app = typer.Typer(help="転居時の引継ぎ（ケース移管・情報提供）: 検知・送付・受領・受理と、信頼する自治体の登録",
                           no_args_is_help=True)
AsRoleOption = Annotated[str, typer.Option("--as-role", help="操作する役割（アクセス方針が判定し、記録に残ります）")]
OrganisationOption = Annotated[str, typer.Option("--organisation", help="所属（記録に残ります）")]
TodayOption = Annotated[str | None, typer.Option("--today", help="基準日 YYYY-MM-DD（既定: 今日）")]
FileOut = Annotated[Path | None, typer.Option("--file", help="HTTPで送らず、LGWANメール用のファイルに書き出す", dir_okay=False)]


@dataclass
class Handover:
    """The home's ``Hub`` (store, nodes, manifests, keys) and this municipality's hand-over identity."""

    hub: Hub
    identity: Identity


@contextmanager
def _hub(home: Path | None) -> Iterator[Handover]:
    """The one place this command opens the hub (migrated: a home made before hand-over gets its tables)."""
    settings = settings_for(home)
    with reported_errors():
        identity = load_identity(settings)
    with Hub.open(settings) as hub:
        with reported_errors():
            hub.load_keys()  # a missing or unreadable key: one line now, not a traceback halfway through
        yield Handover(hub, identity)


def _staff(opened: Handover, as_role: str, organisation: str, action: str = "handover.send") -> Subject:
    """The person at the terminal, allowed (and recorded) for the municipality's hand-over work."""
    subject = cli_subject(as_role, organisation, back_office_only=False)
    with opened.hub.unit() as session:
        account = get_account(session, subject.user_id)
        if account is not None and account.disabled:
            fail(f"アカウント {subject.user_id} は無効です。")
        try:
            views.allow_detection(session, subject, action=action, key=opened.hub.signing_key)
        except Refused as exc:
            session.commit()
            fail(exc.message, exc.exit_code)
    return subject


def _today(text: str | None) -> date:
    try:
        return date.fromisoformat(text) if text else datetime.now(UTC).date()
    except ValueError:
        fail(f"--today は YYYY-MM-DD で指定してください（{text}）")


def _run(step: str) -> None:
    console.print(f"[green]✔[/] {step}")


@handover_app.command("identity")
def identity_command(endpoint: Annotated[str | None, typer.Option("--endpoint", help="他の自治体が送る先のURL（…/municipal）")] = None,
                     home: HomeOption = None) -> None:
    """この自治体の登録情報（自治体コード・名称・公開鍵）をJSONで表示する。相手の自治体に渡して登録してもらう。"""
    with _hub(home) as opened:
        emit_json(directory.own_card(opened.identity, endpoint).as_dict())


@handover_app.command("trust")
def trust_command(card: Annotated[Path, typer.Argument(help="相手の自治体の登録情報（tsunagu handover identity の出力）", exists=True,
                                                       dir_okay=False)],
                  home: HomeOption = None) -> None:
    """信頼する自治体を登録（更新）する（システム管理者）。"""
    with _hub(home) as opened, _errors(), opened.hub.unit() as session:
        row = directory.register(session, Subject(getpass.getuser(), "administrator", "cli"),
                                 directory.parse_card(card.read_text("utf-8")), own_code=opened.identity.code,
                                 key=opened.hub.signing_key)
        _run(f"{row.name}（{row.code}）を登録しました" + (f"（送付先 {row.endpoint}）" if row.endpoint else "（ファイルのみ）"))


@handover_app.command("municipalities")
def municipalities_command(home: HomeOption = None, json_out: JsonOption = False) -> None:
    """信頼する自治体の一覧。"""
    with _hub(home) as opened, opened.hub.sessions() as session:
        rows = [{"code": r.code, "name": r.name, "endpoint": r.endpoint, "active": r.active}
                for r in directory.all_municipalities(session)]
    if json_out:
        emit_json(rows)
        return
    table = Table(title=f"信頼する自治体（{len(rows)}件）")
    for header in ("自治体コード", "名称", "送付先", "状態"):
        table.add_column(header)
    for r in rows:
        table.add_row(str(r["code"]), str(r["name"]), str(r["endpoint"] or "ファイルのみ"), "有効" if r["active"] else "無効")
    console.print(table)


@handover_app.command("detect")
def detect_command(today: TodayOption = None, home: HomeOption = None, json_out: JsonOption = False) -> None:
    """住民記録の異動から、引継ぎが必要な転出・転入を検知して課題にする。"""
    with _hub(home) as opened, opened.hub.unit() as session:
        report = detect.detect(session, opened.hub.nodes(), opened.hub.manifests, today=_today(today),
                               key=opened.hub.signing_key)
    if json_out:
        emit_json(report)
        return
    _run(f"異動 {report.moves}件、新しい課題 {len(report.opened)}件（既存 {report.skipped_existing}件）")
    for department, reason in report.unavailable.items():
        console.print(f"[yellow]![/] {department}: {reason}")


@handover_app.command("list")
def list_command(as_role: AsRoleOption = "centre_caseworker", organisation: OrganisationOption = "family_centre",
                 home: HomeOption = None, json_out: JsonOption = False) -> None:
    """引継ぎの課題と、送付・受領したパッケージの状況（表示した子どもごとに記録）。"""
    with _hub(home) as opened, _errors():
        subject = _staff(opened, as_role, organisation)
        with opened.hub.unit() as session:
            view = views.worklist(session, subject, _today(None), key=opened.hub.signing_key)
    if json_out:
        emit_json({"tasks": view.tasks, "sent": view.sent, "received": view.received})
        return
    table = Table(title=f"引継ぎの課題（{len(view.tasks)}件）")
    for header in ("番号", "個人ID", "異動", "種類", "期限", "担当", "状況"):
        table.add_column(header)
    for t in view.tasks:
        table.add_row(str(t.id), t.person_id, f"{t.direction_label} {t.moved_on}", t.kind_label,
                      f"{t.due_on}{'（期限超過）' if t.overdue else ''}", t.owner, t.status_label)
    console.print(table)
    table = Table(title=f"パッケージ（送付 {len(view.sent)}件・受付 {len(view.received)}件）")
    for header in ("番号", "送受", "種類", "相手", "個人ID", "状況", "受領期限", "受理した担当"):
        table.add_column(header)
    for p in [*view.sent, *view.received]:
        table.add_row(p.package_id, "送付" if p.direction == "sent" else "受付", p.kind_label, p.peer_name,
                      p.person_id or "未登録の転入者", p.status_label + ("・督促" if p.escalated else ""),
                      str(p.due_on or ""), p.accepted_by or "")
    console.print(table)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except TsunaguError as exc:  # the work services' errors, a refused envelope, a key: one line, its exit code
        fail(getattr(exc, "message", str(exc)), exc.exit_code)


def _report(delivery: service.Delivery) -> None:
    if not delivery.ok:
        fail(f"{delivery.package_id}: {delivery.detail}")
    _run(f"{delivery.package_id}: {delivery.via} / {delivery.status} {delivery.detail}")


@handover_app.command("send")
def send_command(task_id: Annotated[int, typer.Argument(help="引継ぎの課題の番号")],
                 to: Annotated[str, typer.Option("--to", help="送付先の自治体コード")],
                 kind: Annotated[str, typer.Option("--kind", help="case_transfer（ケース移管）/ information_provision（情報提供）")],
                 file: FileOut = None, as_role: AsRoleOption = "centre_caseworker",
                 organisation: OrganisationOption = "family_centre", home: HomeOption = None) -> None:
    """パッケージを作成（署名・暗号化）して送付する。"""
    with _hub(home) as opened, _errors():
        hub = opened.hub
        _report(service.send(hub.sessions, _staff(opened, as_role, organisation), task_id, kind=kind, recipient=to,
                             identity=opened.identity, nodes=hub.nodes(), cipher=hub.note_cipher, key=hub.signing_key,
                             file=file))


@handover_app.command("deliver")
def deliver_command(package_id: str, file: FileOut = None, as_role: AsRoleOption = "centre_caseworker",
                    organisation: OrganisationOption = "family_centre", home: HomeOption = None) -> None:
    """作成済みで未送付のパッケージを（再）送付する。"""
    with _hub(home) as opened, _errors():
        _report(service.deliver(opened.hub.sessions, _staff(opened, as_role, organisation), package_id,
                                identity=opened.identity, key=opened.hub.signing_key, file=file))


@handover_app.command("receive")
def receive_command(package: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="受け取ったパッケージのファイル")],
                    receipt_out: Annotated[Path, typer.Option("--receipt-out", dir_okay=False, help="受領通知の書き出し先")],
                    home: HomeOption = None) -> None:
    """LGWANメールで届いたパッケージを検証・復号して受付に入れ、署名付きの受領通知を書き出す。"""
    with _hub(home) as opened:
        with opened.hub.unit() as session:
            received = inbox.receive(session, package.read_bytes(), identity=opened.identity, nodes=opened.hub.nodes(),
                                     via="file", key=opened.hub.signing_key)
            linked = received.package.person_id if received.package is not None else None
        if received.refusal is not None or received.receipt is None:
            fail(f"受付を拒否しました（記録済み）: {received.refusal}")
        service.write_file(receipt_out, received.receipt)
        _run(f"受領しました（{linked or '未登録の転入者として保留'}）。受領通知: {receipt_out}")


@handover_app.command("receipt")
def receipt_command(receipt: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="受領通知のファイル")],
                    home: HomeOption = None) -> None:
    """相手の自治体から届いた受領・受理の通知を検証して記録する。"""
    with _hub(home) as opened:
        _report(service.take_receipt(opened.hub.sessions, receipt.read_bytes(), identity=opened.identity, via="file",
                                     key=opened.hub.signing_key))


@handover_app.command("accept")
def accept_command(package_id: str, file: FileOut = None, as_role: AsRoleOption = "centre_caseworker",
                   organisation: OrganisationOption = "family_centre", home: HomeOption = None) -> None:
    """受領したパッケージを担当者として受理し、受理の通知を送付元に返す。"""
    with _hub(home) as opened, _errors():
        _report(service.accept(opened.hub.sessions, _staff(opened, as_role, organisation, "handover.intake"), package_id,
                               identity=opened.identity, key=opened.hub.signing_key, file=file))


@handover_app.command("link")
def link_command(package_id: str, person_id: str, as_role: AsRoleOption = "centre_caseworker",
                 organisation: OrganisationOption = "family_centre", home: HomeOption = None) -> None:
    """未登録の転入者として保留したパッケージを、転入の届出後に住民記録の子どもと照合する。"""
    with _hub(home) as opened, _errors():
        subject = _staff(opened, as_role, organisation, "handover.intake")
        with opened.hub.unit() as session:
            inbox.link(session, subject, package_id, person_id, key=opened.hub.signing_key)
    _run(f"{package_id} を {person_id} と照合しました")


@handover_app.command("escalate")
def escalate_command(today: TodayOption = None, home: HomeOption = None, json_out: JsonOption = False) -> None:
    """期限を過ぎても送付されていない課題・受領通知のないパッケージを督促（期限超過）にする。"""
    with _hub(home) as opened, opened.hub.unit() as session:
        escalated = outbox.escalate_overdue(session, _today(today), key=opened.hub.signing_key)
    if json_out:
        emit_json(escalated)
    else:
        _run(f"期限超過 {len(escalated)}件" + (f": {', '.join(escalated)}" if escalated else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(handover_app, name="handover")



