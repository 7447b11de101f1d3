"""``tsunagu family issue-code``: the letter (a PDF with the Japanese font embedded) and its refusals."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from family.builders import GRANDMOTHER, SATO
from tsunagu.cli import app
from work.builders import Home

runner = CliRunner()


def test_issue_code_writes_the_letter_with_the_code_and_the_font(family_home: Home, tmp_path: Path) -> None:
    out = tmp_path / "letters" / "sato.pdf"
    result = runner.invoke(app, ["family", "issue-code", "--aza", SATO, "--out", str(out), "--portal-url",
                                 "https://tsunagu.example.lg.jp/family/enrol", "--home", str(family_home.settings.home),
                                 "--json"])
    assert result.exit_code == 0, result.output
    login_id = json.loads(result.stdout)["login_id"]
    assert out.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert login_id in text and "美紀" in text and "登録コード" in text
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    assert "IPAexGothic" in fonts and " yes " in fonts  # embedded


def test_issue_code_refuses_a_record_that_is_no_parent_and_a_role_that_may_not(family_home: Home,
                                                                              tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    home = str(family_home.settings.home)
    result = runner.invoke(app, ["family", "issue-code", "--aza", GRANDMOTHER, "--out", str(out), "--portal-url", "u",
                                 "--home", home])
    assert result.exit_code != 0 and "続柄" in result.output and not out.exists()
    result = runner.invoke(app, ["family", "issue-code", "--aza", SATO, "--out", str(out), "--portal-url", "u",
                                 "--as-role", "teacher", "--organisation", "S001", "--home", home])
    assert result.exit_code != 0 and "拒否" in result.output and not out.exists()
