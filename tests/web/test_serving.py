"""`tsunagu serve --workers 2`: two processes on one port, and what a user carries from request to
request — the session, its CSRF token, the sign-in throttle — holds whichever process answers."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.serving import free_port
from work.builders import PASSWORD, Home

CLI = "from tsunagu.cli import main; main()"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _workers(parent: int) -> list[int]:
    """Worker processes of the server (multiprocessing's resource tracker is not one)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(proc.name))
    return found


@pytest.fixture
def server(home: Home) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, "serve", "--home", str(home.settings.home), "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "serve exited"
            try:
                if httpx.get(f"{url}/public/resources", timeout=2).status_code == 200 and len(_workers(process.pid)) == 2:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "tsunagu serve --workers 2 did not start"
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _fresh_connections(url: str) -> httpx.Client:
    # A new connection per request: the kernel hands each to whichever worker accepts it first.
    return httpx.Client(base_url=url, headers={"Connection": "close"}, timeout=30, follow_redirects=False)


def _sign_in(client: httpx.Client, user_id: str, password: str) -> int:
    token = CSRF.search(client.get("/").text)
    assert token is not None
    return client.post("/login", data={"user_id": user_id, "password": password,
                                       "csrf_token": token.group(1)}).status_code


def test_two_workers_share_sessions_csrf_tokens_and_the_sign_in_throttle(
    server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = server
    assert len(_workers(process.pid)) == 2
    with _fresh_connections(url) as client:
        assert _sign_in(client, "cw1", PASSWORD) == 303
        pages = [client.get("/candidates", params={"purpose": "screening"}) for _ in range(12)]
        assert {p.status_code for p in pages} == {200}
        token = CSRF.search(pages[-1].text)
        assert token is not None
        assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
        assert client.post("/logout", data={"csrf_token": token.group(1)}).status_code == 303
        assert {client.get("/dashboard").status_code for _ in range(6)} == {303}  # signed out everywhere
    with _fresh_connections(url) as client:
        assert [_sign_in(client, "ssw1", f"wrong-password-{i}") for i in range(5)] == [401] * 5
        assert _sign_in(client, "ssw1", PASSWORD) == 429
