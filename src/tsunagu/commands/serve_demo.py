"""The end of ``tsunagu demo``: demo accounts for every role, then the staff web app."""

from __future__ import annotations

from pathlib import Path

from tsunagu.catalog.schools import school_names
from tsunagu.commands.common import console, emit_json, err_console
from tsunagu.config import load_settings
from tsunagu.demo import seed_demo_cases
from tsunagu.demo_accounts import DemoAccount, ensure_demo_accounts
from tsunagu.hub import Hub
from tsunagu.privacy.records import organisation_label
from tsunagu.stats.demo import seed_demo_work

HOST, PORT = "127.0.0.1", 8000


def url_of(host: str, port: int) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def prepare_accounts(home: Path) -> list[DemoAccount]:
    with Hub(load_settings(home)) as hub:
        with hub.sessions.begin() as session:
            accounts = ensure_demo_accounts(session, home)
        with hub.sessions.begin() as session:
            # The demo's recorded reviews and referrals, and the finance section's programmes (first run only).
            seed_demo_work(session, home, hub.note_cipher, hub.signing_key)
        with hub.sessions.begin() as session:
            seed_demo_cases(session, hub.note_cipher, hub.signing_key)  # owners, contacts, a meeting, the ledger
        return accounts


def print_accounts(accounts: list[DemoAccount], json_out: bool, url: str = url_of(HOST, PORT),
                   schools: dict[str, str] | None = None) -> None:
    """The accounts, one a line; a school role's school by its name from the 学校マスタ (``schools``)."""
    if json_out:
        emit_json({"url": url, "accounts": accounts})
        return
    console.print(f"[bold]デモ用アカウント[/]（{url} でサインイン。パスワードはこの実行でのみ表示し、保存はハッシュのみ）")
    width = max(len(a.user_id) for a in accounts)
    for account in accounts:
        # Plain lines, not a table: a password must never be cut to fit the terminal.
        console.print(f"  {account.user_id:<{width}}  {account.password}  {account.label}（{_organisation(account.organisation, schools or {})}）",
                      soft_wrap=True)
    console.print("まず centre（こども家庭センター職員）でサインインすると、市全域の候補一覧を見られます。", soft_wrap=True)
    console.print("stats（統計担当）では、個々の子どもを見ずに統計・予算・評価のページ（/statistics）を見られます。", soft_wrap=True)


def _organisation(organisation: str, schools: dict[str, str]) -> str:
    return schools.get(organisation) or organisation_label(organisation)


def serve_demo(home: Path, *, quiet: bool = False, serve: bool = True, host: str = HOST,
               port: int = PORT) -> list[DemoAccount]:
    accounts = prepare_accounts(home)
    url = url_of(host, port)
    print_accounts(accounts, quiet, url, school_names(home))
    if serve:
        import uvicorn

        from tsunagu.web.app import create_app

        (err_console if quiet else console).print(f"tsunagu: {url} で待ち受けています（停止は Ctrl+C）", soft_wrap=True)
        (err_console if quiet else console).print(
            f"次回からは作成済みのホームをそのまま表示できます: tsunagu serve --home {home} --port {port}", soft_wrap=True)
        uvicorn.run(create_app(load_settings(home)), host=host, port=port, log_level="warning")
    return accounts
