"""Loading export files into their departments' vaults, one transaction per file.

Every input row ends up loaded or quarantined with its reason; a file that cannot be read, or
that lacks a column its manifest needs, is refused whole and leaves the vault as it was.
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

from tsunagu.catalog import Catalog, default_catalog
from tsunagu.catalog.manifest import Manifest, ManifestSet
from tsunagu.errors import InputError
from tsunagu.ingest.columnar import ColumnConverter, SharedResults
from tsunagu.ingest.convert import ConvertedRow, RowConverter
from tsunagu.ingest.readers import Table, UnreadableFileError, read_table
from tsunagu.store.dialects import dialect_of
from tsunagu.vault.store import LoadWriter, Vault, VaultLocation

# Rows converted and written at a time by the column-wise path: bounds the memory of a large file.
_CHUNK_ROWS = 20_000


class FileRefusedError(InputError, ValueError):
    """A whole file was refused (nothing of it loaded); the message says why."""

    code = "file_refused"


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


@dataclass
class SourceResult:
    source: str
    department: str
    files: int = 0
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    already_loaded: bool = True


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)

    def sources(self) -> list[SourceResult]:
        by_source: dict[str, SourceResult] = {}
        for f in self.files:
            s = by_source.setdefault(f.source, SourceResult(f.source, f.department))
            s.files += 1
            s.rows_in += f.rows_in
            s.loaded += f.loaded
            s.quarantined += f.quarantined
            s.already_loaded = s.already_loaded and f.already_loaded
        return sorted(by_source.values(), key=lambda s: s.source)

    def as_json(self) -> dict[str, object]:
        return {
            "sources": [vars(s) for s in self.sources()],
            "files": [vars(f) for f in self.files],
            "refused": self.refused,
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
                 *, columnar: bool = True) -> None:
        self.manifests = manifests
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
        try:
            with _gc_paused():  # also between files: a collection there would walk the shared caches
                for path in expand_paths(paths):
                    try:
                        report.files.append(self.ingest_file(path))
                    except (FileRefusedError, UnreadableFileError, FileNotFoundError) as exc:
                        report.refused.append({"file": str(path), "reason": str(exc)})
                    if progress is not None:
                        progress(path)
        finally:
            self._shared.clear()  # the results of a run are not kept after it
        return report

    def ingest_file(self, path: Path) -> FileResult:
        with _gc_paused():
            return self._ingest_file(path)

    def _ingest_file(self, path: Path) -> FileResult:
        manifest = self.manifests.for_file(path.name)
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
                return result
            table = read_table(path, manifest.format, manifest.encoding, manifest.header_row)
            converter = RowConverter(manifest, self.catalog, table.header, export_date)
            missing = converter.missing_columns()
            if missing:
                raise FileRefusedError(
                    f"{path.name}: 必須の列「{missing[0]}」がありません（取込定義 {manifest.source}.yaml）"
                    f" / required column {missing[0]!r} missing (manifest {manifest.source})"
                )
            writer = LoadWriter(
                conn, manifest.source, path.name, _partition(manifest, path.name), digest, export_date, table.encoding
            )
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
            writer.finish(table.rows_in)
            result.rows_in, result.loaded, result.quarantined = table.rows_in, writer.loaded, writer.quarantined
            result.encoding = table.encoding_note
        return result


def _load_columns(table: Table, converter: RowConverter, writer: LoadWriter, shared: SharedResults) -> None:
    columns = ColumnConverter(converter, writer.encode, shared)
    for start in range(0, len(table.rows), _CHUNK_ROWS):
        part = columns.convert(table.rows[start : start + _CHUNK_ROWS])
        for row_number, problems, raw in part.quarantined:
            writer.add_quarantine(row_number, problems, raw)
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
        else:
            raw = "\t".join(cells)
            writer.add_quarantine(row_number, [(p.column, p.value, p.rule) for p in converted], raw)
