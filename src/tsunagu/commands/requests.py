"""``tsunagu requests``: the family's disclosure, correction, suspension and deletion requests.

As for ``tsunagu audit``, the CLI user is the operating-system user acting in ``--as-role``
(privacy_officer by default); a data steward answers the correction notices of their own
department (``--as-role data_steward --organisation <department>``). Every command is decided
by the policy and recorded in the same transaction as what it does; a refusal is committed,
then reported with exit code 1.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from tsunagu.commands.audit import jst
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
from tsunagu.privacy import Subject
from tsunagu.work.errors import WorkError
from tsunagu.work.rights import corrections, requests
from tsunagu.work.rights.deletion import DeletionScope
from tsunagu.work.rights.disclosure import build_pack, pack_json

requests_app = typer.Typer(help="本人・法定代理人からの請求（開示・訂正・利用停止・削除）", no_args_is_help=True)
T = TypeVar("T")

AsRoleOption = Annotated[str, typer.Option(
    "--as-role", help="CLIを使う人の役割: privacy_officer（既定）。訂正の連絡への回答は data_steward。OSのユーザー名とともに記録されます")]
OrganisationOption = Annotated[str, typer.Option(
    "--organisation", help="所属（アクセス記録に残す）。data_steward は部署ID（例: resident_registry）")]


def _subject(as_role: str, organisation: str) -> Subject:
    # Data stewards answer their department's correction notices, so any role may be claimed here:
    # the policy decides, and a refusal is on the record.
    return cli_subject(as_role, organisation, back_office_only=False)


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} は YYYY-MM-DD で指定してください（指定: {text}）")


def _with_hub(settings: Settings, work: Callable[[Session, Hub], T]) -> T:
    """Run ``work`` in one unit of work on the home's hub; a refusal is committed (it is on record), then reported."""
    # Migrated: a home made before the request tables existed gets them now.
    with Hub.open(settings) as hub:
        try:
            with hub.unit() as session:
                return work(session, hub)
        except WorkError as exc:
            fail(exc.message, exc.exit_code)


def _in_hub(settings: Settings, work: Callable[[Session], T]) -> T:
    """``_with_hub`` for work that needs only the session."""
    return _with_hub(settings, lambda session, _hub: work(session))


def _print(view: requests.RequestView) -> None:
    mark = "[red]期限超過[/] " if view.overdue else ""
    console.print(f"[bold]受付番号 {view.id}[/] {view.kind_label} 個人ID {view.person_id} — {mark}{view.status_label}")
    console.print(f"  請求者: {view.requester_label} {view.requester_note}  受付日: {view.received_on}  "
                  f"期限: {view.effective_due_on}（{view.article}"
                  + (f"、延長 {view.extension_article}: {view.extension_reason}" if view.extended_due_on else "") + "）")
    console.print(f"  担当: {view.handler}" + (f"  結果: {view.outcome_note}" if view.outcome_note else ""))
    for notice in view.notices:
        console.print(f"  訂正の連絡 #{notice.id} → {notice.department_label}: {notice.source_label} {notice.local_id} "
                      f"{notice.field_label} を「{notice.claimed_value}」に — {notice.status_label}")
    for event in view.events:
        console.print(f"  [dim]{jst(event.at)} {event.event_label} {event.to_status_label}: {event.note}[/]")


def _json(view: requests.RequestView) -> dict[str, Any]:
    return {"id": view.id, "kind": view.kind, "person_id": view.person_id, "requester_kind": view.requester_kind,
            "requester_note": view.requester_note, "received_on": view.received_on, "due_on": view.due_on,
            "extended_due_on": view.extended_due_on, "effective_due_on": view.effective_due_on,
            "extension_reason": view.extension_reason, "status": view.status, "overdue": view.overdue,
            "days_left": view.days_left, "handler": view.handler, "outcome_note": view.outcome_note,
            "article": view.article, "detail": view.detail, "events": view.events, "notices": view.notices}


def _show(view: requests.RequestView, json_out: bool) -> None:
    if json_out:
        emit_json(_json(view))
    else:
        _print(view)


@requests_app.command("add")
def add_command(
    person_id: str = typer.Argument(..., help="本人の個人ID（仮名）"),
    kind: str = typer.Option(..., "--kind", help="disclosure（開示）/ correction（訂正）/ suspension（利用停止）/ deletion（削除）"),
    requester_kind: str = typer.Option(
        "person", "--requester", help="person（本人）/ legal_representative（法定代理人）/ agent（任意代理人）"),
    note: str = typer.Option("", "--note", help="請求者の補足（例: 母（親権者））。氏名・住所は書かない"),
    received: str = typer.Option(..., "--received", help="受付日（YYYY-MM-DD）"),
    source: str | None = typer.Option(None, "--source", help="訂正: データソース"),
    local_id: str | None = typer.Option(None, "--local-id", help="訂正: 記録番号"),
    field: str | None = typer.Option(None, "--field", help="訂正: データ項目または本人確認情報の項目"),
    value: str | None = typer.Option(None, "--value", help="訂正: 本人が正しいとする値"),
    work_records: bool = typer.Option(False, "--work-records", help="削除: 終結した支援の記録も削除する（理由が必要）"),
    work_reason: str = typer.Option("", "--work-reason", help="削除: 支援の記録を削除する理由"),
    home: HomeOption = None, json_out: JsonOption = False, as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
) -> None:
    """請求を受け付ける（期限は受付日と種類から計算されます）。"""
    settings = settings_for(home)
    subject, key, day = _subject(as_role, organisation), signing_key(settings), _day(received, "--received")
    assert day is not None
    claims = []
    if kind == "correction":
        if not (source and local_id and field and value):
            fail("訂正請求には --source --local-id --field --value を指定してください。")
        claims.append(corrections.CorrectionClaim(source, local_id, field, value))
    view = _with_hub(settings, lambda s, hub: requests.create_request(
        s, subject, person_id, kind, requester_kind=requester_kind, received_on=day, requester_note=note, claims=claims,
        deletion=DeletionScope(work_records, work_reason), manifests=hub.manifests, key=key))
    _show(view, json_out)


@requests_app.command("list")
def list_command(
    open_only: bool = typer.Option(False, "--open", help="対応中の請求だけ"),
    home: HomeOption = None, json_out: JsonOption = False, as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
) -> None:
    """請求の一覧（期限の近い順。期限超過に印）。"""
    settings = settings_for(home)
    subject, key = _subject(as_role, organisation), signing_key(settings)
    views = _in_hub(settings, lambda s: requests.list_requests(s, subject, open_only=open_only, key=key))
    if json_out:
        emit_json([_json(v) for v in views])
        return
    table = Table(title=f"請求（{len(views)}件）")
    for header in ("受付番号", "種類", "個人ID", "受付日", "期限", "残り日数", "状況", "担当"):
        table.add_column(header)
    for v in views:
        left = ("[red]超過 " + str(-v.days_left) + "日[/]") if v.overdue else (str(v.days_left) if v.open else "")
        table.add_row(str(v.id), v.kind_label, v.person_id, str(v.received_on), str(v.effective_due_on), left,
                      v.status_label, v.handler)
    console.print(table)


@requests_app.command("show")
def show_command(
    request_id: int = typer.Argument(..., help="受付番号"), home: HomeOption = None, json_out: JsonOption = False,
    as_role: AsRoleOption = "privacy_officer", organisation: OrganisationOption = "cli",
) -> None:
    """請求の内容と経過。"""
    settings = settings_for(home)
    subject, key = _subject(as_role, organisation), signing_key(settings)
    _show(_with_hub(settings, lambda s, hub: requests.get_request(s, subject, request_id, manifests=hub.manifests,
                                                                  key=key)),
          json_out)


@requests_app.command("start")
def start_command(
    request_id: int = typer.Argument(..., help="受付番号"),
    handler: str | None = typer.Option(None, "--handler", help="担当者の利用者ID（既定: 変更しない）"),
    note: str = typer.Option("", "--note", help="経過に残すメモ"),
    home: HomeOption = None, json_out: JsonOption = False, as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
) -> None:
    """対応を始める（対応中にする）。"""
    settings = settings_for(home)
    subject, key = _subject(as_role, organisation), signing_key(settings)
    _show(_in_hub(settings, lambda s: requests.start(s, subject, request_id, handler=handler, note=note, key=key)),
          json_out)


@requests_app.command("extend")
def extend_command(
    request_id: int = typer.Argument(..., help="受付番号"),
    reason: str = typer.Option(..., "--reason", help="延長の理由（請求者に通知します）"),
    home: HomeOption = None, json_out: JsonOption = False, as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
) -> None:
    """期限を延長する（1回、当初の期限までに、理由を記録して）。"""
    settings = settings_for(home)
    subject, key = _subject(as_role, organisation), signing_key(settings)
    _show(_in_hub(settings, lambda s: requests.extend(s, subject, request_id, reason, key=key)), json_out)


@requests_app.command("complete")
def complete_command(
    request_id: int = typer.Argument(..., help="受付番号"),
    note: str = typer.Option("", "--note", help="決定の内容（請求者への通知に書くこと）"),
    home: HomeOption = None, json_out: JsonOption = False, as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
) -> None:
    """請求に応じて完了する（利用停止請求は利用停止を、削除請求は派生データの削除を行います）。"""
    settings = settings_for(home)
    subject, key = _subject(as_role, organisation), signing_key(settings)
    _show(_in_hub(settings, lambda s: requests.complete(s, subject, request_id, note, key=key)), json_out)


@requests_app.command("refuse")
def refuse_command(
    request_id: int = typer.Argument(..., help="受付番号"),
    reason: str = typer.Option(..., "--reason", help="請求に応じない理由（請求者に通知します）"),
    home: HomeOption = None, json_out: JsonOption = False, as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
) -> None:
    """請求に応じない決定をする（理由を記録）。"""
    settings = settings_for(home)
    subject, key = _subject(as_role, organisation), signing_key(settings)
    _show(_in_hub(settings, lambda s: requests.refuse(s, subject, request_id, reason, key=key)), json_out)


@requests_app.command("lift")
def lift_command(
    request_id: int = typer.Argument(..., help="利用停止請求の受付番号"),
    reason: str = typer.Option(..., "--reason", help="解除の理由"),
    home: HomeOption = None, json_out: JsonOption = False, as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
) -> None:
    """利用停止請求による利用停止を解除する（理由を記録）。"""
    settings = settings_for(home)
    subject, key = _subject(as_role, organisation), signing_key(settings)
    _show(_in_hub(settings, lambda s: requests.lift_suspension(s, subject, request_id, reason, key=key)), json_out)


@requests_app.command("disclosure")
def disclosure_command(
    request_id: int = typer.Argument(..., help="開示請求の受付番号"),
    out: Path = typer.Option(..., "--out", help="開示資料を書き出すフォルダ", file_okay=False),
    fmt: str = typer.Option("both", "--format", help="pdf / json / both"),
    home: HomeOption = None, as_role: AsRoleOption = "privacy_officer", organisation: OrganisationOption = "cli",
) -> None:
    """開示資料（JSONと日本語PDF）を作成する。各部署のノードに開示のための提供を求め、すべて記録します。"""
    if fmt not in ("pdf", "json", "both"):
        fail("--format は pdf / json / both のいずれかです。")
    settings = settings_for(home)
    subject, key = _subject(as_role, organisation), signing_key(settings)
    formats = {"pdf": "PDF", "json": "JSON", "both": "JSON・PDF"}[fmt]
    data = _with_hub(settings, lambda s, hub: build_pack(s, subject, request_id, nodes=hub.nodes(),
                                                         manifests=hub.manifests, cipher=hub.note_cipher,
                                                         formats=formats, key=key))
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"disclosure-{request_id}-{data['person_id']}"
    written = []
    if fmt in ("json", "both"):
        stem.with_suffix(".json").write_bytes(pack_json(data))
        written.append(stem.with_suffix(".json"))
    if fmt in ("pdf", "both"):
        # reportlab only when a PDF is made: a tenth of a second off every other command's start
        from tsunagu.work.rights.pdf import FontMissingError, render_pdf

        try:
            stem.with_suffix(".pdf").write_bytes(render_pdf(data))
        except FontMissingError as exc:
            fail(str(exc), exc.exit_code)
        written.append(stem.with_suffix(".pdf"))
    for path in written:
        path.chmod(0o600)  # a child's whole record: readable by the officer only
        console.print(f"[green]✔[/] {path}")


@requests_app.command("notices")
def notices_command(
    include_resolved: bool = typer.Option(False, "--all", help="回答済みの連絡も表示する"),
    home: HomeOption = None, json_out: JsonOption = False, as_role: AsRoleOption = "privacy_officer",
    organisation: OrganisationOption = "cli",
) -> None:
    """訂正の連絡（データ担当は自部署宛て、個人情報保護担当はすべて）。"""
    settings = settings_for(home)
    subject, key = _subject(as_role, organisation), signing_key(settings)
    rows = _with_hub(settings, lambda s, hub: corrections.list_notices(s, subject, include_resolved=include_resolved,
                                                                        manifests=hub.manifests, key=key))
    if json_out:
        emit_json(rows)
        return
    table = Table(title=f"訂正の連絡（{len(rows)}件）")
    for header in ("番号", "受付番号", "部署", "データ", "記録番号", "項目", "本人の主張", "状況", "連絡日"):
        table.add_column(header)
    for n in rows:
        table.add_row(str(n.id), str(n.request_id), n.department_label, n.source_label, n.local_id, n.field_label,
                      n.claimed_value, n.status_label, jst(n.created_at))
    console.print(table)


@requests_app.command("resolve")
def resolve_command(
    notice_id: int = typer.Argument(..., help="訂正の連絡の番号"),
    corrected: bool = typer.Option(False, "--corrected", help="訂正した出力を取り込んだ"),
    rejected: bool = typer.Option(False, "--rejected", help="訂正しない（--reason が必要）"),
    export_date: str | None = typer.Option(None, "--export-date", help="訂正を反映した出力の出力日（YYYY-MM-DD）"),
    reason: str = typer.Option("", "--reason", help="訂正しない理由、または補足"),
    home: HomeOption = None, json_out: JsonOption = False, as_role: AsRoleOption = "data_steward",
    organisation: OrganisationOption = "cli",
) -> None:
    """保有部署として訂正の連絡に回答する（データ担当）。"""
    if corrected == rejected:
        fail("--corrected か --rejected のどちらか一方を指定してください。")
    settings = settings_for(home)
    subject, key = _subject(as_role, organisation), signing_key(settings)
    exported = _day(export_date, "--export-date")
    view = _in_hub(settings, lambda s: corrections.resolve_notice(
        s, subject, notice_id, "corrected" if corrected else "rejected", note=reason, corrected_export_on=exported,
        key=key))
    if json_out:
        emit_json(view)
        return
    console.print(f"[green]✔[/] 訂正の連絡 #{view.id}: {view.status_label}")


def register(app: typer.Typer) -> None:
    app.add_typer(requests_app, name="requests")
