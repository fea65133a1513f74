import pytest

from chancery.domain.serials import SerialNumber, new_serial
from chancery.errors import Malformed


def test_new_serials_are_positive_127_bit_and_distinct() -> None:
    serials = {new_serial() for _ in range(2000)}
    assert len(serials) == 2000
    assert all(0 < s.value < 2**127 for s in serials)
    # at least 64 bits of entropy: practically every draw uses the high bits
    assert max(s.value.bit_length() for s in serials) == 127


def test_top_bit_is_cleared_and_zero_is_redrawn() -> None:
    draws = iter([b"\xff" * 16, b"\x00" * 16, b"\x00" * 15 + b"\x01"])
    assert new_serial(lambda n: next(draws)).value == 2**127 - 1
    draws = iter([b"\x00" * 16, b"\x00" * 15 + b"\x05"])
    assert new_serial(lambda n: next(draws)).value == 5


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("1a2b", 0x1A2B, id="ok/lower"),
        pytest.param("1A:2B", 0x1A2B, id="ok/openssl-colons"),
        pytest.param("0x10", 16, id="ok/0x-prefix"),
        pytest.param(" ff ", 255, id="ok/whitespace"),
    ],
)
def test_from_hex_accepts(text: str, value: int) -> None:
    assert SerialNumber.from_hex(text).value == value


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="fail/empty"),
        pytest.param("xyz", id="fail/not-hex"),
        pytest.param("0", id="fail/zero"),
        pytest.param("-1", id="fail/negative"),
        pytest.param("f" * 41, id="fail/longer-than-20-octets"),
        pytest.param("8" + "0" * 39, id="fail/needs-21-octets-in-DER"),
        pytest.param("1 2", id="fail/space-inside"),
    ],
)
def test_from_hex_refuses(text: str) -> None:
    with pytest.raises(Malformed):
        SerialNumber.from_hex(text)


def test_hex_is_lower_case_without_separators() -> None:
    assert SerialNumber(0xABCDEF).hex == "abcdef"
    assert str(SerialNumber(0xABCDEF)) == "abcdef"
