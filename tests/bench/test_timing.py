"""The stage wrapper: what it reports for a command that succeeds, fails or outgrows its limit."""

import sys

from tsunagu.bench.timing import run_stage


def test_a_successful_stage_reports_its_output_and_usage() -> None:
    stage = run_stage([sys.executable, "-c", "import sys; print('hello'); sys.stderr.write('noise')"])
    assert stage.ok
    assert stage.stdout.strip() == "hello"
    assert stage.peak_rss_mb is not None and stage.peak_rss_mb > 0
    assert stage.cpu_seconds is not None
    assert "BENCH-USAGE" not in stage.stderr_tail
    assert stage.stderr_tail.strip() == "noise"


def test_a_failing_stage_says_why() -> None:
    stage = run_stage([sys.executable, "-c", "import sys; sys.exit('broken input')"])
    assert not stage.ok
    assert stage.returncode == 1
    assert stage.failure() == "exit 1: broken input"


def test_a_stage_over_the_memory_limit_is_stopped_and_reported() -> None:
    grow = "import time\nheld = []\nwhile True:\n    held.append(bytearray(50 << 20)); time.sleep(0.05)"
    stage = run_stage([sys.executable, "-c", grow], limit_mb=300)
    assert not stage.ok
    assert stage.killed_over_limit
    assert stage.failure().startswith("stopped: peak memory over the limit")
