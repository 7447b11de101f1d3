"""Municipality identity: the 6-digit 地方公共団体コード and its check digit."""

from __future__ import annotations

from dataclasses import dataclass

from tsunagu.errors import InputError

_WEIGHTS = (6, 5, 4, 3, 2)


class MunicipalityCodeError(InputError, ValueError):
    """A 地方公共団体コード is malformed or its check digit is wrong."""

    code = "municipality_code"


def check_digit(first_five: str) -> int:
    """Return the check digit for the first five digits (総務省 地方公共団体コード, modulus 11).

    The rule: multiply the digits by 6, 5, 4, 3, 2, sum them, take the remainder by 11 and
    subtract it from 11; the check digit is the last digit of that difference (so a remainder of
    0 gives 1 and a remainder of 1 gives 0).
    """
    if len(first_five) != 5 or not first_five.isascii() or not first_five.isdigit():
        raise MunicipalityCodeError(f"5桁の数字が必要です / need 5 digits, got {first_five!r}")
    total = sum(int(d) * w for d, w in zip(first_five, _WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def validate_code(code: str) -> str:
    """Return the code if it is a valid 6-digit 地方公共団体コード, else raise with the fix."""
    text = code.strip()
    if len(text) != 6 or not text.isascii() or not text.isdigit():
        raise MunicipalityCodeError(
            f"地方公共団体コードは6桁の半角数字です（入力: {code!r}） / "
            f"the municipality code must be 6 ASCII digits (got {code!r})"
        )
    expected = check_digit(text[:5])
    if int(text[5]) != expected:
        raise MunicipalityCodeError(
            f"地方公共団体コード {text} の6桁目（検査数字）が誤っています: {text[5]} ではなく {expected} です"
            f"（正しいコード: {text[:5]}{expected}） / the 6th digit (check digit) of {text} is wrong: "
            f"it should be {expected}, not {text[5]} (correct code: {text[:5]}{expected})"
        )
    return text


@dataclass(frozen=True)
class Municipality:
    """One deployment of tsunagu."""

    code: str
    name: str

    def __post_init__(self) -> None:
        validate_code(self.code)
        if not self.name.strip():
            raise MunicipalityCodeError("自治体名が空です / the municipality name is empty")
