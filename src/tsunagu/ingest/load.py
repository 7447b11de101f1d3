"""Loading export files into their departments' vaults, one transaction per file.

Every input row ends up loaded or quarantined with its reason; a file that cannot be read, or
that lacks a column its manifest needs, is refused whole and leaves the vault as it was. A file
that would replace its source's current snapshot with far fewer records (or none) is *held*: it
is not applied unless the caller accepts the drop (see SnapshotGuard in the manifest).
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Connection, and_, func, select

from tsunagu.catalog import Catalog, default_catalog
from tsunagu.catalog.manifest import Manifest, ManifestSet
from tsunagu.errors import ConfigurationError, InputError
from tsunagu.ingest.columnar import ColumnConverter, SharedResults
from tsunagu.ingest.convert import ConvertedRow, RowConverter
from tsunagu.ingest.readers import Table, UnreadableFileError, read_table
from tsunagu.store.dialects import dialect_of
from tsunagu.vault import schema
from tsunagu.vault.store import FLAGGED, LoadWriter, Vault, VaultLocation

# Rows converted and written at a time by the column-wise path: bounds the memory of a large file.
_CHUNK_ROWS = 20_000


class FileRefusedError(InputError, ValueError):
    """A whole file was refused (nothing of it loaded); the message says why."""

    code = "file_refused"


@dataclass(frozen=True)
class HeldSnapshot:
    """A new export that would have replaced its source's current records with far fewer."""

    source: str
    label: str
    file: str
    export_date: str
    current: int  # records current before the load
    rows_in: int
    loaded: int  # records the new export would make current
    quarantined: int
    why: str  # in Japanese: no data rows / every row quarantined / too large a drop

    def message(self) -> str:
        return (
            f"{self.file}: 取込を保留しました。{self.label}の現在の記録は{self.current:,}件ですが、"
            f"この出力を適用すると{self.loaded:,}件になります（{self.why}）。保管庫は何も変更していません。"
            "出力の内容（文字コード・抽出条件・ファイルの取り違え）を確かめ、それでも適用する場合だけ"
            " --accept-drop を付けて取り込み直してください（記録されます）"
            f" / held: {self.current:,} current records would become {self.loaded:,}; nothing was changed"
        )


class ManifestInvalidError(FileRefusedError, ConfigurationError):
    """A file refused because the manifest that would take it is invalid (``ManifestProblem``).

    A refused file to the ingest run (listed with the others), a configuration error to whoever
    sees it raised: the manifest is to be fixed, not the file.
    """

    code = "manifest_invalid"
    status = ConfigurationError.status
    exit_code = ConfigurationError.exit_code


class SnapshotHeldError(FileRefusedError):
    """The file was held by the snapshot guard; nothing of it was applied."""

    code = "snapshot_held"

    def __init__(self, held: HeldSnapshot) -> None:
        super().__init__(held.message())
        self.held = held


AcceptDrop = Callable[[HeldSnapshot], None]


@dataclass
class FileResult:
    file: str
    source: str
    department: str
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    already_loaded: bool = False
    encoding: str = ""
    export_date: str = ""
    flagged: int = 0  # loaded rows with a value left out (see RowConverter)
    accepted_drop: bool = False  # applied although the snapshot guard would have held it


@dataclass
class SourceResult:
    source: str
    department: str
    files: int = 0
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    already_loaded: bool = True
    flagged: int = 0


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    held: list[dict[str, str]] = field(default_factory=list)
    manifest_problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing refused, held or unreadable: what the command's exit status says."""
        return not (self.refused or self.held or self.manifest_problems)

    def sources(self) -> list[SourceResult]:
        by_source: dict[str, SourceResult] = {}
        for f in self.files:
            s = by_source.setdefault(f.source, SourceResult(f.source, f.department))
            s.files += 1
            s.rows_in += f.rows_in
            s.loaded += f.loaded
            s.quarantined += f.quarantined
            s.flagged += f.flagged
            s.already_loaded = s.already_loaded and f.already_loaded
        return sorted(by_source.values(), key=lambda s: s.source)

    def as_json(self) -> dict[str, object]:
        return {
            "sources": [vars(s) for s in self.sources()],
            "files": [vars(f) for f in self.files],
            "refused": self.refused,
            "held": self.held,
            "manifest_problems": self.manifest_problems,
        }


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _partition(manifest: Manifest, file_name: str) -> str:
    """The file name without its export date: files sharing it supersede each other."""
    return re.sub(manifest.export_date_pattern, "*", file_name, count=1)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while files load.

    A load allocates millions of lists and tuples that live until the file is written, and the run
    keeps caches of normalised values; none of them form cycles, but the collector would traverse
    them again and again (more than half of the read time of a large file) without freeing
    anything. Reference counting still frees as usual; a run leaves a few hundred cyclic objects.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in (".csv", ".xlsx"))
        else:
            files.append(path)
    return files


class Ingestor:
    """Loads files for one home; keeps one vault handle per department for the run.

    Rows are converted column-wise (:class:`ColumnConverter`); ``columnar=False`` converts them one
    by one with :class:`RowConverter` instead, the reference the column-wise path is tested against.
    """

    def __init__(self, manifests: ManifestSet, vault_dir: Path, hub_url: str, catalog: Catalog | None = None,
                 *, columnar: bool = True, accept_drop: AcceptDrop | None = None) -> None:
        """``accept_drop``: applies an export the snapshot guard would hold, after being called with
        it inside the load's transaction (to record the decision: if it raises, nothing is applied)."""
        self.manifests = manifests
        self.accept_drop = accept_drop
        self.vault_dir = vault_dir
        self.hub_url = hub_url
        self.catalog = catalog or default_catalog()
        self.columnar = columnar
        self._vaults: dict[str, Vault] = {}
        self._shared: dict[str, SharedResults] = {}  # by SQL dialect: what converters of a run share

    def vault(self, department: str) -> Vault:
        if department not in self._vaults:
            self._vaults[department] = Vault(VaultLocation.for_home(department, self.vault_dir, self.hub_url))
        return self._vaults[department]

    def close(self) -> None:
        for vault in self._vaults.values():
            vault.dispose()
        self._vaults.clear()
        self._shared.clear()

    def ingest(self, paths: Iterable[Path], progress: Callable[[Path], None] | None = None) -> IngestReport:
        report = IngestReport()
        report.manifest_problems = [{"manifest": str(p.path), "reason": p.message} for p in self.manifests.problems]
        try:
            with _gc_paused():  # also between files: a collection there would walk the shared caches
                for path in expand_paths(paths):
                    try:
                        report.files.append(self.ingest_file(path))
                    except SnapshotHeldError as exc:
                        report.held.append({"file": str(path), "source": exc.held.source, "reason": str(exc),
                                            "current": str(exc.held.current), "loaded": str(exc.held.loaded)})
                    except (FileRefusedError, UnreadableFileError, FileNotFoundError) as exc:
                        report.refused.append({"file": str(path), "reason": str(exc)})
                    if progress is not None:
                        progress(path)
            # Once per run, not per file: a vault is read (the web app, link) only after its files are in.
            for department in sorted({f.department for f in report.files if not f.already_loaded}):
                self.vault(department).refresh_statistics()
        finally:
            self._shared.clear()  # the results of a run are not kept after it
        return report

    def ingest_file(self, path: Path) -> FileResult:
        with _gc_paused():
            return self._ingest_file(path)

    def _ingest_file(self, path: Path) -> FileResult:
        manifest = self.manifests.for_file(path.name)
        broken = self.manifests.problem_for(path.name) if manifest is None else None
        if broken is not None:
            raise ManifestInvalidError(
                f"{path.name}: 取込定義 {broken.path.name} に誤りがあるため取り込めません（{broken.message}）"
                " / the manifest for this file is invalid"
            )
        if manifest is None:
            raise FileRefusedError(
                f"{path.name}: 対応する取込定義（manifest）がありません / no manifest matches this file name"
            )
        export_date = manifest.export_date_of(path.name)
        if export_date is None:
            raise FileRefusedError(
                f"{path.name}: ファイル名から出力日（YYYYMMDD）が読めません（{manifest.source}.yaml の export_date_pattern）"
                " / no export date in the file name"
            )
        if export_date > date.today() + timedelta(days=1):
            raise FileRefusedError(
                f"{path.name}: ファイル名の出力日 {export_date.isoformat()} が未来の日付です / the export date is in the future"
            )
        digest = file_hash(path)
        result = FileResult(str(path), manifest.source, manifest.department, export_date=export_date.isoformat())
        vault = self.vault(manifest.department)
        with vault.load_transaction() as conn:
            earlier = vault.find_load(conn, manifest.source, digest)
            if earlier is not None:
                result.already_loaded = True
                result.rows_in, result.loaded, result.quarantined = (
                    earlier["rows_in"],
                    earlier["loaded"],
                    earlier["quarantined"],
                )
                result.encoding = earlier["encoding"]
                result.flagged = _flagged_rows(conn, int(earlier["load_id"]))
                return result
            table = read_table(path, manifest.format, manifest.encoding, manifest.header_row)
            refuse_bad_header(path, manifest, table.header)
            converter = RowConverter(manifest, self.catalog, table.header, export_date, table.date1904)
            missing = converter.missing_columns()
            if missing:
                names = "".join(f"「{c}」" for c in missing)
                raise FileRefusedError(
                    f"{path.name}: 必須の列{names}がありません（{len(missing)}列、取込定義 {manifest.source}.yaml）"
                    f" / required columns missing: {', '.join(missing)} (manifest {manifest.source})"
                )
            writer = LoadWriter(
                conn, manifest.source, path.name, _partition(manifest, path.name), digest, export_date, table.encoding
            )
            current = writer.current_records()  # before this load's records join them
            for bad in table.bad_lines:
                writer.add_quarantine(
                    bad.row, [("(行全体)", bad.raw.hex(), bad.reason)], bad.raw.hex(), bad.byte_offset
                )
            writer.expect_rows(len(table.rows))
            if self.columnar:
                # Converters share results across the run's files when their writers encode alike.
                _load_columns(table, converter, writer, self._shared.setdefault(dialect_of(conn).name, SharedResults()))
            else:
                _load_rows(table, converter, writer)
            self._guard(manifest, result, writer, current, table.rows_in, writer.quarantined)
            writer.finish(table.rows_in)
            result.rows_in, result.loaded, result.quarantined = table.rows_in, writer.loaded, writer.quarantined
            result.flagged = writer.flagged
            result.encoding = table.encoding_note
        return result

    def _guard(self, manifest: Manifest, result: FileResult, writer: LoadWriter, current: int, rows_in: int,
               quarantined: int) -> None:
        """Hold (raise SnapshotHeldError, rolling the load back) a new current snapshot that loses too much.

        An export older than the current snapshot only adds history, so it is never held.
        """
        if writer.valid_to is not None:
            return
        guard = manifest.snapshot_guard
        loaded = writer.loaded
        why = ""
        if loaded == 0 and not guard.allow_empty:
            why = ("データ行がありません（空・見出しだけ・文字コード違いの可能性）" if rows_in == quarantined == 0 else
                   f"全{rows_in:,}行が保留になりました（文字コードや列の取り違えの可能性）" if rows_in == quarantined else
                   "取り込める行がありません")
        elif current and (current - loaded) / current > guard.max_drop:
            why = f"現在の記録の{(current - loaded) / current:.0%}が消えます（許容は{guard.max_drop:.0%}まで）"
        if not why:
            return
        held = HeldSnapshot(manifest.source, manifest.label, Path(result.file).name, result.export_date, current,
                            rows_in, loaded, quarantined, why)
        if self.accept_drop is None:
            raise SnapshotHeldError(held)
        self.accept_drop(held)
        result.accepted_drop = True


def refuse_bad_header(path: Path, manifest: Manifest, header: list[str]) -> None:
    """Refuse a header that names a column twice: which of the two holds 宛名番号 is anyone's guess,
    and keeping either (the last one won before) re-keys records to other people."""
    seen: dict[str, int] = {}
    for name in header:
        if name:
            seen[name] = seen.get(name, 0) + 1
    doubled = [name for name, times in seen.items() if times > 1]
    if doubled:
        names = "".join(f"「{name}」" for name in doubled)
        raise FileRefusedError(
            f"{path.name}: 見出しの列名{names}が重複しています。どちらの列を使うか決められないため取り込みません"
            f"（取込定義 {manifest.source}.yaml） / duplicated header column(s): {', '.join(doubled)}"
        )


def _flagged_rows(conn: Connection, load_id: int) -> int:
    q = schema.quarantine
    return int(conn.execute(
        select(func.count(func.distinct(q.c.row_number))).where(and_(q.c.load_id == load_id, q.c.status == FLAGGED))
    ).scalar_one())


def _load_columns(table: Table, converter: RowConverter, writer: LoadWriter, shared: SharedResults) -> None:
    columns = ColumnConverter(converter, writer.encode, shared)
    for start in range(0, len(table.rows), _CHUNK_ROWS):
        part = columns.convert(table.rows[start : start + _CHUNK_ROWS])
        # In row order, quarantined and flagged rows mixed, as the row-by-row path writes them.
        entries = [(row, False, problems, raw, key) for row, problems, raw, key in part.quarantined]
        entries += [(row, True, problems, raw, key) for row, problems, raw, key in part.flagged]
        for row_number, flagged, problems, raw, key in sorted(entries, key=lambda entry: entry[0]):
            if flagged:
                writer.add_flags(row_number, problems, raw, local_id=key)
            else:
                writer.add_quarantine(row_number, problems, raw, local_id=key)
        writer.add_records(
            converter.manifest.subject, part.row_numbers, part.local_ids, part.raws, part.identity, part.observations
        )


def _load_rows(table: Table, converter: RowConverter, writer: LoadWriter) -> None:
    for row_number, cells in table.rows:
        converted = converter.convert(cells)
        if isinstance(converted, ConvertedRow):
            writer.add_record(
                row_number,
                converted.local_id,
                converter.manifest.subject,
                converted.identity,
                converted.raw,
                ((o.item_id, o.value_text, o.value_num, o.value_bool, o.observed_on) for o in converted.observations),
            )
            if converted.flags:
                writer.add_flags(row_number, [(p.column, p.value, p.rule) for p in converted.flags], "\t".join(cells),
                                 local_id=converted.local_id)
        else:
            raw = "\t".join(cells)
            writer.add_quarantine(row_number, [(p.column, p.value, p.rule) for p in converted], raw,
                                  local_id=converter.readable_local_id(cells, converted))
