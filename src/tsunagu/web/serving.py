"""Running the staff app under uvicorn, in one process or in several worker processes.

Python runs one thread at a time per process, so one process uses one core however many requests
it holds. Workers share nothing in memory and need not: what outlives a request lives in the home
— sessions and CSRF tokens in cookies signed with the home's key, the sign-in throttle and the
audit chain (with its lock) in the hub, break-glass grants in the hub. What each worker keeps for
itself is only an optimisation: the candidate list's copy of the latest run (``work.listing``)
and its connections to the vaults.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Any

from fastapi import FastAPI

from tsunagu.config import Settings, load_settings
from tsunagu.errors import UnavailableError
from tsunagu.hub import Hub
from tsunagu.privacy import load_note_cipher, load_or_create_signing_key
from tsunagu.web.app import create_app, open_nodes_at_start
from tsunagu.web.security import load_or_create_secret
from tsunagu.work.listing import settle_after_loads

# How the serving process tells its workers what to serve (uvicorn starts each worker afresh and
# builds the app from an import string, so the settings travel in the environment).
HOME_ENV = "TSUNAGU_HOME"
SECURE_COOKIES_ENV = "TSUNAGU_WEB_SECURE_COOKIES"


class PortInUseError(UnavailableError):
    """The address and port to serve on are taken (or not this machine's): said before any work."""

    code = "port_in_use"


def check_port(host: str, port: int) -> None:
    """Refuse at once when ``host:port`` cannot be bound — before a demo spends a minute building and
    prints passwords for a server that would then fail to start."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"ポート {port}（{host}）は別のプログラムが使用中です。--port で別のポートを指定するか、"
                    f"使用中のプログラムを止めてください / port {port} on {host} is already in use: "
                    "choose another with --port or stop the program using it") from exc
            raise PortInUseError(
                f"{host}:{port} で待ち受けられません（{exc.strerror}）。--host と --port を確かめてください / "
                f"cannot listen on {host}:{port}: check --host and --port") from exc


def app_from_environment() -> FastAPI:
    """The app of one worker process (uvicorn's factory): the home in ``TSUNAGU_HOME``."""
    settle_after_loads()
    return create_app(load_settings(), secure_cookies=os.environ.get(SECURE_COOKIES_ENV) == "1")


def run(settings: Settings, *, host: str, port: int, workers: int = 1, secure_cookies: bool = False,
        **uvicorn_options: Any) -> None:
    """Serve the app until stopped; ``workers`` > 1 starts that many processes on one socket."""
    import uvicorn

    if workers < 1:
        raise ValueError("workers must be at least 1")
    if workers == 1:
        settle_after_loads()
        uvicorn.run(create_app(settings, secure_cookies=secure_cookies), host=host, port=port, **uvicorn_options)
        return
    # Keys are created here, once, before the workers start: two workers creating the notes' first
    # key at the same moment would each think theirs is the current one.
    load_or_create_secret(settings.home)
    load_or_create_signing_key(settings.home)
    load_note_cipher(settings.home, settings.note_key)
    # The vaults too, once, before the workers open them: each worker's start-up then finds the
    # indexes an upgrade adds already built, instead of the workers building them at once.
    with Hub.open(settings, migrate_store=False) as hub:
        open_nodes_at_start(hub)
    os.environ[HOME_ENV] = str(settings.home.resolve())
    os.environ[SECURE_COOKIES_ENV] = "1" if secure_cookies else "0"
    uvicorn.run("tsunagu.web.serving:app_from_environment", factory=True, host=host, port=port, workers=workers,
                **uvicorn_options)
