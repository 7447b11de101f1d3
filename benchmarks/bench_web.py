"""Web load on its own: the staff app under concurrent signed-in users, against an existing home.

    .venv/bin/python benchmarks/bench_web.py --children 100000            # the home `tsunagu bench` built
    .venv/bin/python benchmarks/bench_web.py --home DIR --users 20 --seconds 30 [--think-ms 1000] [--out FILE]

The home must be screened already (``tsunagu bench`` or ``tsunagu demo`` leave one). A bench
account (centre_caseworker, the whole municipality) is created or given a fresh password; the app
runs under uvicorn on 127.0.0.1 on a free port and is stopped at the end. Each user alternates the
candidate list (random filter, sort, page), a listed child's page (random purpose) and a search
(a name, reading or birth date seen on a child page). The target (issue): the list's and the child
page's p95 ≤ 200 ms with 20 users on a 100k-child municipality, with search in the mix (its own
p95 is reported beside them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tsunagu.bench import DEFAULT_THINK_MS
from tsunagu.bench.web import DEFAULT_WORKERS, run_web_load
from tsunagu.bench.webload import LoadConfig

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--home", type=Path, help="a screened tsunagu home")
    where.add_argument("--children", type=int, help="use benchmarks/work/bench-<profile>-<N>/home")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--think-ms", type=float, default=DEFAULT_THINK_MS,
                        help="mean pause between one user's requests (0: a closed loop, no pause)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="the server's worker processes")
    parser.add_argument("--port", type=int, help="the server's port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--out", type=Path, help="also write the result here (JSON)")
    args = parser.parse_args(argv)
    home = args.home or ROOT / "benchmarks" / "work" / f"bench-{args.profile}-{args.children}" / "home"
    if not (home / "tsunagu.yaml").is_file():
        parser.error(f"not a tsunagu home: {home}")
    config = LoadConfig(users=args.users, seconds=args.seconds, max_requests=args.max_requests, seed=args.seed,
                        think_seconds=args.think_ms / 1000)
    result = run_web_load(home.resolve(), config, workers=args.workers, port=args.port)
    print(f"{'page':15} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind in ("candidate_list", "child_page", "search", "sign_in"):
        s = result["latency"][kind]
        print(f"{kind:15} {s['count']:>6} {s['p50_ms']!s:>8} {s['p95_ms']!s:>8} {s['p99_ms']!s:>8} {s['max_ms']!s:>8}")
    print(f"{result['requests_per_second']} requests/s over {result['duration_seconds']} s; errors: "
          f"{result['errors'] or 'none'}; server peak {result['server'].get('peak_rss_mb')} MB")
    print(f"p95 ≤ {result['target_p95_ms']:.0f} ms for both pages, no errors: "
          f"{'met' if result['meets_target'] else 'NOT met'}; search p95 ≤ {result['target_p95_ms']:.0f} ms: "
          f"{'met' if result['search_meets_target'] else 'NOT met'}")
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
