"""Postal codes and telephone numbers.

Both are validated, not guessed: a phone number that lost its leading zero in
a spreadsheet, or a six-digit postal code, raises ValueError with the reason
so ingest can report the row instead of linking on a wrong value.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["phone_number", "postal_code"]

_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc"
_POSTAL_SEPARATORS = re.compile(rf"\s*[{_DASHES}]\s*|\s+")
_POSTAL_FORM = re.compile(r"(\d{3})-?(\d{4})")
_PHONE_LABEL = re.compile(r"^(?:tel|phone|fax|電話番号|電話|携帯)\s*[:.]?\s*", re.IGNORECASE)
_PHONE_SEPARATORS = re.compile(rf"[\s{_DASHES}().]+")
_ASCII_DIGITS = re.compile(r"[0-9]*")


def postal_code(text: str) -> str | None:
    """Return a postal code as ``"123-4567"``, or None for a blank field.

    Accepts 〒, full-width digits and any dash look-alike. Raises ValueError
    when the code does not have exactly seven digits in 3+4 form.
    """
    s = unicodedata.normalize("NFKC", text).strip()
    if not s:
        return None
    s = s.removeprefix("〒").strip()
    s = _POSTAL_SEPARATORS.sub("-", s)
    m = _POSTAL_FORM.fullmatch(s)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    digits = s.replace("-", "")
    if not _ASCII_DIGITS.fullmatch(digits):
        raise ValueError(
            f"郵便番号に数字以外の文字があります: {text!r} / "
            f"postal code contains characters other than digits: {text!r}"
        )
    if len(digits) != 7:
        raise ValueError(
            f"郵便番号は7桁です（{len(digits)}桁）: {text!r} / "
            f"postal code must have 7 digits, got {len(digits)}: {text!r}"
        )
    raise ValueError(
        f"郵便番号の区切りが不正です（123-4567 の形）: {text!r} / "
        f"postal code hyphen must follow the third digit: {text!r}"
    )


def phone_number(text: str) -> str:
    """Return a Japanese telephone number as its digits (``"0312345678"``).

    Accepts full-width digits, spaces, dashes, parentheses, a ``TEL:`` style
    label and the +81 country prefix (turned back into the leading 0).
    Raises ValueError unless 10 or 11 digits starting with 0 remain.
    """
    s = unicodedata.normalize("NFKC", text).strip()
    s = _PHONE_LABEL.sub("", s)
    s = _PHONE_SEPARATORS.sub("", s)
    if s.startswith("+"):
        if not s.startswith("+81"):
            raise ValueError(f"日本の番号（+81）ではありません: {text!r} / not a Japanese number (+81): {text!r}")
        # +81 replaces the trunk 0; some people write both, as +81 (0)3 ...
        s = "0" + s[3:].removeprefix("0")
    if not _ASCII_DIGITS.fullmatch(s):
        raise ValueError(
            f"電話番号に数字以外の文字があります: {text!r} / "
            f"phone number contains characters other than digits: {text!r}"
        )
    if not 10 <= len(s) <= 11:
        raise ValueError(
            f"電話番号は10〜11桁です（{len(s)}桁）: {text!r} / "
            f"phone number must have 10 or 11 digits, got {len(s)}: {text!r}"
        )
    if not s.startswith("0"):
        raise ValueError(
            f"電話番号が0で始まっていません（先頭の0が欠落?）: {text!r} / "
            f"phone number must start with 0 (leading zero lost?): {text!r}"
        )
    return s
