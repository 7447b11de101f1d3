"""The demo's account list names a school role's school, not its code."""

from __future__ import annotations

from tsunagu.commands.common import console
from tsunagu.commands.serve_demo import print_accounts
from tsunagu.demo_accounts import DemoAccount


def test_a_school_role_is_printed_with_its_school_name() -> None:
    accounts = [DemoAccount(user_id="teacher", password="pw-123", role="teacher", label="担任",
                            organisation="C992901200013")]
    with console.capture() as captured:
        print_accounts(accounts, json_out=False, schools={"C992901200013": "つなぐ市立東中学校"})
    text = captured.get()
    assert "担任（つなぐ市立東中学校）" in text
    assert "C992901200013" not in text
