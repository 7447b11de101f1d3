"""Table-driven tests for postal codes and telephone numbers."""

from __future__ import annotations

import pytest

from tsunagu.ingest.normalize import phone_number, postal_code

POSTAL = [
    ("123-4567", "123-4567"),
    ("1234567", "123-4567"),
    ("〒123-4567", "123-4567"),
    ("〒 123-4567", "123-4567"),
    ("〒１２３－４５６７", "123-4567"),
    ("１２３４５６７", "123-4567"),
    ("123ー4567", "123-4567"),
    ("123 4567", "123-4567"),
    (" 123-4567 ", "123-4567"),
    ("", None),
    ("　", None),
]


@pytest.mark.parametrize(("text", "expected"), POSTAL)
def test_postal_code(text: str, expected: str | None) -> None:
    assert postal_code(text) == expected


POSTAL_ERRORS = [
    ("123-456", "7桁"),
    ("12345678", "got 8"),
    ("1234-567", "hyphen"),
    ("123-45a7", "other than digits"),
    ("〒", "got 0"),
]


@pytest.mark.parametrize(("text", "reason"), POSTAL_ERRORS)
def test_postal_code_errors(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        postal_code(text)


PHONES = [
    ("03-1234-5678", "0312345678"),
    ("0312345678", "0312345678"),
    ("090-1234-5678", "09012345678"),
    ("０９０－１２３４－５６７８", "09012345678"),
    ("090 1234 5678", "09012345678"),
    ("(03) 1234-5678", "0312345678"),
    ("03(1234)5678", "0312345678"),
    ("+81 90-1234-5678", "09012345678"),
    ("+81 (0)3-1234-5678", "0312345678"),
    ("TEL: 03-1234-5678", "0312345678"),
    ("電話 0120-123-456", "0120123456"),
    ("0120.123.456", "0120123456"),
]


@pytest.mark.parametrize(("text", "expected"), PHONES)
def test_phone_number(text: str, expected: str) -> None:
    assert phone_number(text) == expected


PHONE_ERRORS = [
    ("03-1234-567", "got 9"),
    ("090-1234-56789", "got 12"),
    ("9012345678", "start with 0"),
    ("03-1234-ABCD", "other than digits"),
    ("+1 212 555 0100", "not a Japanese number"),
    ("", "got 0"),
]


@pytest.mark.parametrize(("text", "reason"), PHONE_ERRORS)
def test_phone_number_errors(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        phone_number(text)
