"""``tsunagu node serve`` and ``tsunagu node keygen``: running a department's node service."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import typer

from tsunagu.catalog import default_catalog
from tsunagu.commands.common import (
    HomeOption,
    JsonOption,
    console,
    emit_json,
    err_console,
    fail,
    reported_errors,
    settings_for,
)
from tsunagu.vault.http import signing
from tsunagu.vault.topology import NodeSetupError, node_app_for_home

node_app = typer.Typer(help="部署ノード（保管庫の窓口）の起動と署名鍵の作成", no_args_is_help=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@node_app.command("serve")
def serve(
    department: str = typer.Option(..., "--department", help="部署ID（例: resident_registry）"),
    host: str = typer.Option("127.0.0.1", "--host", help="待ち受けるアドレス（既定はこの機械の中だけ）"),
    port: int = typer.Option(8701, "--port", min=1, max=65535, help="待ち受けるポート"),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", exists=True, dir_okay=False, help="TLS証明書（PEM）"),
    tls_key: Path | None = typer.Option(None, "--tls-key", exists=True, dir_okay=False, help="TLS秘密鍵（PEM）"),
    window: float = typer.Option(120.0, "--window", min=1.0, help="要求の時刻の許容幅（秒）"),
    home: HomeOption = None,
) -> None:
    """部署の保管庫を、署名付きHTTPで答えるノードとして起動する。"""
    import uvicorn

    settings = settings_for(home)
    if (tls_cert is None) != (tls_key is None):
        fail("--tls-cert と --tls-key は両方指定してください / give both --tls-cert and --tls-key, or neither")
    with reported_errors(signing.KeyFileError, NodeSetupError):
        app = node_app_for_home(settings, department, window_s=window)
    scheme = "https" if tls_cert else "http"
    if scheme == "http" and not _is_loopback(host):
        # Signatures protect integrity, not confidentiality: personal data must not cross a network in clear.
        err_console.print("[bold yellow]警告:[/] TLSなしで外部に公開しています。--tls-cert/--tls-key を指定してください"
                          " / serving without TLS on a non-loopback address")
    console.print(f"ノード {department} を {scheme}://{host}:{port} で起動します / serving node")
    uvicorn.run(app, host=host, port=port, log_level="info",
                ssl_certfile=str(tls_cert) if tls_cert else None, ssl_keyfile=str(tls_key) if tls_key else None)


@node_app.command("keygen")
def keygen(
    department: str | None = typer.Option(None, "--department", help="この部署のノード鍵を作る"),
    hub: bool = typer.Option(False, "--hub", help="ハブの鍵を作る（keys/hub_ed25519.pem）"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """署名鍵（Ed25519）を作成し（既にあればそのまま）、相手側に登録する公開鍵を表示する。"""
    settings = settings_for(home)
    if (department is None) == (not hub):
        fail("--department か --hub のどちらか一方を指定してください / give either --department or --hub")
    if department is not None:
        if department not in default_catalog().departments:
            fail(f"部署 {department!r} は目録にありません / unknown department")
        path = signing.node_key_path(settings.home, department)
    else:
        path = signing.hub_key_path(settings.home)
    with reported_errors(signing.KeyFileError):
        key, created = signing.load_or_create_private_key(path)
    public = signing.public_key_b64(key.public_key())
    if json_out:
        emit_json({"key_file": str(path), "public_key_file": str(signing.public_key_path(path)),
                   "public_key": public, "created": created})
        return
    state = "作成しました / created" if created else "既存の鍵を使います（置き換えるには削除してから再実行） / existing key kept"
    console.print(f"{state}: {path}")
    console.print(f"公開鍵 / public key (base64): {public}")


def register(app: typer.Typer) -> None:
    app.add_typer(node_app, name="node")
