"""EMV RSA keys: lengths and exponents EMV allows, the bare private operation by the CRT, sealed storage."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chancery.errors import Malformed
from chancery.keys import raw_rsa


@pytest.fixture(scope="module")
def key_1152() -> rsa.RSAPrivateKey:
    return raw_rsa.generate(1152, 3)


@pytest.mark.parametrize(
    ("bits", "exponent", "ok"),
    [
        pytest.param(1024, 3, True, id="ok/1024-e3"),
        pytest.param(1984, 65537, True, id="ok/1984-f4"),
        pytest.param(1408, 3, True, id="ok/1408-e3"),
        pytest.param(1020, 3, False, id="fail/not-a-multiple-of-8"),
        pytest.param(2048, 3, False, id="fail/above-1984"),
        pytest.param(768, 3, False, id="fail/below-1024"),
        pytest.param(1152, 2, False, id="fail/exponent-2"),
        pytest.param(1152, 17, False, id="fail/exponent-17"),
    ],
)
def test_emv_parameters(bits: int, exponent: int, ok: bool) -> None:
    if ok:
        raw_rsa.check_parameters(bits, exponent)
    else:
        with pytest.raises(Malformed):
            raw_rsa.check_parameters(bits, exponent)


def test_the_crt_private_operation_inverts_the_public_one(key_1152: rsa.RSAPrivateKey) -> None:
    key = raw_rsa.SoftwareRawRsaKey("k", key_1152)
    assert key.modulus_length == 144 and key.public_exponent == 3
    block = bytes([0x6A]) + bytes(range(142)) + bytes([0xBC])
    signature = key.sign_raw(block)
    assert len(signature) == 144
    assert pow(int.from_bytes(signature, "big"), 3, key.modulus).to_bytes(144, "big") == block
    d = key_1152.private_numbers().d
    assert int.from_bytes(signature, "big") == pow(int.from_bytes(block, "big"), d, key.modulus)  # same as no CRT


@pytest.mark.parametrize(
    "block", [b"\x00" * 143, b"\x00" * 145, b"\xff" * 144, b""], ids=["short", "long", "above-modulus", "empty"]
)
def test_bad_blocks_are_refused(key_1152: rsa.RSAPrivateKey, block: bytes) -> None:
    with pytest.raises(Malformed):
        raw_rsa.SoftwareRawRsaKey("k", key_1152).sign_raw(block)
