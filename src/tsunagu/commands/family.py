"""``tsunagu family``: the family portal's enrolment letters (the staff side of /family/).

``issue-code`` is run by the privacy officer (``--as-role``, recorded with the OS user name):
the register is asked for the guardian's name and address, a one-time code is made (its hash
kept, earlier unused codes revoked) and the letter written as a PDF to print and post.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

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
from tsunagu.hub import Hub
from tsunagu.privacy.policy import JST
from tsunagu.work.errors import WorkError
from tsunagu.work.family.issue import issue_code
from tsunagu.work.family.letter import render_letter

family_app = typer.Typer(help="家族向けページ（保護者の登録コードと通知書）", no_args_is_help=True)


@family_app.command("issue-code")
def issue_code_command(
    register_id: Annotated[str, typer.Option("--aza", help="保護者の宛名番号（住民記録）")],
    out: Annotated[Path, typer.Option("--out", help="通知書（PDF）の書き出し先")],
    portal_url: Annotated[str, typer.Option("--portal-url", help="通知書に印刷する家族向けページのURL（…/family/enrol）")],
    as_role: Annotated[str, typer.Option("--as-role", help="CLIを使う人の役割（既定: privacy_officer）")] = "privacy_officer",
    organisation: Annotated[str, typer.Option("--organisation", help="所属（アクセス記録に残す）")] = "privacy",
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """保護者の住民記録について登録コードを発行し、郵送する通知書（PDF）を作る。前のコードは使えなくなる。"""
    settings = settings_for(home)
    subject = cli_subject(as_role, organisation, back_office_only=False)
    key = signing_key(settings)
    if out.exists() and out.is_dir():
        fail(f"{out} はフォルダです。PDFのファイル名を指定してください。")
    with Hub.open(settings) as hub:
        try:
            with hub.unit() as session:
                issued = issue_code(session, subject, register_id, nodes=hub.nodes(), manifests=hub.manifests,
                                    days=settings.family_code_days, key=key)
                # The letter is written before the code is committed: a code nobody can be sent never exists.
                pdf = render_letter(issued, municipality=settings.municipality_name or "", portal_url=portal_url,
                                    issued_on=datetime.now(JST).date())
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(pdf)
        except WorkError as exc:
            fail(exc.message, exc.exit_code)
    if json_out:
        emit_json({"login_id": issued.login_id, "expires_at": issued.expires_at.isoformat(), "letter": str(out)})
        return
    console.print(f"通知書を書き出しました: {out}（利用者番号 {issued.login_id}、有効期限 "
                  f"{issued.expires_at.astimezone(JST):%Y-%m-%d %H:%M}）。コードは通知書にだけ印刷されています。")


def register(app: typer.Typer) -> None:
    app.add_typer(family_app, name="family")
