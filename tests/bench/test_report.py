"""The result writer and the docs/performance.md tables, on a small fake result; ``tsunagu bench`` on the
hub of ``TSUNAGU_DATABASE_URL`` (kept for its stages, recorded without the URL, never reused)."""

import json
from pathlib import Path
from typing import Any

import pytest

from tsunagu.bench.pipeline import BenchOptions, _ingest, _Runner
from tsunagu.bench.report import (
    BEGIN,
    END,
    SPLINK_COLUMNS,
    STAGE_COLUMNS,
    WEB_COLUMNS,
    render_tables,
    update_performance_doc,
)
from tsunagu.bench.results import load_results, result_name, write_result
from tsunagu.bench.timing import child_env
from tsunagu.store.db import migrate


def _latency(p95: float) -> dict[str, Any]:
    return {"count": 10, "p50_ms": 50.0, "p95_ms": p95, "p99_ms": p95 + 10, "mean_ms": 60.0, "max_ms": p95 + 20}


def fake_result(children: int = 1000, web_ok: bool = True) -> dict[str, Any]:
    def stage(wall: float, figures: dict[str, Any]) -> dict[str, Any]:
        return {"status": "ok", "wall_seconds": wall, "cpu_seconds": wall, "peak_rss_mb": 100.5, "figures": figures}

    web = stage(40.0, {"users": 20, "think_seconds": 1.0, "duration_seconds": 30.1, "requests_per_second": 55.5, "error_count": 0,
                       "latency": {"candidate_list": _latency(150.0), "child_page": _latency(90.0)},
                       "meets_target": True})
    if not web_ok:
        web = {"status": "failed", "error": "stopped: peak memory over the limit (20000.0 MB)", "wall_seconds": 9.0,
               "cpu_seconds": 8.0, "peak_rss_mb": 20000.0}
    return {
        "benchmark": "bench", "children": children, "profile": "default", "seed": 1,
        "measured_at": "2026-01-01T00:00:00+00:00",
        "machine": {"cpu": "Test CPU", "cores": 2, "ram_gb": 23.5, "os": "Debian GNU/Linux 12", "python": "3.11.7"},
        "code": {"commit": "abc123", "uncommitted_src": []},
        "stages": {
            "synth": {**stage(2.0, {"rows": 37370, "persons": 4903, "files": 25}), "status": "reused"},
            "ingest": stage(3.0, {"rows_in": 37370, "loaded": 37334, "quarantined": 36, "rows_per_second": 12456}),
            "link": stage(4.0, {"precision": 0.999, "recall": 0.998, "f1": 0.9985, "review_band_share": 0.0001,
                                "recall_with_review_resolved": 0.999}),
            "screen": stage(2.5, {"recall": 0.63, "precision": 0.22, "listed_share": 0.156, "no_mark_share": 0.38,
                                  "single_department_recall": 0.35}),
            "baseline_splink": stage(2.0, {"precision": 1.0, "recall": 0.0, "f1": 0.0}),
            "baseline_splink_dates_parsed": {"status": "skipped", "error": "not run: --skip-baseline"},
            "web": web,
        },
        "comparison": {"splink_as_written": {"wall_ratio_tsunagu_to_splink": 2.0, "recall_difference": 0.998,
                                             "precision_difference": -0.001},
                       "splink_dates_parsed": None},
    }


def _table(text: str, heading: str) -> list[list[str]]:
    """The rows (header first, separator dropped) of the table under ``### heading``."""
    lines = text.split(f"### {heading}", 1)[1].split("\n### ", 1)[0].splitlines()
    rows = [line for line in lines if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows if not row.startswith("|---")]


def test_write_result_names_the_file_by_profile_and_size(tmp_path: Path) -> None:
    path = write_result(fake_result(), tmp_path)
    assert path.name == result_name("default", 1000) == "bench-default-1000.json"
    assert json.loads(path.read_text(encoding="utf-8"))["stages"]["ingest"]["figures"]["loaded"] == 37334
    assert not list(tmp_path.glob("*.tmp"))


def test_load_results_sorts_by_size_and_ignores_other_files(tmp_path: Path) -> None:
    write_result(fake_result(100_000), tmp_path)
    write_result(fake_result(10_000), tmp_path)
    (tmp_path / "link-5000.json").write_text("{}", encoding="utf-8")
    (tmp_path / "bench-notes.json").write_text("[]", encoding="utf-8")
    assert [r["children"] for r in load_results(tmp_path)] == [10_000, 100_000]


def test_stage_table_has_a_row_per_stage_with_its_figures(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    update_performance_doc(doc, [fake_result()])
    rows = _table(doc.read_text(encoding="utf-8"), "Stages")
    assert rows[0] == list(STAGE_COLUMNS)
    body = {row[2]: row for row in rows[1:]}
    assert list(body) == ["synth", "ingest", "link", "screen", "plain Splink", "plain Splink, dates parsed",
                          "web load"]
    assert all(len(row) == len(STAGE_COLUMNS) for row in rows)
    assert body["synth"][:7] == ["1,000", "default", "synth", "reused", "2", "2", "100.5"]
    assert body["ingest"][7] == "rows in 37,370 · loaded 37,334 · quarantined 36 · 12,456 rows/s"
    assert "P 0.99900 · R 0.99800" in body["link"][7]
    assert "listed 15.600%" in body["screen"][7]
    assert body["plain Splink, dates parsed"][3:] == ["skipped", "–", "–", "–", "not run: --skip-baseline"]
    assert body["web load"][7] == "list p95 150 ms · child p95 90 ms · 55.5 req/s · 0 errors"


def test_splink_and_web_tables(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    update_performance_doc(doc, [fake_result(1000), fake_result(500_000, web_ok=False)])
    text = doc.read_text(encoding="utf-8")
    splink = _table(text, "Linkage against plain Splink (same exports, same run)")
    assert splink[0] == list(SPLINK_COLUMNS)
    assert splink[1] == ["1,000", "default", "4", "0.99800", "2", "0.00000", "2", "+0.99800", "skipped", "–", "–",
                         "–"]
    web = _table(text, "Web load")
    assert web[0] == list(WEB_COLUMNS)
    assert web[1] == ["1,000", "default", "20", "1,000", "30.1", "55.5", "0", "50", "150", "160", "170", "50", "90", "100",
                      "110", "yes"]
    assert web[2][:4] == ["500,000", "default", "failed", "stopped: peak memory over the limit (20000.0 MB)"]
    assert len(web[2]) == len(WEB_COLUMNS)
    assert "Test CPU, 2 cores, 23.5 GB RAM, Debian GNU/Linux 12, Python 3.11.7" in text


def test_only_the_generated_section_is_rewritten(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nProse before.\n\n{BEGIN}\nold table\n{END}\n\nProse after.\n", encoding="utf-8")
    update_performance_doc(doc, [fake_result()])
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\nProse before.\n\n")
    assert text.endswith(f"{END}\n\nProse after.\n")
    assert "old table" not in text
    assert text.count(BEGIN) == 1
    update_performance_doc(doc, [fake_result()])
    assert doc.read_text(encoding="utf-8") == text


def test_a_pipe_in_an_error_cannot_break_the_table(tmp_path: Path) -> None:
    result = fake_result()
    result["stages"]["link"] = {"status": "failed", "error": "exit 1: a | b\nc"}
    doc = tmp_path / "performance.md"
    update_performance_doc(doc, [result])
    rows = _table(doc.read_text(encoding="utf-8"), "Stages")
    link = next(row for row in rows if row[2] == "link")
    assert len(link) == len(STAGE_COLUMNS)
    assert link[7] == "exit 1: a \\| b c"


URL = "postgresql+psycopg://bench@127.0.0.1:5432/bench"


def test_the_bench_keeps_the_database_url_and_the_other_benchmarks_drop_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", URL)
    monkeypatch.setenv("TSUNAGU_HOME", "/elsewhere")
    assert child_env(keep_database_url=True)["TSUNAGU_DATABASE_URL"] == URL
    assert "TSUNAGU_DATABASE_URL" not in child_env()
    assert "TSUNAGU_HOME" not in child_env(keep_database_url=True)


def test_the_result_names_the_hub_without_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", URL)
    assert _Runner(BenchOptions(children=100), print).hub == "postgresql"
    monkeypatch.delenv("TSUNAGU_DATABASE_URL")
    assert _Runner(BenchOptions(children=100), print).hub == "sqlite"


def test_a_postgresql_result_is_a_file_and_a_row_of_its_own(tmp_path: Path) -> None:
    write_result(fake_result(), tmp_path)
    on_pg = write_result({**fake_result(), "hub": "postgresql"}, tmp_path)
    assert on_pg.name == result_name("default", 1000, "postgresql") == "bench-default-1000-postgresql.json"
    results = load_results(tmp_path)
    assert [r.get("hub", "sqlite") for r in results] == ["sqlite", "postgresql"]
    web = _table(render_tables(results), "Web load")
    assert [row[1] for row in web[1:]] == ["default", "default (postgresql)"]


def test_a_database_that_already_holds_a_hub_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Any URL does: the check is the migration revision, the same on both back-ends.
    url = f"sqlite:///{tmp_path / 'last-run.sqlite3'}"
    migrate(url)
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", url)
    runner = _Runner(BenchOptions(children=100, work=tmp_path), print)
    home = tmp_path / "home"
    home.mkdir()
    entry = _ingest(runner, "tsunagu-not-run", tmp_path / "synth", home)
    assert entry["status"] == "failed"
    assert "already holds a hub" in entry["error"]
    assert home.is_dir()  # refused before anything was touched
