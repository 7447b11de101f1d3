"""DuckDB's spill folders: a run removes its own on any exit, and the folders of killed runs on
the next run, never the folder of a run that is still going."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import pytest

from tsunagu.link import probabilistic, spill

# Beyond any process id Linux hands out (pid_max is at most 2**22): no process has it.
NO_SUCH_PROCESS = 2**31 - 2


def _folder(root: Path, pid: int, host: str | None = None, suffix: str = "abc123") -> Path:
    folder = root / f"{spill.PREFIX}{pid}-{host or spill.host_tag()}-{suffix}"
    folder.mkdir()
    (folder / "duckdb_temp_storage-0.tmp").write_bytes(b"\0" * 1024)
    return folder


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder for the test: spill folders are made and cleared here only."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_whether_a_process_exists() -> None:
    assert spill.process_exists(os.getpid())
    assert not spill.process_exists(NO_SUCH_PROCESS)
    assert spill.process_exists(0)  # a process group, not an owner: kept


def test_the_folders_of_gone_runs_are_cleared_and_no_other(temp_root: Path) -> None:
    gone = _folder(temp_root, NO_SUCH_PROCESS)
    gone_too = _folder(temp_root, NO_SUCH_PROCESS - 1, suffix="xyz")
    live = _folder(temp_root, 4242)
    mine = _folder(temp_root, os.getpid())
    elsewhere = _folder(temp_root, NO_SUCH_PROCESS, host="0badf00d" if spill.host_tag() != "0badf00d" else "feedf00d")
    older = temp_root / f"{spill.PREFIX}k3j4h5g6"  # the naming before process ids: owner unknown
    older.mkdir()
    unrelated = temp_root / "tsunagu-fonts"
    unrelated.mkdir()
    alive = {4242}
    asked: list[int] = []

    def exists(pid: int) -> bool:
        asked.append(pid)
        return pid in alive

    removed = spill.clear_stale(temp_root, exists)
    assert sorted(removed) == sorted([gone, gone_too])
    assert not gone.exists() and not gone_too.exists()
    for kept in (live, mine, elsewhere, older, unrelated):
        assert kept.is_dir(), kept
    assert os.getpid() not in asked  # this process's own folders are never in question


def test_a_new_folder_carries_the_process_and_clears_the_gone(temp_root: Path) -> None:
    gone = _folder(temp_root, NO_SUCH_PROCESS)
    live = _folder(temp_root, os.getppid())  # the test runner's parent: alive for the whole test
    folder = spill.new_folder()
    assert folder.parent == temp_root and folder.is_dir()
    assert spill.owner(folder) == os.getpid()
    assert not gone.exists() and live.is_dir()


def test_a_run_clears_killed_runs_and_removes_its_own_folder_on_exit(temp_root: Path) -> None:
    killed = _folder(temp_root, NO_SUCH_PROCESS)
    with probabilistic._connection() as con:
        row = con.execute("SELECT current_setting('temp_directory')").fetchone()
        assert row is not None
        own = Path(str(row[0]))
        assert own.is_dir() and spill.owner(own) == os.getpid()
        assert not killed.exists()
    assert not own.exists()
    assert list(temp_root.iterdir()) == []


def test_a_run_that_fails_removes_its_own_folder(temp_root: Path) -> None:
    with pytest.raises(duckdb.Error), probabilistic._connection() as con:
        con.execute("SELECT * FROM no_such_table")
    assert list(temp_root.iterdir()) == []
    with pytest.raises(KeyError), probabilistic._connection():
        raise KeyError("any exception in the run")
    assert list(temp_root.iterdir()) == []


def test_a_connection_that_cannot_open_leaves_no_folder(temp_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> duckdb.DuckDBPyConnection:
        raise duckdb.IOException("cannot open")

    monkeypatch.setattr(probabilistic.duckdb, "connect", refuse)
    with pytest.raises(duckdb.IOException), probabilistic._connection():
        pass  # never reached
    assert list(temp_root.iterdir()) == []
