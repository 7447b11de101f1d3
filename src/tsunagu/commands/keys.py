"""``tsunagu keys rotate|list``: the case-note encryption keys and the hub's signing key.

Key management is an administration action: decided by the policy for the OS user in the
``--as-role`` role (administrator by default) and recorded in the access log.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from tsunagu.commands.audit import AsRoleOption, OrganisationOption, hub_session
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
from tsunagu.privacy import (
    KeyFileError,
    NoteKeyError,
    RotationReport,
    authorise,
    load_note_cipher,
    public_key_hex,
    rotate,
)
from tsunagu.privacy.crypto import notes_dir
from tsunagu.work.notes import reencrypt_notes

keys_app = typer.Typer(help="暗号鍵（ケース記録の暗号化鍵・アクセス記録の署名鍵）の管理", no_args_is_help=True)


@keys_app.command("rotate")
def rotate_command(
    home: HomeOption = None,
    json_out: JsonOption = False,
    as_role: AsRoleOption = "administrator",
    organisation: OrganisationOption = "cli",
) -> None:
    """ケース記録の暗号鍵を新しくする。古い鍵は、古い記録を読むために残します。"""
    settings = settings_for(home)
    subject = cli_subject(as_role, organisation)
    key = signing_key(settings)
    report: RotationReport | None = None
    error: str | None = None
    with hub_session(settings) as session:
        decision = authorise(session, subject, "keys.manage", "administration", key=key)
        if decision.allowed:
            try:
                # Every stored case note moves to the new key in the same hub transaction.
                report = rotate(settings.home, lambda old, new: reencrypt_notes(session, old, new),
                                note_key=settings.note_key)
            except (NoteKeyError, KeyFileError) as exc:
                error = str(exc)
    if not decision.allowed:
        refuse(decision.reason)
    if report is None:
        fail(error or "鍵を更新できませんでした")
    if json_out:
        emit_json(report)
        return
    console.print(f"[green]✔[/] ケース記録の暗号鍵を更新しました: {report.old_key_id} → {report.new_key_id}")
    console.print(f"  再暗号化した記録: {report.reencrypted}件、保管中の鍵: {len(report.key_ids)}個（{notes_dir(settings.home)}）")


@keys_app.command("list")
def list_command(
    home: HomeOption = None,
    json_out: JsonOption = False,
    as_role: AsRoleOption = "administrator",
    organisation: OrganisationOption = "cli",
) -> None:
    """鍵の一覧（鍵そのものは表示しません）と、アクセス記録の署名用公開鍵を表示する。"""
    settings = settings_for(home)
    subject = cli_subject(as_role, organisation)
    key = signing_key(settings)
    payload: dict[str, Any] = {}
    error: str | None = None
    with hub_session(settings) as session:
        decision = authorise(session, subject, "keys.manage", "administration", key=key)
        if decision.allowed:
            try:
                cipher = load_note_cipher(settings.home, settings.note_key)
                payload = {"note_keys": list(cipher.key_ids), "current_note_key": cipher.current_key_id,
                           "note_key_from_settings": bool(settings.note_key),
                           "signing_public_key": public_key_hex(key)}
            except (NoteKeyError, KeyFileError) as exc:
                error = str(exc)
    if not decision.allowed:
        refuse(decision.reason)
    if error is not None:
        fail(error)
    if json_out:
        emit_json(payload)
        return
    table = Table(title="ケース記録の暗号鍵")
    table.add_column("鍵ID")
    table.add_column("現在")
    for key_id in payload["note_keys"]:
        table.add_row(key_id, "●" if key_id == payload["current_note_key"] else "")
    console.print(table)
    console.print(f"アクセス記録の署名用公開鍵（Ed25519）: {payload['signing_public_key']}")
    console.print("  この値をホームの外（運用記録など）にも控えておくと、`tsunagu audit verify --public-key` で照合できます。")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
