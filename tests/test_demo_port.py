"""``tsunagu demo --host/--port``: a taken port is refused at once, before anything is built."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from tsunagu.cli import app
from tsunagu.errors import ExitCode

runner = CliRunner()


def test_a_taken_port_is_refused_before_the_demo_builds_anything(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        home = tmp_path / "home"
        result = runner.invoke(app, ["demo", "--children", "100", "--home", str(home), "--host", "127.0.0.1",
                                     "--port", str(port)])
    assert result.exit_code == ExitCode.UNAVAILABLE
    output = " ".join(result.output.split())
    assert f"ポート {port}" in output and "使用中" in output and "--port" in output and "already in use" in output
    assert not home.exists()  # nothing built, no password printed
    assert "パスワード" not in result.output and "Traceback" not in result.output


def test_serve_refuses_a_taken_port_the_same_way(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert runner.invoke(app, ["init", "--home", str(home), "--name", "つなぐ市", "--code", "272205"]).exit_code == 0
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", "--home", str(home), "--port", str(port)])
    assert result.exit_code == ExitCode.UNAVAILABLE and "使用中" in result.output
