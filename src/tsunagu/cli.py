"""The one entry point: ``tsunagu <verb>``."""

from __future__ import annotations

import typer

from tsunagu import __version__
from tsunagu.commands import audit as audit_cmd
from tsunagu.commands import bench as bench_cmd
from tsunagu.commands import catalog as catalog_cmd
from tsunagu.commands import demo as demo_cmd
from tsunagu.commands import handover as handover_cmd
from tsunagu.commands import home as home_cmd
from tsunagu.commands import ingest as ingest_cmd
from tsunagu.commands import keys as keys_cmd
from tsunagu.commands import link as link_cmd
from tsunagu.commands import manifest as manifest_cmd
from tsunagu.commands import node as node_cmd
from tsunagu.commands import outreach as outreach_cmd
from tsunagu.commands import prefecture as prefecture_cmd
from tsunagu.commands import registers as registers_cmd
from tsunagu.commands import requests as requests_cmd
from tsunagu.commands import resources as resources_cmd
from tsunagu.commands import retention as retention_cmd
from tsunagu.commands import screen as screen_cmd
from tsunagu.commands import serve as serve_cmd
from tsunagu.commands import stats as stats_cmd
from tsunagu.commands import synth as synth_cmd
from tsunagu.commands import urgency as urgency_cmd
from tsunagu.commands import users as users_cmd
from tsunagu.commands.common import run_app

app = typer.Typer(
    name="tsunagu",
    help="つなぐ — 部署が持つ子どものデータを、中央データベースを作らずにつなぎ、支援が必要な子どもを見つける",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="バージョンを表示して終了する", is_eager=True),
) -> None:
    if version:
        typer.echo(f"tsunagu {__version__}")
        raise typer.Exit()


demo_cmd.register(app)
home_cmd.register(app)
catalog_cmd.register(app)
ingest_cmd.register(app)
link_cmd.register(app)
screen_cmd.register(app)
synth_cmd.register(app)
node_cmd.register(app)
audit_cmd.register(app)
requests_cmd.register(app)
retention_cmd.register(app)
registers_cmd.register(app)
keys_cmd.register(app)
bench_cmd.register(app)
users_cmd.register(app)
resources_cmd.register(app)
serve_cmd.register(app)
manifest_cmd.register(app)
stats_cmd.register(app)
handover_cmd.register(app)
urgency_cmd.register(app)
outreach_cmd.register(app)
prefecture_cmd.register(app)


def main() -> None:
    run_app(app)
