"""CPU per request of the staff app's busy pages, in process and without load: list, child page, search.

    .venv/bin/python benchmarks/profile_web.py --home DIR [--requests 60] [--profile child_page] [--out FILE]

The load benchmark (``bench_web.py``) measures latency under 20 users, which depends on the machine's
other work and on queueing; this measures what each request costs the server, which does not: the
app is built as ``tsunagu serve`` builds it and driven by a test client in this process, one request
at a time, with the same requests the load benchmark makes (``tsunagu.bench.webload``: a random
filter, sort and page; a listed child with a random purpose; a name, reading or birth date seen on a
child page). For each kind of page: CPU milliseconds per request (``time.process_time``, all
threads), the SQL statements per request (hub and vaults together) and the audit entries written.
``--profile KIND`` runs that kind under cProfile and prints where its time went.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import Engine, event, func, select

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2 in its test client
    from fastapi.testclient import TestClient

from tsunagu.bench.web import prepare_account
from tsunagu.bench.webload import CHILD_PURPOSES, LoadConfig, _list_request, _search_request, _Shared
from tsunagu.config import load_settings
from tsunagu.privacy.models import AuditEntry
from tsunagu.web.app import create_app
from tsunagu.work.listing import settle_after_loads

KINDS = ("candidate_list", "child_page", "search")
_CSRF = "name=\"csrf_token\" value=\""


class StatementCounter:
    """SQL statements sent by any engine of this process (the hub and every vault)."""

    def __init__(self) -> None:
        self.count = 0
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1


class ThreadProfile:
    """cProfile of the work the app hands to its thread pool (every sync route and dependency: the
    pages' own work), which a profiler enabled in this thread would not see."""

    def __init__(self) -> None:
        self.profile = cProfile.Profile(time.thread_time)  # CPU, not wall: the machine may be busy
        self.active = False
        original = anyio.to_thread.run_sync

        async def run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            if not self.active:
                return await original(func, *args, **kwargs)

            def profiled(*inner: Any) -> Any:
                self.profile.enable()
                try:
                    return func(*inner)
                finally:
                    self.profile.disable()

            return await original(profiled, *args, **kwargs)

        anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


def sign_in(client: TestClient, user_id: str, password: str) -> None:
    page = client.get("/").text
    start = page.index(_CSRF) + len(_CSRF)
    token = page[start:page.index('"', start)]
    done = client.post("/login", data={"user_id": user_id, "password": password, "csrf_token": token,
                                       "next_path": "/dashboard"}, follow_redirects=False)
    if done.status_code != 303:
        raise SystemExit(f"sign-in refused: HTTP {done.status_code}")


def _request(kind: str, rng: random.Random, shared: _Shared) -> tuple[str, dict[str, str], str | None]:
    if kind == "candidate_list":
        key, params = _list_request(rng, shared)
        return "/candidates", params, key
    if kind == "child_page":
        return f"/children/{rng.choice(shared.children)}", {"purpose": rng.choice(CHILD_PURPOSES)}, None
    return "/search", _search_request(rng, shared), None


def measure(client: TestClient, kind: str, n: int, shared: _Shared, counter: StatementCounter,
            audit_count: Callable[[], int], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    cpu: list[float] = []
    wall: list[float] = []
    sql: list[int] = []
    statuses: Counter[int] = Counter()
    slowest: list[tuple[float, str]] = []
    audited = audit_count()
    for _ in range(n):
        url, params, key = _request(kind, rng, shared)
        before_sql, c0, w0 = counter.count, time.process_time(), time.perf_counter()
        response = client.get(url, params=params)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        sql.append(counter.count - before_sql)
        slowest = sorted([*slowest, (cpu[-1], f"{url} {params}")], reverse=True)[:3]
        statuses[response.status_code] += 1
        if response.status_code == 200:
            if key is not None:
                shared.learn(key, response.text)
            elif kind == "child_page":
                shared.learn_child(response.text)
    return {
        "requests": n, "statuses": {str(k): v for k, v in statuses.items()},
        "cpu_ms_mean": round(statistics.fmean(cpu) * 1000, 1), "cpu_ms_median": round(statistics.median(cpu) * 1000, 1),
        "cpu_ms_max": round(max(cpu) * 1000, 1), "wall_ms_median": round(statistics.median(wall) * 1000, 1),
        "sql_per_request": round(statistics.fmean(sql), 1),
        "audit_entries_per_request": round((audit_count() - audited) / n, 1),
        "slowest": [f"{c * 1000:.0f} ms {what}" for c, what in slowest],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=60, help="requests of each kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=KINDS, help="run this kind under cProfile and print the top functions")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (cumulative, tottime)")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--out", type=Path, help="also write the figures here (JSON)")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    user_id, password = prepare_account(home)
    settings = load_settings(home)
    settle_after_loads()  # as the server (tsunagu.web.serving) does
    app = create_app(settings)
    counter = StatementCounter()
    threads = ThreadProfile() if args.profile else None
    shared = _Shared(config=LoadConfig(), budget=10**9)
    results: dict[str, Any] = {}
    with TestClient(app) as client:
        sessions = app.state.tsunagu.read_factory

        def audit_count() -> int:
            with sessions() as db:
                return int(db.scalar(select(func.count()).select_from(AuditEntry)) or 0)

        c0 = time.process_time()
        sign_in(client, user_id, password)
        results["sign_in_cpu_ms"] = round((time.process_time() - c0) * 1000, 1)
        # Warm: the listing cache, the nodes, the templates; then enough children and names to ask for.
        warm = client.get("/candidates", params={"purpose": "screening"})
        shared.learn("", warm.text)
        rng = random.Random(args.seed)
        for _ in range(10):
            url, params, _key = _request("child_page", rng, shared)
            shared.learn_child(client.get(url, params=params).text)
        for i, kind in enumerate(KINDS):
            if threads is not None and kind == args.profile:
                threads.active = True
                results[kind] = measure(client, kind, args.requests, shared, counter, audit_count, args.seed + i)
                threads.active = False
                out = io.StringIO()
                pstats.Stats(threads.profile, stream=out).sort_stats(args.sort).print_stats(args.top)
                print(out.getvalue())
            else:
                results[kind] = measure(client, kind, args.requests, shared, counter, audit_count, args.seed + i)
    print(f"{'page':15} {'cpu ms mean':>12} {'median':>8} {'max':>8} {'wall med':>9} {'sql/req':>8} {'audit/req':>10}")
    for kind in KINDS:
        r = results[kind]
        print(f"{kind:15} {r['cpu_ms_mean']:>12} {r['cpu_ms_median']:>8} {r['cpu_ms_max']:>8} {r['wall_ms_median']:>9} "
              f"{r['sql_per_request']:>8} {r['audit_entries_per_request']:>10}  {r['statuses']}")
    for kind in KINDS:
        print(f"slowest {kind}: {'; '.join(results[kind]['slowest'])}")
    print(f"sign-in: {results['sign_in_cpu_ms']} ms CPU")
    if args.out:
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
