"""The tables of ``docs/performance.md``, regenerated from every ``bench-*.json`` result present.

Only the section between the two markers is rewritten; the prose around it is the authors'. A
failed or skipped stage appears in the tables with its reason, never as a blank.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

BEGIN = "<!-- BEGIN generated tables: `tsunagu bench` rewrites this section from benchmarks/results/bench-*.json -->"
END = "<!-- END generated tables -->"
STAGES = (("synth", "synth"), ("ingest", "ingest"), ("link", "link"), ("screen", "screen"),
          ("baseline_splink", "plain Splink"), ("baseline_splink_dates_parsed", "plain Splink, dates parsed"),
          ("web", "web load"))
STAGE_COLUMNS = ("children", "profile", "stage", "status", "wall s", "CPU s", "peak MB", "figures")
SPLINK_COLUMNS = ("children", "profile", "tsunagu wall s", "tsunagu recall", "Splink wall s", "Splink recall",
                  "wall ratio", "Δ recall", "Splink (dates parsed) wall s", "recall", "wall ratio", "Δ recall")
WEB_COLUMNS = ("children", "profile", "users", "pause ms", "seconds", "requests/s", "errors", "list p50 ms", "list p95 ms",
               "list p99 ms", "list max ms", "child p50 ms", "child p95 ms", "child p99 ms", "child max ms",
               "p95 ≤ 200 ms")
SKELETON = """# Performance

{begin}
{end}
"""


def _cell(value: Any) -> str:
    """One table cell: numbers grouped, missing values as a dash, pipes and newlines made harmless."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _table(columns: Sequence[str], rows: list[list[Any]]) -> list[str]:
    return [_row(columns), "|" + "|".join("---" for _ in columns) + "|", *(_row(r) for r in rows)]


def _pct(value: Any) -> str:
    return f"{float(value):.3%}" if isinstance(value, int | float) else "–"


def _num(value: Any, digits: int = 5) -> str:
    return f"{float(value):.{digits}f}" if isinstance(value, int | float) else "–"


def stage_figures(key: str, entry: dict[str, Any]) -> str:
    """The accuracy and volume figures of one stage, in one line."""
    if entry.get("status") in ("failed", "skipped"):
        return str(entry.get("error", entry.get("status")))
    f = entry.get("figures", {})
    if key == "synth":
        return f"rows {f.get('rows', 0):,} · persons {f.get('persons', 0):,} · files {f.get('files', 0):,}"
    if key == "ingest":
        return (f"rows in {f['rows_in']:,} · loaded {f['loaded']:,} · quarantined {f['quarantined']:,} · "
                f"{_cell(f.get('rows_per_second'))} rows/s")
    if key == "link":
        return (f"P {_num(f['precision'])} · R {_num(f['recall'])} · F1 {_num(f['f1'])} · review band "
                f"{_pct(f['review_band_share'])} · R with review resolved {_num(f['recall_with_review_resolved'])}")
    if key == "screen":
        return (f"recall {_num(f['recall'], 3)} · precision {_num(f['precision'], 3)} · listed {_pct(f['listed_share'])}"
                f" · no-mark {_num(f['no_mark_share'], 3)} · single-department recall "
                f"{_num(f['single_department_recall'], 3)}")
    if key.startswith("baseline"):
        return f"P {_num(f['precision'])} · R {_num(f['recall'])} · F1 {_num(f['f1'])}"
    if key == "web":
        lat = f["latency"]
        return (f"list p95 {_ms(lat['candidate_list']['p95_ms'])} ms · child p95 {_ms(lat['child_page']['p95_ms'])}"
                f" ms · {_cell(f['requests_per_second'])} req/s · {f['error_count']} errors")
    return ""


def _stage_rows(results: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for result in results:
        for key, label in STAGES:
            entry = result["stages"].get(key)
            if entry is None:
                continue
            rows.append([result["children"], _profile(result), label, entry.get("status"), entry.get("wall_seconds"),
                         entry.get("cpu_seconds"), entry.get("peak_rss_mb"), stage_figures(key, entry)])
    return rows


def _splink_rows(results: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for result in results:
        stages, comparison = result["stages"], result.get("comparison", {})
        link = stages.get("link", {})
        row: list[Any] = [result["children"], _profile(result), link.get("wall_seconds"),
                          _num(link.get("figures", {}).get("recall"))]
        for key, compared in (("baseline_splink", "splink_as_written"), ("baseline_splink_dates_parsed",
                                                                          "splink_dates_parsed")):
            base, versus = stages.get(key, {}), comparison.get(compared) or {}
            if base.get("status") != "ok":
                row += [base.get("status", "–"), "–", "–", "–"]
                continue
            row += [base.get("wall_seconds"), _num(base["figures"]["recall"]),
                    versus.get("wall_ratio_tsunagu_to_splink"), _signed(versus.get("recall_difference"))]
        rows.append(row)
    return rows


def _profile(result: dict[str, Any]) -> str:
    """The profile, with the hub when it is not the embedded store (the same size is run on both)."""
    hub = result.get("hub", "sqlite")
    return str(result["profile"]) if hub == "sqlite" else f"{result['profile']} ({hub})"


def _ms(value: Any) -> str:
    """Milliseconds: whole above 10 ms (the noise is larger than a decimal), one decimal below."""
    if not isinstance(value, int | float):
        return "–"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _signed(value: Any) -> str:
    return f"{float(value):+.5f}" if isinstance(value, int | float) else "–"


def _web_rows(results: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for result in results:
        web = result["stages"].get("web", {})
        if web.get("status") != "ok":
            rows.append([result["children"], _profile(result), web.get("status", "–"),
                         web.get("error", "–"), *["–"] * (len(WEB_COLUMNS) - 4)])
            continue
        f = web["figures"]
        lists, pages = f["latency"]["candidate_list"], f["latency"]["child_page"]
        think = f.get("think_seconds")
        rows.append([result["children"], _profile(result), f["users"],
                     _ms(think * 1000) if isinstance(think, int | float) else "–", f["duration_seconds"],
                     f["requests_per_second"], f["error_count"],
                     *(_ms(lists[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
                     *(_ms(pages[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")), f["meets_target"]])
    return rows


def _machines(results: list[dict[str, Any]]) -> list[str]:
    by_machine: dict[str, list[str]] = {}
    for result in results:
        m = result.get("machine", {})
        text = (f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('ram_gb', '?')} GB RAM, {m.get('os', '?')}, "
                f"Python {m.get('python', '?')}")
        code = result.get("code", {})
        stamp = f"{result['children']:,} ({result.get('measured_at', '?')}, commit {code.get('commit') or '?'}"
        stamp += ", uncommitted changes in src/)" if code.get("uncommitted_src") else ")"
        by_machine.setdefault(text, []).append(stamp)
    return [f"- {machine} — children: {'; '.join(runs)}" for machine, runs in by_machine.items()]


def render_tables(results: list[dict[str, Any]]) -> str:
    """The generated section (without its markers)."""
    if not results:
        return "No results yet: run `tsunagu bench --children N`."
    lines = ["### Machine", "", *_machines(results), "", "### Stages", "",
             "Wall and CPU time and peak memory (RSS) of each stage's own process; figures are each stage's "
             "accuracy against the synthetic truth.", "", *_table(STAGE_COLUMNS, _stage_rows(results)), "",
             "### Linkage against plain Splink (same exports, same run)", "",
             "Wall ratio = tsunagu's link stage ÷ the baseline's wall time; Δ recall = tsunagu − baseline.", "",
             *_table(SPLINK_COLUMNS, _splink_rows(results)), "", "### Web load", "",
             "Latency of successful (HTTP 200) responses in ms, measured by the client on the same machine; "
             "requests/s counts successful responses; errors are every other outcome; pause = each user's mean "
             "pause between requests (0: a closed loop).", "",
             *_table(WEB_COLUMNS, _web_rows(results))]
    return "\n".join(lines)


def update_performance_doc(path: Path, results: list[dict[str, Any]]) -> None:
    """Rewrite the generated section of ``path`` (created from a skeleton if missing)."""
    text = path.read_text(encoding="utf-8") if path.is_file() else SKELETON.format(begin=BEGIN, end=END)
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{head}{BEGIN}\n{render_tables(results)}\n{END}{tail}", encoding="utf-8")
