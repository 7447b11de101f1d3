"""``tsunagu screen`` and ``tsunagu rules``: first-stage screening runs and the rule sets behind them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from tsunagu.commands.common import HomeOption, JsonOption, console, emit_json, fail, reported_errors, settings_for
from tsunagu.config import Settings
from tsunagu.hub import Hub
from tsunagu.screen import RuleSet, load_rule_set
from tsunagu.screen.expr import ExprError
from tsunagu.screen.runs.run import ScreeningReport, run_screening
from tsunagu.screen.runs.truth import evaluate_screening
from tsunagu.screen.scenarios import load_scenarios, run_scenario
from tsunagu.work.access import suspended_persons

screen_app = typer.Typer(help="一次スクリーニング", invoke_without_command=True)
rules_app = typer.Typer(help="判定ルール", no_args_is_help=True)


def rule_set_for(hub: Hub) -> RuleSet:
    path = hub.rules_path
    if not (path / "baseline").is_dir():
        fail(f"判定ルールが見つかりません: {path}/baseline（rules_dir を設定してください） / no rule set")
    with reported_errors(ExprError):
        return hub.rule_set()


def screen_home(settings: Settings, as_of: date) -> ScreeningReport:
    with Hub.open(settings) as hub:
        rule_set = rule_set_for(hub)
        with hub.sessions.begin() as session:
            return run_screening(session, hub.nodes(), hub.manifests, hub.catalog, rule_set, as_of,
                                 excluded=suspended_persons(session))


@screen_app.callback()
def screen(
    ctx: typer.Context,
    as_of: str = typer.Option(date.today().isoformat(), "--as-of", help="基準日（YYYY-MM-DD）"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """連携済みの全ての子どもについて、基準日時点の判定ルールを評価し、結果を保存する。"""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_for(home)
    with reported_errors(RuntimeError):
        report = screen_home(settings, _date(as_of))
    if json_out:
        emit_json(report)
        return
    table = Table(title=f"一次スクリーニング（{report.as_of}時点・{report.children:,}人・{report.seconds}秒）")
    table.add_column("区分")
    table.add_column("人数", justify="right")
    for tier, count in report.by_tier.items():
        table.add_row(tier, f"{count:,}")
    table.add_row("うちノーマーク（どの支援機関も把握していない）", f"{report.no_mark:,}")
    table.add_row("初めて挙がった子ども", f"{report.first_flags:,}")
    table.add_row("前回より悪化", f"{report.worse:,}")
    table.add_row("給付の利用だけが理由（スティグマ防止で見守りまで）", f"{report.benefit_only_flags:,}")
    table.add_row(f"掲載枠（{report.list_share:.0%}・{report.list_capacity:,}人）に載った子ども", f"{report.listed:,}")
    table.add_row("区分はあるが掲載枠に入らなかった子ども（枠外）", f"{report.list_beyond:,}")
    console.print(table)
    if report.list_overflow:
        console.print(f"[yellow]ハードルールに該当する子どもだけで掲載枠を {report.list_overflow:,}人 超えています"
                      "（全員を載せています。掲載枠の見直しを検討してください）。[/]")
    elif report.list_beyond:
        console.print(f"[yellow]区分のある子どものうち {report.list_beyond:,}人 は掲載枠に入りませんでした"
                      "（区分は記録に残っています。枠を広げるかどうかは自治体が判断します）。[/]")
    console.print("[dim]挙がったことは「確認する理由」であり、家庭についての判断ではありません。[/]")
    for source in report.missing_sources:
        console.print(f"[yellow]未取得のデータソース:[/] {source}")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"日付は YYYY-MM-DD で指定してください: {text!r}")


@screen_app.command("evaluate")
def evaluate(
    truth: Path = typer.Option(..., "--truth", help="合成データの truth フォルダ", exists=True, file_okay=False),
    run: str | None = typer.Option(None, "--run", help="評価する実行ID（既定: 最新）"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """スクリーニング結果を正解と比べる（再現率・適合率・掲載割合・ノーマーク割合・単一部署との比較）。"""
    settings = settings_for(home)
    with reported_errors(FileNotFoundError, LookupError), Hub(settings) as hub, hub.sessions() as session:
        report = evaluate_screening(session, truth, run)
    if json_out:
        emit_json(report)
        return
    console.print(f"再現率 recall {report['recall']:.3f} / 適合率 precision {report['precision']:.3f} / "
                  f"掲載割合 listed {report['listed_share']:.3%} / ノーマーク割合 {report['no_mark_share']:.3f}")
    console.print(f"単一部署で最良の再現率（同じ人数）: {report['single_department_recall']:.3f}"
                  f"（{report['best_single_department']}）")
    for group, figures in report["by_group"].items():
        console.print(f"  {group}: 見逃し率 {figures['false_negative_rate']:.3f} / 過剰掲載率 {figures['false_positive_rate']:.3f}")


@rules_app.command("show")
def rules_show(
    as_of: str = typer.Option(date.today().isoformat(), "--as-of", help="基準日（YYYY-MM-DD）"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """基準日に有効な判定ルール（全国基準＋自治体の上書き、出典つき）を表示する。"""
    with Hub(settings_for(home)) as hub:
        rule_set = rule_set_for(hub)
    resolved = rule_set.resolved(_date(as_of))
    if json_out:
        emit_json({"rule_set_hash": rule_set.hash, **resolved})
        return
    console.print(f"[bold]判定ルール[/] {rule_set.hash[:12]}（{as_of}時点）")
    for name, value in resolved.get("parameters", {}).items():
        console.print(f"  {name} = {value.get('value')}  [dim]{value.get('reference', '')} / {value.get('origin', '')}[/]")


@rules_app.command("test")
def rules_test(
    path: Path | None = typer.Argument(None, help="シナリオのYAMLファイルまたはフォルダ（既定: rules/baseline/scenarios）"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """YAMLで書かれたシナリオテストを実行する（政策担当者が書けるテスト）。"""
    with Hub(settings_for(home)) as hub:
        rules_path = hub.rules_path
    target = path or rules_path / "baseline" / "scenarios"
    files = sorted(target.glob("*.yaml")) if target.is_dir() else [target]
    if not files:
        fail(f"シナリオがありません: {target}")
    # Each file names the rule set it tests: the national baseline's scenarios run against the
    # baseline, a municipality's against the baseline with that municipality's changes.
    rule_sets: dict[str | None, RuleSet] = {}
    outcomes = []
    with reported_errors(ExprError, FileNotFoundError):
        for file in files:
            for loaded in load_scenarios(file):
                if loaded.municipality not in rule_sets:
                    rule_sets[loaded.municipality] = load_rule_set(rules_path, loaded.municipality)
                outcomes.append(run_scenario(loaded, rule_sets[loaded.municipality]))
    failed = [o for o in outcomes if not o.passed]
    if json_out:
        emit_json({"passed": len(outcomes) - len(failed), "failed": len(failed), "scenarios": outcomes})
    else:
        for outcome in outcomes:
            mark = "[green]✔[/]" if outcome.passed else "[red]✘[/]"
            console.print(f"{mark} {outcome.name}" + ("" if outcome.passed else f" — {'; '.join(outcome.differences)}"))
        console.print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from tsunagu.commands import ranking  # imports this module: its verbs join `screen` here

    ranking.register(screen_app)
    app.add_typer(screen_app, name="screen")
    app.add_typer(rules_app, name="rules")
