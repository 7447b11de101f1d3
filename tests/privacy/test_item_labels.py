"""Every kind of item an audit entry names reads in Japanese where a person sees it (the access
history, the disclosure pack): the catalogue's items, the departments' records and the hub's own."""

from __future__ import annotations

from tsunagu.privacy.records import HUB_ITEMS, item_label, record_item
from tsunagu.work.candidates import CASE_ITEM


def _japanese(text: str) -> bool:
    return not text.isascii()


def test_the_case_status_and_owner_item_has_a_japanese_label() -> None:
    assert CASE_ITEM in HUB_ITEMS
    assert item_label(CASE_ITEM) == "ケースの状況と担当者"


def test_a_register_lookup_names_the_register_not_its_code() -> None:
    label = item_label("register:1000000002")
    assert label.startswith("住民記録") and "1000000002" in label and "register" not in label


def test_catalogue_items_and_department_records_keep_their_labels() -> None:
    assert _japanese(item_label("kokoro_weather"))
    assert _japanese(item_label(record_item("resident_registry", "juki_jumin")))
    assert item_label("no_such_item") == "no_such_item"  # an unknown id is shown as is, for the scan test to catch
