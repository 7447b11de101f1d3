import pytest

from tsunagu.municipality import MunicipalityCodeError, check_digit, validate_code

# Real 地方公共団体コード, chosen to cover every branch of the modulus-11 rule.
VALID = [
    ("272205", "箕面市"),
    ("130001", "東京都: remainder 10"),
    ("010006", "北海道"),
    ("012131", "苫小牧市: remainder 0 gives 1"),
    ("012050", "室蘭市: remainder 1 gives 0"),
    ("131016", "千代田区"),
    ("271004", "大阪市"),
    ("011002", "札幌市"),
]


@pytest.mark.parametrize(("code", "why"), VALID)
def test_valid_codes(code: str, why: str) -> None:
    assert validate_code(code) == code, why
    assert check_digit(code[:5]) == int(code[5])


@pytest.mark.parametrize(
    ("code", "expected_fragment"),
    [
        ("272206", "6 ではなく 5"),
        ("272200", "0 ではなく 5"),
        ("012130", "0 ではなく 1"),
        ("130009", "9 ではなく 1"),
    ],
)
def test_wrong_check_digit_names_the_digit_and_the_fix(code: str, expected_fragment: str) -> None:
    with pytest.raises(MunicipalityCodeError) as info:
        validate_code(code)
    message = str(info.value)
    assert "6桁目" in message
    assert expected_fragment in message
    assert f"{code[:5]}{check_digit(code[:5])}" in message


@pytest.mark.parametrize("code", ["27220", "2722050", "27220a", "２７２２０５", "", "272 05"])
def test_malformed_codes(code: str) -> None:
    with pytest.raises(MunicipalityCodeError, match="6桁"):
        validate_code(code)
