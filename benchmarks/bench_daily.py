"""The daily run of a municipality: the next day's exports with a small share of rows changed,
ingested, linked and screened into a home that holds yesterday's, each stage timed.

    .venv/bin/python benchmarks/bench_daily.py --home H --synth DIR [--changed 0.01] [--seed 7]
        [--work W] [--in-place] [--link-mode incremental|full]

H is a built, linked and screened home (``tsunagu bench`` or benchmarks/same_results.sh build
one); DIR the synthetic municipality it was built from (its ``exports/`` and ``truth/``). The home
is copied to W (default: next to H, ``<H>-daily``) and the copy is run on, unless --in-place.

The next day's exports are made from the day's own exports with a seeded random generator, not
from the generator's parameters: every export keeps its name with the date one day later; in the
住民基本台帳 a share of the rows change as they do from one day to the next — a household moves
within the town, a mother and her children take a new surname, a child is born into a household,
a household moves out — each with its 異動 row; departments that hold the same 宛名番号 with a name
or an address (学齢簿, 児童扶養手当, 生活保護 …) carry the new name or address; the schools' monthly
attendance records get the new month's first absences and more absences in the month just ended.
Every other export is copied unchanged (ingest recognises an unchanged file by its hash). The
share of changed rows counts rows changed, added and moved out, over all rows of all exports.

The run is the municipality's own sequence of commands: ``tsunagu ingest`` of the new exports,
``tsunagu link --incremental`` (the saved model, scoring only records the last run did not place),
``tsunagu screen --as-of <next day>``. Each is timed in its own wrapper process (wall, CPU, peak
memory) with the load average before it; the result goes to benchmarks/results/daily-<N>.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import shutil
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tsunagu.bench.machine import describe_code, describe_machine
from tsunagu.bench.pipeline import tsunagu_command
from tsunagu.bench.timing import child_env, run_stage

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DATE_IN_NAME = re.compile(r"_(\d{8})(\.[A-Za-z]+)$")
# Shares of the register's changes (of changed rows): moves within the town are the commonest
# 異動 of a day, then births, moves out and changes of surname.
KINDS = (("move", 0.45), ("birth", 0.2), ("move_out", 0.2), ("surname", 0.15))
# Columns that carry a person's name or address, by the column holding that person's 宛名番号.
CARRIED = {"宛名番号": {"氏名": "name", "カナ氏名": "kana", "住所": "address"},
           "児童宛名番号": {"児童氏名": "name"}}


def wareki(day: date) -> str:
    """A date as the register writes it (令和 era: the days this benchmark writes are after 2019-05-01)."""
    year = day.year - 2018
    return f"令和{'元' if year == 1 else year}年{day.month}月{day.day}日"


class CsvFile:
    """One export, its untouched lines kept byte for byte (a deliberately broken row stays broken):
    only the rows a change touches are written anew, and new rows go at the end."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        # surrogateescape: bytes that are not text in the file's encoding come back as they were.
        self.encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
        try:
            data.decode(self.encoding)
        except UnicodeDecodeError:
            self.encoding = "cp932"
        text = data.decode(self.encoding, errors="surrogateescape")
        self.newline = "\r\n" if "\r\n" in text[:4096] else "\n"
        self.lines = text.split(self.newline)
        self.start = 1 if self.lines[0].startswith("※") else 0  # the synthetic-data notice
        self.header = next(csv.reader([self.lines[self.start]]))
        self.rows: list[list[str] | None] = [self._parse(line) for line in self.lines[self.start + 1:]]
        self.added: list[list[str]] = []
        self.dirty: set[int] = set()

    def _parse(self, line: str) -> list[str] | None:
        if '"' in line or "\r" in line or not line:
            return None  # quoted or empty: left as it is
        row = line.split(",")
        return row if len(row) == len(self.header) else None

    def records(self) -> list[list[str]]:
        return [r for r in self.rows if r is not None]

    def touch(self, row: list[str]) -> None:
        self.dirty.add(id(row))

    def write(self, path: Path) -> None:
        def line(row: list[str]) -> str:
            out = io.StringIO(newline="")
            csv.writer(out, lineterminator="").writerow(row)
            return out.getvalue()

        body = [line(r) if r is not None and id(r) in self.dirty else raw
                for r, raw in zip(self.rows, self.lines[self.start + 1:], strict=True)]
        trailing = body and body[-1] == ""
        if trailing:
            body.pop()
        body += [line(r) for r in self.added]
        lines = [*self.lines[:self.start + 1], *body, *([""] if trailing else [])]
        path.write_bytes(self.newline.join(lines).encode(self.encoding, errors="surrogateescape"))

    def col(self, name: str) -> int | None:
        return self.header.index(name) if name in self.header else None


@dataclass
class Changes:
    """What the register's day changed, for the departments that hold the same persons."""

    next_day: date
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # 宛名番号 → new (氏名, カナ氏名)
    addresses: dict[str, str] = field(default_factory=dict)  # 宛名番号 → new 住所
    events: list[list[str]] = field(default_factory=list)  # 異動 rows
    per_file: dict[str, dict[str, int]] = field(default_factory=dict)


def _split(name: str) -> tuple[str, str]:
    family, _, given = name.replace("\u3000", " ").partition(" ")
    return family, given


def _joined(template: str, family: str, given: str) -> str:
    return family + ("\u3000" if "\u3000" in template else " ") + given


def _register(f: CsvFile, rng: random.Random, share: float, ch: Changes) -> dict[str, int]:
    c = {name: f.col(name) for name in ("宛名番号", "世帯番号", "氏名", "カナ氏名", "生年月日", "性別", "続柄", "住所",
                                          "郵便番号", "住民区分", "異動日")}
    if any(v is None for v in c.values()):
        return {}
    idx = {k: v for k, v in c.items() if v is not None}
    records = f.records()
    resident = [r for r in records if r[idx["住民区分"]] == "住民"]
    households: dict[str, list[list[str]]] = {}
    for row in resident:
        households.setdefault(row[idx["世帯番号"]], []).append(row)
    target = round(share * len(records))
    counts = {"changed": 0, "added": 0}
    taken: set[str] = set()
    today = wareki(ch.next_day)
    known = {r[idx["宛名番号"]] for r in records}
    children = [r for r in resident if r[idx["続柄"]] == "子"]
    while counts["changed"] + counts["added"] < target and len(taken) < len(households):
        row = rng.choice(resident)
        home = row[idx["世帯番号"]]
        if home in taken:
            continue
        taken.add(home)
        members = households[home]
        kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
        if kind == "move":
            donor = rng.choice(resident)
            for m in members:
                before = m[idx["住所"]]
                m[idx["住所"]], m[idx["郵便番号"]], m[idx["異動日"]] = donor[idx["住所"]], donor[idx["郵便番号"]], today
                f.touch(m)
                ch.addresses[m[idx["宛名番号"]]] = donor[idx["住所"]]
                ch.events.append([m[idx["宛名番号"]], "転居", today, before, donor[idx["住所"]], ""])
            counts["changed"] += len(members)
        elif kind == "move_out":
            for m in members:
                m[idx["住民区分"]], m[idx["異動日"]] = "転出", today
                f.touch(m)
                ch.events.append([m[idx["宛名番号"]], "転出", today, m[idx["住所"]], "", ""])
            counts["changed"] += len(members)
        elif kind == "surname":
            donor = rng.choice(resident)
            family, _ = _split(donor[idx["氏名"]])
            kana_family, _ = _split(donor[idx["カナ氏名"]])
            for m in (m for m in members if m[idx["続柄"]] in ("母", "妻", "子")):
                before = m[idx["氏名"]]
                m[idx["氏名"]] = _joined(before, family, _split(before)[1])
                m[idx["カナ氏名"]] = _joined(m[idx["カナ氏名"]], kana_family, _split(m[idx["カナ氏名"]])[1])
                m[idx["異動日"]] = today
                f.touch(m)
                ch.names[m[idx["宛名番号"]]] = (m[idx["氏名"]], m[idx["カナ氏名"]])
                ch.events.append([m[idx["宛名番号"]], "氏変更", today, "", m[idx["住所"]], before])
                counts["changed"] += 1
        else:  # a birth: the household's surname, a given name and sex another child has
            head = members[0]
            donor = rng.choice(children)
            number = str(rng.randrange(1_000_000_000, 9_999_999_999))
            while number in known:
                number = str(rng.randrange(1_000_000_000, 9_999_999_999))
            known.add(number)
            born = wareki(ch.next_day - timedelta(days=rng.randint(1, 14)))
            baby = list(head)
            baby[idx["宛名番号"]] = number
            baby[idx["氏名"]] = _joined(head[idx["氏名"]], _split(head[idx["氏名"]])[0], _split(donor[idx["氏名"]])[1])
            baby[idx["カナ氏名"]] = _joined(head[idx["カナ氏名"]], _split(head[idx["カナ氏名"]])[0],
                                        _split(donor[idx["カナ氏名"]])[1])
            baby[idx["生年月日"]], baby[idx["性別"]], baby[idx["続柄"]] = born, donor[idx["性別"]], "子"
            baby[idx["住民区分"]], baby[idx["異動日"]] = "住民", born
            f.added.append(baby)
            ch.events.append([number, "出生", born, "", head[idx["住所"]], ""])
            counts["added"] += 1
    return counts


def _movements(f: CsvFile, ch: Changes) -> dict[str, int]:
    if f.header[:2] != ["宛名番号", "異動事由"] or len(f.header) != 6:
        return {}
    f.added.extend(ch.events)
    return {"added": len(ch.events)}


def _carried(f: CsvFile, ch: Changes) -> dict[str, int]:
    """A department's rows of the persons whose name or address changed today."""
    changed = 0
    for key, columns in CARRIED.items():
        k = f.col(key)
        if k is None:
            continue
        where = {what: i for name, what in columns.items() if (i := f.col(name)) is not None}
        for row in f.records():
            person, touched = row[k], False
            if person in ch.names and "name" in where:
                family = _split(ch.names[person][0])[0]
                row[where["name"]] = _joined(row[where["name"]], family, _split(row[where["name"]])[1])
                touched = True
            if person in ch.names and "kana" in where:
                # Departments write kana in full width (the register in half width): NFKC folds it.
                kana = unicodedata.normalize("NFKC", _split(ch.names[person][1])[0])
                row[where["kana"]] = _joined(row[where["kana"]], kana, _split(row[where["kana"]])[1])
                touched = True
            if person in ch.addresses and "address" in where:
                row[where["address"]] = ch.addresses[person]
                touched = True
            if touched:
                f.touch(row)
                changed += 1
    return {"changed": changed} if changed else {}


def _attendance(f: CsvFile, rng: random.Random, share: float, ch: Changes) -> dict[str, int]:
    """A school's monthly attendance: the month just ended gets more absences, the new month its first."""
    month, pupil, absent = f.col("年月"), f.col("児童生徒番号"), f.col("欠席日数")
    records = f.records()
    if month is None or pupil is None or absent is None or not records:
        return {}
    latest = max(r[month] for r in records)
    current = [r for r in records if r[month] == latest and r[absent].isdigit()]
    n = min(len(current), max(0, round(share * len(records) / 2)))
    added, new_month = 0, f"{ch.next_day.year}-{ch.next_day.month:02d}"
    for row in rng.sample(current, n):
        row[absent] = str(int(row[absent]) + 1)
        f.touch(row)
        if new_month != latest:
            # The new month's first absence: counts start at nought, the rest as the pupil's row has it.
            fresh = [("0" if v.isdigit() and i not in (pupil,) else v) for i, v in enumerate(row)]
            fresh[month], fresh[absent] = new_month, "1"
            f.added.append(fresh)
            added += 1
    return {"changed": n, "added": added}


def next_day_exports(exports: Path, out: Path, share: float, seed: int) -> dict[str, Any]:
    """Write the next day's export set to ``out``; what changed, per file and in all."""
    rng = random.Random(seed)
    files = sorted(p for p in exports.iterdir() if DATE_IN_NAME.search(p.name))
    day = max(datetime.strptime(DATE_IN_NAME.search(p.name).group(1), "%Y%m%d").date() for p in files)  # type: ignore[union-attr]
    ch = Changes(next_day=day + timedelta(days=1))
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    stamp = ch.next_day.strftime("%Y%m%d")
    total_rows = 0
    parsed: dict[Path, CsvFile] = {}
    for path in files:
        if path.suffix.lower() == ".csv":
            parsed[path] = CsvFile(path)
            total_rows += len(parsed[path].rows)
    # The register first: the other departments carry what it changed.
    order = sorted(parsed, key=lambda p: (not p.name.startswith("juki_jumin"), p.name))
    for path in order:
        f = parsed[path]
        counts = _register(f, rng, share, ch) if path.name.startswith("juki_jumin") else {}
        counts = counts or _movements(f, ch) or _attendance(f, rng, share, ch) or _carried(f, ch)
        if counts:
            ch.per_file[path.name] = counts
    for path in files:
        target = out / DATE_IN_NAME.sub(rf"_{stamp}\2", path.name)
        if path in parsed and path.name in ch.per_file:
            parsed[path].write(target)
        else:
            shutil.copyfile(path, target)  # unchanged: the same bytes under the new date
    changed = sum(c.get("changed", 0) + c.get("added", 0) for c in ch.per_file.values())
    return {"export_date": ch.next_day.isoformat(), "files": len(files), "files_changed": len(ch.per_file),
            "rows_csv": total_rows, "rows_changed_or_added": changed,
            "changed_share": round(changed / total_rows, 5) if total_rows else None,
            "register_events": len(ch.events), "per_file": ch.per_file}


def _stage(name: str, cmd: list[str]) -> tuple[dict[str, Any], Any]:
    load = round(os.getloadavg()[0], 2)
    print(f"{name}: {' '.join(cmd[1:3])} … (load {load})", flush=True)
    run = run_stage(cmd, env=child_env())
    entry: dict[str, Any] = {"status": "ok" if run.ok else "failed", "wall_seconds": run.wall_seconds,
                             "cpu_seconds": run.cpu_seconds, "peak_rss_mb": run.peak_rss_mb,
                             "load_avg_1m_before": load}
    report = None
    if run.ok:
        try:
            report = json.loads(run.stdout)
        except ValueError:
            report = None
    else:
        entry.update(error=run.failure(), stderr_tail=run.stderr_tail[-1500:])
    print(f"{name}: {entry['status']} in {run.wall_seconds} s wall, {run.cpu_seconds} CPU s, peak {run.peak_rss_mb} MB",
          flush=True)
    return entry, report


def _ingest_summary(report: Any) -> dict[str, Any]:
    files = report.get("files", []) if isinstance(report, dict) else []
    loaded = [f for f in files if not f.get("already_loaded")]
    return {"files_loaded": len(loaded), "files_already_loaded": len(files) - len(loaded),
            "rows_in": sum(int(f.get("rows_in", 0)) for f in loaded),
            "quarantined": sum(int(f.get("quarantined", 0)) for f in loaded)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True, help="a built, linked and screened home")
    parser.add_argument("--synth", type=Path, required=True, help="the synthetic municipality (exports/, truth/)")
    parser.add_argument("--changed", type=float, default=0.01, help="share of the register's rows changed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, help="where the copy and the new exports go (default: <home>-daily)")
    parser.add_argument("--in-place", action="store_true", help="run on the home itself, not a copy")
    parser.add_argument("--link-mode", choices=("incremental", "full"), default="incremental")
    parser.add_argument("--label", default="", help="a suffix for the result file")
    args = parser.parse_args(argv)
    home, synth = args.home.resolve(), args.synth.resolve()
    work = (args.work or home.parent / f"{home.name}-daily").resolve()
    work.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((synth / "truth" / "manifest.json").read_text(encoding="utf-8"))
    exports = work / "exports-next"
    print(f"next day's exports into {exports} …", flush=True)
    started = datetime.now(UTC)
    made = next_day_exports(synth / "exports", exports, args.changed, args.seed)
    print(json.dumps({k: v for k, v in made.items() if k != "per_file"}, ensure_ascii=False), flush=True)
    run_home = home
    if not args.in_place:
        run_home = work / "home"
        shutil.rmtree(run_home, ignore_errors=True)
        print(f"copying the home to {run_home} …", flush=True)
        shutil.copytree(home, run_home, symlinks=True)
    tsunagu = tsunagu_command()
    h = ["--home", str(run_home)]
    stages: dict[str, Any] = {}
    stages["ingest"], rep = _stage("ingest", [tsunagu, "ingest", str(exports), *h, "--json"])
    if rep is not None:
        stages["ingest"]["figures"] = _ingest_summary(rep)
    link_cmd = [tsunagu, "link", *(["--incremental"] if args.link_mode == "incremental" else []), *h, "--json"]
    if stages["ingest"]["status"] == "ok":
        stages["link"], rep = _stage("link", link_cmd)
        if isinstance(rep, dict):
            stages["link"]["figures"] = {k: rep.get(k) for k in ("mode", "records", "persons", "probabilistic_links",
                                                                 "review_pairs", "created", "merged", "split",
                                                                 "links_written", "stage_seconds", "seconds")}
    if stages.get("link", {}).get("status") == "ok":
        stages["screen"], rep = _stage("screen", [tsunagu, "screen", "--as-of", made["export_date"], *h, "--json"])
        if isinstance(rep, dict):
            stages["screen"]["figures"] = {k: rep[k] for k in ("children", "listed", "seconds") if k in rep}
    done = [s for s in stages.values() if s.get("status") == "ok"]
    result = {
        "benchmark": "daily", "children": manifest.get("children"), "changed": args.changed, "seed": args.seed,
        "link_mode": args.link_mode, "measured_at": started.isoformat(timespec="seconds"),
        "machine": describe_machine(), "code": describe_code(HERE.parent), "home": str(run_home),
        "next_day": made, "stages": stages,
        "total": {"wall_seconds": round(sum(s["wall_seconds"] for s in done), 2),
                  "cpu_seconds": round(sum(s["cpu_seconds"] or 0 for s in done), 2),
                  "peak_rss_mb": max((s["peak_rss_mb"] or 0 for s in done), default=None),
                  "all_ok": len(done) == 3},
    }
    RESULTS.mkdir(exist_ok=True)
    name = f"daily-{manifest.get('children')}{'-' + args.label if args.label else ''}.json"
    (RESULTS / name).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result["total"]), f"→ {RESULTS / name}", flush=True)
    return 0 if result["total"]["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
