"""``tsunagu serve``: the staff web app (and the public resource page) with uvicorn."""

from __future__ import annotations

import ipaddress

import typer

from tsunagu.commands.common import HomeOption, console, fail, reported_errors, settings_for
from tsunagu.errors import ExitCode
from tsunagu.store.db import migrate
from tsunagu.store.files import loose_files, loose_files_message


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="待ち受けるアドレス（既定: この機械の中だけ）"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="待ち受けるポート"),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Cookie に Secure を付ける（HTTPS の逆プロキシの後ろで動かすとき）"
    ),
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, help="ワーカープロセスの数（目安: CPU コア数。1 プロセスは 1 コアしか使えません）"
    ),
    home: HomeOption = None,
) -> None:
    """職員用ウェブアプリを起動する。"""
    from tsunagu.web.serving import check_port, run

    settings = settings_for(home)
    with reported_errors():
        check_port(host, port)
    migrate(settings.hub_url)
    files, folders = loose_files(settings.home, settings.hub_url)
    if files:  # a database others can read: refuse to serve it
        fail(loose_files_message(files, folders), ExitCode.CONFIG)
    if folders:
        console.print(f"[yellow]注意:[/] {loose_files_message(files, folders)}")
    if not _loopback(host) and not secure_cookies:
        console.print("[yellow]注意:[/] この機械の外から接続できます。HTTPS の逆プロキシの後ろで --secure-cookies を付けて動かしてください。")
    console.print(f"tsunagu: http://{host}:{port}/ （ワーカー {workers}、停止は Ctrl+C）")
    run(settings, host=host, port=port, workers=workers, secure_cookies=secure_cookies, log_level="info",
        proxy_headers=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
