from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from support.exports import JUKI_HEADER, juki_row, write_csv
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.ingest.load import Ingestor
from tsunagu.vault.node import LocalNode, NodeRefusedError, NodeRequest
from tsunagu.vault.store import Vault, VaultLocation


def _count(db: Path, table: str, where: str = "1=1") -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"select count(*) from {table} where {where}").fetchone()[0])


def test_every_row_is_loaded_or_quarantined(tmp_path: Path, ingestor: Ingestor) -> None:
    path = write_csv(
        tmp_path / "in" / "juki_jumin_20261031.csv",
        JUKI_HEADER,
        [
            juki_row("1000000001"),
            juki_row("1000000002", birth="令和6年2月30日"),
            juki_row("1000000003", sex="不明X"),
            juki_row("1000000004", name="山﨑　一郎", kana="ﾔﾏｻﾞｷ ｲﾁﾛｳ", birth="S60.1.2", status="転出", moved="R6.4.1"),
        ],
    )
    result = ingestor.ingest_file(path)
    assert (result.rows_in, result.loaded, result.quarantined) == (4, 2, 2)
    vault = tmp_path / "vaults" / "resident_registry.sqlite3"
    assert _count(vault, "records") == 2
    assert _count(vault, "quarantine", "row_number = 2 and column_name = '生年月日'") == 1
    assert _count(vault, "quarantine", "row_number = 3 and column_name = '性別'") == 1
    with sqlite3.connect(vault) as conn:
        family, family_key, reading_key = conn.execute(
            "select family_name, family_key, family_reading_key from records where local_id = '1000000004'"
        ).fetchone()
        moved = conn.execute("select value_text from observations where item_id = 'move_out_date'").fetchone()[0]
    # the original spelling stays beside the match key
    assert (family, family_key, reading_key) == ("山﨑", "山崎", "ヤマザキ")
    assert moved == "2024-04-01"


def test_loading_the_same_file_twice_is_a_no_op(tmp_path: Path, ingestor: Ingestor) -> None:
    path = write_csv(tmp_path / "juki_jumin_20261031.csv", JUKI_HEADER, [juki_row("1000000001")])
    first = ingestor.ingest_file(path)
    again = ingestor.ingest_file(path)
    assert not first.already_loaded and again.already_loaded
    assert (again.rows_in, again.loaded) == (1, 1)
    assert _count(tmp_path / "vaults" / "resident_registry.sqlite3", "records") == 1


def test_a_newer_export_supersedes_and_keeps_history(tmp_path: Path, ingestor: Ingestor) -> None:
    old = write_csv(tmp_path / "juki_jumin_20260930.csv", JUKI_HEADER, [juki_row("1000000001", name="佐藤　花子")])
    new = write_csv(tmp_path / "juki_jumin_20261031.csv", JUKI_HEADER, [juki_row("1000000001", name="鈴木　花子")])
    ingestor.ingest_file(old)
    ingestor.ingest_file(new)
    vault = Vault(VaultLocation.for_home("resident_registry", tmp_path / "vaults", "sqlite:///x"))
    node = LocalNode("resident_registry", vault, packaged_manifests())
    request = NodeRequest("tester", "data_steward", "screening")
    assert node.identifiers(request).data["family_name"].to_list() == ["鈴木"]
    assert node.identifiers(request, as_of=date(2026, 10, 15)).data["family_name"].to_list() == ["佐藤"]
    assert node.identifiers(request, as_of=date(2026, 11, 1)).data["family_name"].to_list() == ["鈴木"]
    vault.dispose()


def test_an_older_export_loaded_late_is_history_not_current(tmp_path: Path, ingestor: Ingestor) -> None:
    new = write_csv(tmp_path / "juki_jumin_20261031.csv", JUKI_HEADER, [juki_row("1000000001", name="鈴木　花子")])
    old = write_csv(tmp_path / "juki_jumin_20260930.csv", JUKI_HEADER, [juki_row("1000000001", name="佐藤　花子")])
    ingestor.ingest_file(new)
    ingestor.ingest_file(old)
    vault = tmp_path / "vaults" / "resident_registry.sqlite3"
    with sqlite3.connect(vault) as conn:
        current = conn.execute("select family_name from records where valid_to is null").fetchall()
    assert current == [("鈴木",)]


def test_a_file_missing_a_required_column_is_refused_whole(tmp_path: Path, ingestor: Ingestor) -> None:
    header = JUKI_HEADER.replace(",性別", "")
    row = juki_row("1000000001").replace(",男,", ",")
    path = write_csv(tmp_path / "juki_jumin_20261031.csv", header, [row])
    report = ingestor.ingest([path])
    assert report.files == []
    assert "性別" in report.refused[0]["reason"] and "juki_jumin" in report.refused[0]["reason"]
    assert _count(tmp_path / "vaults" / "resident_registry.sqlite3", "loads") == 0


def test_a_failed_load_leaves_the_vault_as_it_was(
    tmp_path: Path, ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = write_csv(tmp_path / "juki_jumin_20260930.csv", JUKI_HEADER, [juki_row("1000000001")])
    ingestor.ingest_file(good)
    newer = write_csv(
        tmp_path / "juki_jumin_20261031.csv", JUKI_HEADER, [juki_row(f"10000001{i:02d}") for i in range(20)]
    )
    from tsunagu.vault import store

    def boom(self: store.LoadWriter, rows_in: int) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store.LoadWriter, "finish", boom)
    with pytest.raises(RuntimeError):
        ingestor.ingest_file(newer)
    vault = tmp_path / "vaults" / "resident_registry.sqlite3"
    assert _count(vault, "loads") == 1
    assert _count(vault, "records") == 1
    assert _count(vault, "records", "valid_to is null") == 1


def test_undecodable_bytes_are_quarantined_with_their_offset(tmp_path: Path, ingestor: Ingestor) -> None:
    path = write_csv(
        tmp_path / "gakureibo_20261031.csv",
        "宛名番号,氏名,カナ氏名,生年月日,性別,住所,学校コード,学年,保護者氏名",
        ["1000000001,髙橋　太郎,タカハシ　タロウ,2015-04-02,男,つなぐ市中央町1-2-3,S001,5,髙橋　一郎"],
    )
    data = path.read_bytes() + b"1000000002,\x82\xff\x82,x,2015-04-02,\x85\x40\r\n"
    path.write_bytes(data)
    result = ingestor.ingest_file(path)
    assert (result.rows_in, result.loaded, result.quarantined) == (2, 1, 1)
    with sqlite3.connect(tmp_path / "vaults" / "board_of_education.sqlite3") as conn:
        row, offset, rule = conn.execute("select row_number, byte_offset, rule from quarantine").fetchone()
    assert row == 2
    assert data[offset : offset + 2] in (b"\x82\xff", b"\x85\x40")
    assert "0x" in rule


def test_utf8_with_bom_is_detected(tmp_path: Path, ingestor: Ingestor) -> None:
    header = "学校コード,児童生徒番号,氏名,ふりがな,生年月日,性別,住所,保護者氏名,保護者ふりがな,学年,組"
    path = write_csv(
        tmp_path / "school_S001_meibo_20261031.csv",
        header,
        ["S001,0001,𠮷田　花子,よしだ　はなこ,2015/4/2,女,つなぐ市中央町1-2-3,𠮷田　一郎,よしだ　いちろう,5,1"],
        encoding="utf-8",
        bom=True,
    )
    result = ingestor.ingest_file(path)
    assert result.loaded == 1
    assert "BOM" in result.encoding
    with sqlite3.connect(tmp_path / "vaults" / "schools.sqlite3") as conn:
        local_id, family_key, reading_key = conn.execute(
            "select local_id, family_key, family_reading_key from records"
        ).fetchone()
    assert (local_id, family_key, reading_key) == ("S001:0001", "吉田", "ヨシダ")


def test_node_releases_only_what_the_purpose_allows(tmp_path: Path, ingestor: Ingestor) -> None:
    path = write_csv(tmp_path / "juki_jumin_20261031.csv", JUKI_HEADER, [juki_row("1000000001")])
    ingestor.ingest_file(path)
    vault = Vault(VaultLocation.for_home("resident_registry", tmp_path / "vaults", "sqlite:///x"))
    node = LocalNode("resident_registry", vault, packaged_manifests())
    answer = node.items(
        NodeRequest("t", "system", "screening", ("foreign_national", "abuse_consultation")), date(2026, 11, 1)
    )
    assert answer.data["item_id"].to_list() == ["foreign_national"]
    assert "abuse_consultation" in answer.refused
    with pytest.raises(NodeRefusedError, match="statistics"):
        node.items(NodeRequest("t", "r", "statistics", ("foreign_national",)), date(2026, 11, 1))
    vault.dispose()
    with sqlite3.connect(tmp_path / "vaults" / "resident_registry.sqlite3") as conn:
        outcomes = [r[0] for r in conn.execute("select outcome from request_log order by log_id")]
    assert outcomes == ["partial", "refused"]


def test_a_roster_row_with_a_broken_school_year_is_loaded_and_flagged(tmp_path: Path, ingestor: Ingestor) -> None:
    header = "学校コード,児童生徒番号,氏名,ふりがな,生年月日,性別,住所,保護者氏名,保護者ふりがな,学年,組"
    path = write_csv(tmp_path / "school_S001_meibo_20261031.csv", header, [
        "S001,0001,山田　花子,やまだ　はなこ,2015/4/2,女,つなぐ市中央町1-2-3,山田　一郎,やまだ　いちろう,5,1",
        "S001,0002,山田　桃子,やまだ　ももこ,2015/4/2,女,つなぐ市中央町1-2-3,山田　一郎,やまだ　いちろう,??,1",
    ], encoding="utf-8")
    result = ingestor.ingest_file(path)
    assert (result.loaded, result.quarantined, result.flagged) == (2, 0, 1)
    with sqlite3.connect(tmp_path / "vaults" / "schools.sqlite3") as conn:
        assert conn.execute("select row_number, column_name, status from quarantine").fetchall() == [
            (2, "学年", "flagged")]
        # the pupil still has a record to link; only the grade is missing
        assert conn.execute("select local_id from records order by local_id").fetchall() == [("S001:0001",),
                                                                                              ("S001:0002",)]
        assert conn.execute("select count(*) from observations where local_id = 'S001:0002'"
                            " and item_id = 'grade'").fetchone() == (0,)


def test_a_row_with_only_a_broken_observation_date_is_flagged(tmp_path: Path, any_ingestor: Ingestor) -> None:
    header = "宛名番号,母宛名番号,妊娠届出週数,4か月児健診,1歳6か月児健診,3歳児健診,新生児訪問,EPDS得点,記録日"
    path = write_csv(tmp_path / "boshi_hoken_20261031.csv", header, [
        "1000000001,1000000009,10,受診,,,訪問済,,令和7年4月1日",
        "1000000002,1000000008,,,,,,,令和7年2月30日",
    ])
    result = any_ingestor.ingest_file(path)
    assert (result.loaded, result.quarantined, result.flagged) == (2, 0, 1)
    with sqlite3.connect(tmp_path / "vaults" / "maternal_child_health.sqlite3") as conn:
        assert conn.execute("select distinct row_number, column_name, status from quarantine").fetchall() == [
            (2, "記録日", "flagged")]


def test_the_roster_class_is_loaded_width_folded_and_a_broken_one_flagged(tmp_path: Path, any_ingestor: Ingestor) -> None:
    header = "学校コード,児童生徒番号,氏名,ふりがな,生年月日,性別,住所,保護者氏名,保護者ふりがな,学年,組"
    rest = "2015/4/2,女,つなぐ市中央町1-2-3,山田　一郎,やまだ　いちろう,5"
    path = write_csv(tmp_path / "school_S001_meibo_20261031.csv", header, [
        f"S001,0001,山田　花子,やまだ　はなこ,{rest},2",
        f"S001,0002,山田　桃子,やまだ　ももこ,{rest},３組",
        f"S001,0003,山田　梅子,やまだ　うめこ,{rest},ひまわり学級",
        f"S001,0004,山田　菊子,やまだ　きくこ,{rest},#VALUE!",
    ], encoding="utf-8")
    result = any_ingestor.ingest_file(path)
    assert (result.loaded, result.quarantined, result.flagged) == (4, 0, 1)
    with sqlite3.connect(tmp_path / "vaults" / "schools.sqlite3") as conn:
        assert conn.execute("select row_number, column_name, status from quarantine").fetchall() == [
            (4, "組", "flagged")]
        assert conn.execute("select local_id, value_text from observations where item_id = 'school_class'"
                            " order by local_id").fetchall() == [
            ("S001:0001", "2"), ("S001:0002", "3組"), ("S001:0003", "ひまわり学級")]
