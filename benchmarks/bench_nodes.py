"""Benchmark: a screening run through signed HTTP department nodes against the same run in process.

Usage: .venv/bin/python benchmarks/bench_nodes.py [--children 100000] [--seed 1]

Takes the ingested and linked home that bench_link.py leaves (benchmarks/work/synth-default-N-S-home,
linked once here if it is not), then screens it twice: once with every department's node in
process, once with every department behind its own `tsunagu node serve` process on loopback
(pattern ② in one machine: separate processes, signed requests). The issue's budget: over HTTP at
most twice the in-process time. Writes benchmarks/results/nodes-<N>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"
RESULTS = ROOT / "benchmarks" / "results"
TSUNAGU = str(Path(sys.executable).parent / "tsunagu")
AS_OF = "2026-10-31"


def _run(*args: str) -> str:
    done = subprocess.run([TSUNAGU, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"tsunagu {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("a node service exited early")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("a node service did not open its port")


def _screen(home: Path) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    report = json.loads(_run("screen", "--as-of", AS_OF, "--home", str(home), "--json"))
    return time.perf_counter() - started, report


def _departments(home: Path) -> list[str]:
    return sorted(p.stem for p in (home / "vaults").glob("*.sqlite3"))


def run(children: int, seed: int) -> dict[str, Any]:
    cached = WORK / f"synth-default-{children}-{seed}-home"
    if not (cached / "tsunagu.yaml").is_file():
        raise SystemExit(f"{cached} がありません: 先に benchmarks/bench_link.py --children {children} を実行してください")
    home = WORK / "nodes-home"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(cached, home)
    _run("link", "--home", str(home), "--json")
    local_s, local = _screen(home)
    departments = _departments(home)
    _run("node", "keygen", "--hub", "--home", str(home))
    ports = {d: _free_port() for d in departments}
    lines = ["pattern: integrated", "nodes:"]
    for department, port in ports.items():
        _run("node", "keygen", "--department", department, "--home", str(home))
        lines += [f"  {department}:", "    transport: http", f"    url: http://127.0.0.1:{port}",
                  f"    public_key: keys/nodes/{department}_ed25519.pub.pem"]
    lines += ["timeouts: {connect_s: 5, read_s: 600}", "retries: {attempts: 2, backoff_s: 0.5}"]
    processes = []
    try:
        for department, port in ports.items():
            process = subprocess.Popen([TSUNAGU, "node", "serve", "--department", department, "--port", str(port),
                                        "--home", str(home)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       env={**os.environ, "NO_COLOR": "1"})
            processes.append(process)
            _wait(port, process)
        (home / "topology.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        remote_s, remote = _screen(home)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    same = (local["by_tier"] == remote["by_tier"] and local["data_digest"] == remote["data_digest"])
    return {
        "benchmark": "nodes", "children": children, "seed": seed, "departments": departments,
        "in_process_seconds": round(local_s, 2), "http_seconds": round(remote_s, 2),
        "ratio": round(remote_s / local_s, 2), "budget_ratio": 2.0, "same_results": same,
        "missing_sources_over_http": remote["missing_sources"], "children_screened": remote["children"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = run(args.children, args.seed)
    path = RESULTS / f"nodes-{args.children}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"in process {result['in_process_seconds']} s, over HTTP {result['http_seconds']} s "
          f"(×{result['ratio']}, budget ×2); same results: {result['same_results']}; written to {path}")


if __name__ == "__main__":
    main()
