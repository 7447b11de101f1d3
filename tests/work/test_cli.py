"""``tsunagu users`` and ``tsunagu resources`` (registered on a local app: cli.py wires them for real)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from tsunagu.commands import resources as resources_cmd
from tsunagu.commands import serve as serve_cmd
from tsunagu.commands import users as users_cmd
from tsunagu.errors import ExitCode
from work.builders import Home

app = typer.Typer()
users_cmd.register(app)
resources_cmd.register(app)
serve_cmd.register(app)
runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> typer.testing.Result:
    return runner.invoke(app, list(args), input=stdin)


def test_users_add_list_disable(home: Home) -> None:
    where = str(home.settings.home)
    added = run("users", "add", "nurse1", "--role", "public_health_nurse", "--name", "保健師 一", "--organisation",
                "maternal_child_health", "--password-stdin", "--home", where, stdin="a-very-long-password\n")
    assert added.exit_code == 0, added.output
    generated = run("users", "add", "ssw2", "--role", "school_social_worker", "--name", "SSW 二", "--organisation",
                    "S001,S002", "--generate", "--home", where, "--json")
    assert generated.exit_code == 0 and len(json.loads(generated.stdout)["password"]) >= 12
    short = run("users", "add", "x1", "--role", "teacher", "--name", "x", "--password-stdin", "--home", where,
                stdin="short\n")
    assert short.exit_code == ExitCode.INPUT and "12文字" in short.output
    unknown = run("users", "add", "x2", "--role", "principal", "--name", "x", "--generate", "--home", where)
    assert unknown.exit_code == ExitCode.INPUT and "役割" in unknown.output
    assert run("users", "disable", "nurse1", "--home", where).exit_code == 0
    listed = json.loads(run("users", "list", "--json", "--home", where).stdout)
    by_id = {u["user_id"]: u for u in listed}
    assert by_id["nurse1"]["disabled"] and by_id["ssw2"]["organisation"] == "S001,S002"
    refused = run("users", "list", "--as-role", "teacher", "--home", where)
    assert refused.exit_code == ExitCode.REFUSED and "拒否" in refused.output


def test_resources_add_import_list(home: Home, tmp_path: Path) -> None:
    where = str(home.settings.home)
    assert run("resources", "add", "--name", "ひとり親家庭 相談窓口", "--category", "相談支援", "--contact",
               "市役所 2階", "--home", where).exit_code == 0
    file = tmp_path / "r.yaml"
    file.write_text("resources:\n  - {name: フードバンク つなぐ, category: 経済的支援, public: false}\n", encoding="utf-8")
    imported = run("resources", "import", str(file), "--home", where)
    assert imported.exit_code == 0 and "追加 1件" in imported.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("resources:\n  - {name: x, category: y, colour: red}\n", encoding="utf-8")
    refused = run("resources", "import", str(bad), "--home", where)
    assert refused.exit_code == ExitCode.CONFIG and "bad.yaml" in refused.output
    names = [r["name"] for r in json.loads(run("resources", "list", "--json", "--home", where).stdout)]
    assert {"ひとり親家庭 相談窓口", "フードバンク つなぐ", "こども食堂 ひだまり"} <= set(names)
