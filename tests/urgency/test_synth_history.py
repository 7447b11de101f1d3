"""The synthetic history: additive beside exports/, deterministic, with the records' known flaws."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from tsunagu.synth.cgc_history import write_history


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_history_is_deterministic_and_carries_missingness(tmp_path: Path) -> None:
    a = write_history(5, date(2026, 10, 31), tmp_path / "a", cases=2000)
    b = write_history(5, date(2026, 10, 31), tmp_path / "b", cases=2000)
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.path.parent.name == "cgc_history" and not (tmp_path / "a" / "exports").exists()
    rows = _rows(a.path)
    assert len(rows) == 2000 and 0.05 < a.protected / 2000 < 0.4
    unknown = {r["通告者区分"]: 0.0 for r in rows}
    counts = dict.fromkeys(unknown, 0)
    for r in rows:
        unknown[r["通告者区分"]] += sum(v == "不明" for v in r.values())
        counts[r["通告者区分"]] += 1
    # anonymous neighbours' reports leave more unknown than the police's
    assert unknown["近隣・知人"] / counts["近隣・知人"] > unknown["警察"] / counts["警察"]
    infants = [r for r in rows if r["年齢"] and int(r["年齢"]) < 3]
    assert infants and all(r["child_wish"] == "0" for r in infants)  # an infant cannot say: なし, not 不明
    write_history(5, date(2026, 11, 30), tmp_path / "a", cases=100)
    assert [p.name for p in (tmp_path / "a" / "cgc_history").iterdir()] == ["jisou_history_20261130.csv"]
