"""PAN, issuer identifier, expiry date, serial and hex: the small fields of EMV certificates."""

from __future__ import annotations

import datetime as dt

import pytest

from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import (
    Expiry,
    check_serial,
    cn_to_digits,
    digits_to_cn,
    parse_hex,
    parse_issuer_identifier,
    parse_pan,
)


@pytest.mark.parametrize(
    ("pan", "ok"),
    [
        pytest.param("476173900101", True, id="ok/12-digits"),
        pytest.param("4761739001010119", True, id="ok/16-digits"),
        pytest.param("4761739001010119123", True, id="ok/19-digits"),
        pytest.param("47617390010", False, id="fail/11-digits"),
        pytest.param("47617390010101191234", False, id="fail/20-digits"),
        pytest.param("47617390010101A9", False, id="fail/hex-digit"),
        pytest.param("4761 7390 0101 0119", False, id="fail/spaces"),
        pytest.param("٤٧٦١٧٣٩٠٠١٠١٠١١٩", False, id="fail/arabic-indic-digits"),
        pytest.param("", False, id="fail/empty"),
        pytest.param("4" * 1_000_000, False, id="fail/hostile-million-digits"),
    ],
)
def test_pan(pan: str, ok: bool) -> None:
    if ok:
        assert parse_pan(pan) == pan
    else:
        with pytest.raises(EmvError) as caught:
            parse_pan(pan)
        assert caught.value.reason is Reason.BAD_PAN


def test_pan_that_is_not_a_string_is_bad_pan() -> None:
    with pytest.raises(EmvError) as caught:
        parse_pan(4761739001010119)  # type: ignore[arg-type]
    assert caught.value.reason is Reason.BAD_PAN


@pytest.mark.parametrize(
    ("identifier", "ok"),
    [
        pytest.param("476", True, id="ok/3-digits"),
        pytest.param("476173", True, id="ok/bin"),
        pytest.param("47617390", True, id="ok/8-digits"),
        pytest.param("47", False, id="fail/2-digits"),
        pytest.param("476173900", False, id="fail/9-digits"),
        pytest.param("47617F", False, id="fail/padding-given"),
    ],
)
def test_issuer_identifier(identifier: str, ok: bool) -> None:
    if ok:
        assert parse_issuer_identifier(identifier) == identifier
    else:
        with pytest.raises(EmvError) as caught:
            parse_issuer_identifier(identifier)
        assert caught.value.reason is Reason.BAD_ISSUER_IDENTIFIER


@pytest.mark.parametrize(
    ("field", "digits"),
    [
        pytest.param("476173FF", "476173", id="ok/bin-padded"),
        pytest.param("4761739001010119FFFF", "4761739001010119", id="ok/pan-padded"),
        pytest.param("47617F", "47617", id="ok/odd-digit-count"),
        pytest.param("47F173FF", None, id="fail/padding-inside"),
        pytest.param("4761A3FF", None, id="fail/hex-nibble"),
        pytest.param("FFFFFFFF", None, id="fail/only-padding"),
    ],
)
def test_cn_fields(field: str, digits: str | None) -> None:
    assert cn_to_digits(bytes.fromhex(field)) == digits
    if digits is not None:
        assert digits_to_cn(digits, len(field) // 2) == bytes.fromhex(field)


@pytest.mark.parametrize(
    ("mmyy", "expiry"),
    [
        pytest.param("1231", Expiry(2031, 12), id="ok/dec-2031"),
        pytest.param("0149", Expiry(2049, 1), id="ok/window-end-2049"),
        pytest.param("0150", Expiry(1950, 1), id="ok/window-start-1950"),
        pytest.param("1325", None, id="fail/month-13"),
        pytest.param("0025", None, id="fail/month-00"),
        pytest.param("125", None, id="fail/three-digits"),
        pytest.param("12/5", None, id="fail/slash"),
    ],
)
def test_expiry_parse(mmyy: str, expiry: Expiry | None) -> None:
    if expiry is not None:
        assert Expiry.parse(mmyy) == expiry and expiry.mmyy == mmyy and Expiry.from_bcd(expiry.bcd) == expiry
    else:
        with pytest.raises(EmvError) as caught:
            Expiry.parse(mmyy)
        assert caught.value.reason is Reason.BAD_DATE


@pytest.mark.parametrize("bcd", ["1325", "1A25", "12"], ids=["fail/month-13", "fail/not-bcd", "fail/one-byte"])
def test_expiry_from_bad_bcd(bcd: str) -> None:
    with pytest.raises(EmvError) as caught:
        Expiry.from_bcd(bytes.fromhex(bcd))
    assert caught.value.reason is Reason.BAD_DATE


@pytest.mark.parametrize(
    ("expiry", "today", "expired"),
    [
        pytest.param(Expiry(2024, 2), dt.date(2024, 2, 29), False, id="ok/leap-day-is-last-day"),
        pytest.param(Expiry(2024, 2), dt.date(2024, 3, 1), True, id="fail/day-after"),
        pytest.param(Expiry(2025, 12), dt.date(2025, 12, 31), False, id="ok/new-years-eve"),
        pytest.param(Expiry(2025, 12), dt.date(2026, 1, 1), True, id="fail/new-year"),
    ],
)
def test_valid_through_the_end_of_the_month(expiry: Expiry, today: dt.date, expired: bool) -> None:
    assert expiry.has_expired(today) is expired


@pytest.mark.parametrize("serial", [b"\x00\x00", b"\x00\x00\x00\x01", "000001"], ids=["2", "4", "str"])
def test_serial_is_three_bytes(serial: bytes) -> None:
    assert check_serial(b"\x03\xda\x0a") == b"\x03\xda\x0a"
    with pytest.raises(EmvError) as caught:
        check_serial(serial)
    assert caught.value.reason is Reason.BAD_SERIAL


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("A000 00003", Reason.BAD_FIELD, id="fail/space"),
        pytest.param("A00000000", Reason.BAD_FIELD, id="fail/odd-length"),
        pytest.param("A0000000G3", Reason.BAD_FIELD, id="fail/not-hex"),
        pytest.param("A0" * 6, Reason.OVERSIZED, id="fail/longer-than-allowed"),
        pytest.param(3, Reason.BAD_FIELD, id="fail/not-a-string"),
    ],
)
def test_hex(text: str, reason: Reason) -> None:
    assert parse_hex("a000000003", "rid", max_bytes=5) == bytes.fromhex("A000000003")
    with pytest.raises(EmvError) as caught:
        parse_hex(text, "rid", max_bytes=5)
    assert caught.value.reason is reason
