"""Web load: the staff app under uvicorn on loopback, a bench account, concurrent signed-in users.

    python -m tsunagu.bench.web --home H [--users 20] [--seconds 30] [--max-requests 20000] [--json]

The server runs in its own process (its peak memory and CPU time come from ``wait4``), bound to
127.0.0.1 on a free port, and is always stopped at the end, also when the load fails. The load
itself is ``tsunagu.bench.webload``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tsunagu.bench import DEFAULT_THINK_MS
from tsunagu.bench.webload import LoadConfig, run_load

HOST = "127.0.0.1"
BENCH_USER = "bench-centre"
READY_SECONDS = 120.0
STOP_SECONDS = 15.0
DEFAULT_WORKERS = 1


def prepare_account(home: Path) -> tuple[str, str]:
    """Create (or re-password) the bench's centre caseworker, who may list the whole municipality."""
    from tsunagu.config import load_settings
    from tsunagu.hub import Hub
    from tsunagu.privacy import Subject
    from tsunagu.work.models import User
    from tsunagu.work.users import create_user, generate_password, set_password

    password = generate_password()  # fresh every run, never printed: it lives only in this process
    with Hub(load_settings(home)) as hub, hub.sessions.begin() as session:
        if session.get(User, BENCH_USER) is None:
            admin = Subject("tsunagu-bench", "administrator", "it")
            create_user(session, admin, BENCH_USER, role="centre_caseworker", display_name="ベンチマーク センター職員",
                        organisation="family_centre", password=password, key=hub.signing_key,
                        approver=Subject("tsunagu-bench-privacy", "privacy_officer", "privacy"))
        else:
            set_password(session, BENCH_USER, password)
    return BENCH_USER, password


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def serve(home: Path, port: int, workers: int) -> None:
    """The server process: the app as ``tsunagu serve`` runs it, without the per-request access log."""
    from tsunagu.config import load_settings
    from tsunagu.web.serving import run

    run(load_settings(home), host=HOST, port=port, workers=workers, log_level="warning", access_log=False)


def _wait_ready(server: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the web server exited during start-up (exit {server.returncode})")
        try:
            if httpx.get(url + "/public/resources", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the web server did not answer within {READY_SECONDS:.0f} s")


def _stop(server: subprocess.Popen[bytes]) -> dict[str, Any]:
    """SIGTERM (uvicorn's graceful stop), SIGKILL if it lingers; its own rusage via wait4."""
    if server.returncode is not None:
        return {"exit": server.returncode}
    server.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while True:
        pid, status, usage = os.wait4(server.pid, os.WNOHANG)
        if pid:
            server.returncode = os.waitstatus_to_exitcode(status)
            return {"exit": server.returncode, "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                    "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2)}
        if time.monotonic() > deadline:
            server.kill()
            deadline = time.monotonic() + STOP_SECONDS
        time.sleep(0.1)


def run_web_load(home: Path, config: LoadConfig, log: Path | None = None, *,
                 workers: int = DEFAULT_WORKERS, port: int | None = None) -> dict[str, Any]:
    """Account, server, load, stop: the figures of one web-load run (on ``port``, else a free one)."""
    user_id, password = prepare_account(home)
    port = port or free_port()
    log_path = log or home.parent / f"{home.name}-web-server.log"
    cmd = [sys.executable, "-m", "tsunagu.bench.web", "--serve", str(port), "--home", str(home),
           "--workers", str(workers)]
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            base = f"http://{HOST}:{port}"
            started = time.perf_counter()
            _wait_ready(server, base)
            start_seconds = time.perf_counter() - started
            result = asyncio.run(run_load(base, user_id, password, config))
        finally:
            stopped = _stop(server)
    return {**result, "server": {"workers": workers, "start_seconds": round(start_seconds, 2), **stopped,
                                 "log": str(log_path)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--think-ms", type=float, default=DEFAULT_THINK_MS, help="mean pause between a user's requests")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="the server's worker processes")
    parser.add_argument("--log", type=Path, help="the server's log (default: next to the home)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    home = args.home.resolve()
    if args.serve is not None:
        serve(home, args.serve, args.workers)
        return 0
    if args.users < 1 or args.seconds <= 0 or args.max_requests < 1 or args.workers < 1:
        parser.error("--users, --seconds, --max-requests and --workers must be positive")
    config = LoadConfig(users=args.users, seconds=args.seconds, max_requests=args.max_requests, seed=args.seed,
                        think_seconds=args.think_ms / 1000)
    result = run_web_load(home, config, args.log, workers=args.workers)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        for kind in ("candidate_list", "child_page", "search"):
            s = result["latency"][kind]
            print(f"{kind:15} n={s['count']:>6}  p50 {s['p50_ms']} ms  p95 {s['p95_ms']} ms  p99 {s['p99_ms']} ms  "
                  f"max {s['max_ms']} ms")
        print(f"{result['requests_per_second']} requests/s, {result['error_count']} errors, "
              f"p95 target {result['target_p95_ms']:.0f} ms: {'met' if result['meets_target'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
