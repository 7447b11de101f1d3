"""The legal basis of each package kind is in the registers the municipality publishes."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from tsunagu.commands import registers as registers_cmd
from tsunagu.handover.legal import package_kinds
from work.builders import Home

app = typer.Typer()
registers_cmd.register(app)


def test_the_registers_name_both_acts_and_their_grounds(home: Home) -> None:
    where = str(home.settings.home)
    basis = CliRunner().invoke(app, ["registers", "legal-basis", "--home", where, "--json"])
    assert basis.exit_code == 0, basis.output
    entries = {e["source"]: e for e in json.loads(basis.stdout)}
    transfer, provision = entries["handover:case_transfer"], entries["handover:information_provision"]
    assert "第69条第2項第3号" in transfer["clause"]
    for law in ("児童福祉法第25条の2第2項", "児童福祉法第25条の3", "母子保健法第19条の2", "平成30年7月20日改正"):
        assert law in transfer["reason"], law
    assert "児童虐待の防止等に関する法律第4条第6項" not in provision["reason"]
    # 情報提供 carries no free text and no plan: the register says so, from the same file.
    assert any("記述は含めない" in b for b in provision["item_bases"])
    assert not any(b.startswith("支援方針") for b in provision["item_bases"])
    assert package_kinds().of("information_provision").free_text is False
    files = CliRunner().invoke(app, ["registers", "files", "--home", where, "--json"])
    keys = {e["key"]: e for e in json.loads(files.stdout)}
    assert keys["handover_sent"]["sensitive"] and "ケース移管" in keys["handover_sent"]["provision"]
    assert "handover_received" in keys
