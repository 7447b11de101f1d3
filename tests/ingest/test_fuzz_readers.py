"""Property-based fuzzing of the export readers (issue 18): random bytes, encodings, ragged rows and
huge fields. Whatever arrives, the file is refused whole with a reason, held whole by the snapshot
guard with a reason, or every row is loaded or quarantined — and no exception other than a refusal
escapes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.exports import JUKI_HEADER, PREAMBLE
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.ingest.load import Ingestor

FUZZ = settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["1000000001", "髙橋　太郎", "平成30年4月1日", "2018-04-01", "男", "子", "", '"', '""', ",", "\r",
                     "=1+1", "\x00", "令和99年13月40日", "ｶﾀｶﾅ", "𠮷野家"]),
    st.text(min_size=2_000, max_size=20_000).filter(lambda t: "\n" not in t),  # a huge field
)
ROW = st.lists(CELL, min_size=0, max_size=16)  # ragged: fewer or more fields than the header's 12


def _ingest(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / "in" / "juki_jumin_20261031.csv"
        path.parent.mkdir()
        path.write_bytes(data)
        ingestor = Ingestor(packaged_manifests(), root / "vaults", f"sqlite:///{root / 'hub.sqlite3'}")
        try:
            report = ingestor.ingest([path])
        finally:
            ingestor.close()
        if report.refused:
            assert len(report.refused) == 1 and report.refused[0]["reason"].strip()
            assert not report.files
            return
        if report.held:  # the snapshot guard (#17): no row loadable, so the whole file is held with a reason
            assert len(report.held) == 1 and report.held[0]["reason"].strip()
            assert not report.files
            return
        (result,) = report.files
        assert result.rows_in == result.loaded + result.quarantined


def _csv(rows: list[list[str]]) -> str:
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value

    return "\r\n".join([PREAMBLE, JUKI_HEADER, *(",".join(cell(v) for v in row) for row in rows)]) + "\r\n"


@FUZZ
@given(data=st.binary(max_size=4_000))
def test_random_bytes_are_refused_or_accounted_for(data: bytes) -> None:
    _ingest(data)


@FUZZ
@given(rows=st.lists(ROW, max_size=12), encoding=st.sampled_from(["cp932", "utf-8", "utf-8-sig", "utf-16", "euc-jp"]))
def test_ragged_rows_in_any_encoding_are_loaded_or_quarantined(rows: list[list[str]], encoding: str) -> None:
    _ingest(_csv(rows).encode(encoding, errors="replace"))


@FUZZ
@given(rows=st.lists(ROW, min_size=1, max_size=6), cut=st.integers(min_value=0, max_value=400),
       junk=st.binary(min_size=1, max_size=64))
def test_a_truncated_or_corrupted_export_is_refused_or_accounted_for(rows: list[list[str]], cut: int,
                                                                      junk: bytes) -> None:
    data = _csv(rows).encode("cp932", errors="replace")
    _ingest(data[: max(len(data) - cut, 0)] + junk)
