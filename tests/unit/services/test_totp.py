"""TOTP (RFC 6238) over HOTP (RFC 4226): the specifications' own test vectors, the window, the URI.

Vectors: RFC 4226 Appendix D (HOTP, ASCII secret "12345678901234567890", 6 digits)
and RFC 6238 Appendix B (TOTP, the same secret for SHA-1, 30-second steps, 8 digits).
Chancery's codes have 6 digits, the last 6 of the RFC's 8 (both are the dynamic
truncation modulo a power of ten, RFC 4226 §5.3).
"""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from chancery.services.identity import totp

RFC_SECRET = b"12345678901234567890"


@pytest.mark.parametrize(
    ("counter", "code"),
    [
        pytest.param(0, "755224", id="ok/counter-0"),
        pytest.param(1, "287082", id="ok/counter-1"),
        pytest.param(2, "359152", id="ok/counter-2"),
        pytest.param(3, "969429", id="ok/counter-3"),
        pytest.param(4, "338314", id="ok/counter-4"),
        pytest.param(5, "254676", id="ok/counter-5"),
        pytest.param(6, "287922", id="ok/counter-6"),
        pytest.param(7, "162583", id="ok/counter-7"),
        pytest.param(8, "399871", id="ok/counter-8"),
        pytest.param(9, "520489", id="ok/counter-9"),
    ],
)
def test_hotp_matches_rfc_4226_appendix_d(counter: int, code: str) -> None:
    assert totp.code_at(RFC_SECRET, counter) == code


# RFC 6238 Appendix B, SHA-1 rows: (Unix time, T as hex, 8-digit TOTP).
RFC_6238_SHA1 = [
    (59, 0x0000000000000001, "94287082"),
    (1111111109, 0x00000000023523EC, "07081804"),
    (1111111111, 0x00000000023523ED, "14050471"),
    (1234567890, 0x000000000273EF07, "89005924"),
    (2000000000, 0x0000000003F940AA, "69279037"),
    (20000000000, 0x0000000027BC86AA, "65353130"),
]


@pytest.mark.parametrize(
    ("unix_time", "step", "rfc_code"), [pytest.param(*row, id=f"ok/t={row[0]}") for row in RFC_6238_SHA1]
)
def test_totp_matches_rfc_6238_appendix_b(unix_time: int, step: int, rfc_code: str) -> None:
    assert unix_time // totp.STEP_SECONDS == step  # T = floor((time - T0) / X), T0 = 0, X = 30
    code = totp.code_at(RFC_SECRET, step)
    assert len(code) == totp.DIGITS == 6
    assert code == rfc_code[-6:]
    assert totp.matching_step(RFC_SECRET, code, unix_time) == step


def test_codes_keep_leading_zeros() -> None:
    # t=1111111109 gives 07081804: six digits "081804", the leading zero kept.
    assert totp.code_at(RFC_SECRET, 0x23523EC) == "081804"
    assert totp.matching_step(RFC_SECRET, "081804", 1111111109) == 0x23523EC
    assert totp.matching_step(RFC_SECRET, "81804", 1111111109) is None


@pytest.mark.parametrize(
    ("code_step_offset", "accepted"),
    [
        pytest.param(0, True, id="ok/current-step"),
        pytest.param(-1, True, id="ok/previous-step"),
        pytest.param(1, True, id="ok/next-step"),
        pytest.param(-2, False, id="fail/two-steps-old"),
        pytest.param(2, False, id="fail/two-steps-ahead"),
        pytest.param(-20, False, id="fail/ten-minutes-old"),
    ],
)
def test_window_is_one_step_either_side(code_step_offset: int, accepted: bool) -> None:
    now = 1234567890.0
    current = int(now // totp.STEP_SECONDS)
    code = totp.code_at(RFC_SECRET, current + code_step_offset)
    assert totp.matching_step(RFC_SECRET, code, now) == (current + code_step_offset if accepted else None)


def test_step_boundaries() -> None:
    step = 1111111111 // 30
    code = totp.code_at(RFC_SECRET, step)
    start = step * 30
    assert totp.matching_step(RFC_SECRET, code, start) == step
    assert totp.matching_step(RFC_SECRET, code, start + 29.999) == step
    assert totp.matching_step(RFC_SECRET, code, start + 30 + 29.999) == step  # one step later: still in the window
    assert totp.matching_step(RFC_SECRET, code, start + 60) is None  # two steps later: too old


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("", id="fail/empty"),
        pytest.param("28708", id="fail/five-digits"),
        pytest.param("94287082", id="fail/eight-digits"),
        pytest.param("28708a", id="fail/letter"),
        pytest.param(" 287082", id="fail/space"),
        pytest.param("２８７０８２", id="fail/fullwidth-digits"),
        pytest.param("٢٨٧٠٨٢", id="fail/arabic-indic-digits"),
        pytest.param("²⁸⁷⁰⁸²", id="fail/superscript-digits"),
    ],
)
def test_malformed_codes_match_nothing(code: str) -> None:
    assert totp.matching_step(RFC_SECRET, code, 59) is None


def test_a_code_for_another_secret_is_refused() -> None:
    other = b"12345678901234567891"
    assert totp.matching_step(other, totp.code_at(RFC_SECRET, 1), 59) is None


def test_new_secrets_are_160_random_bits() -> None:
    secrets = {totp.new_secret() for _ in range(8)}
    assert len(secrets) == 8
    assert all(len(secret) == 20 for secret in secrets)


def test_provisioning_uri_follows_the_key_uri_format() -> None:
    uri = totp.provisioning_uri(RFC_SECRET, "alice@example.com")
    parsed = urllib.parse.urlsplit(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert urllib.parse.unquote(parsed.path) == "/Chancery:alice@example.com"
    query = dict(urllib.parse.parse_qsl(parsed.query))
    assert query == {
        "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",  # base32 of the RFC secret, unpadded
        "issuer": "Chancery",
        "algorithm": "SHA1",
        "digits": "6",
        "period": "30",
    }
    assert base64.b32decode(query["secret"]) == RFC_SECRET
