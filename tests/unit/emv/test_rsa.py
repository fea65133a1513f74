"""EMV RSA: key generation, public keys, the public operation, raw signers and the fault check."""

from __future__ import annotations

import math

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chancery.emv import framing
from chancery.emv.errors import EmvError, Reason
from chancery.emv.issuer_certificate import (
    IssuerCertificateContents,
    build_issuer_certificate,
    verify_issuer_certificate,
)
from chancery.emv.rsa import (
    EmvPublicKey,
    RawSigner,
    exponent_bytes,
    parse_exponent,
    recover,
    signer_public_key,
)
from chancery.errors import InternalError, Malformed
from chancery.keys import raw_rsa
from tests.support.emv_keygen import SoftwareRawSigner, check_key_parameters, generate_emv_rsa_key, is_probable_prime
from tests.unit.emv.conftest import EXPIRY, TODAY, public_key, signer


@pytest.mark.parametrize(
    ("bits", "exponent", "reason"),
    [
        pytest.param(512, 3, None, id="ok/512-e3"),
        pytest.param(1152, 65537, None, id="ok/1152-f4"),
        pytest.param(1984, 3, None, id="ok/1984-e3"),
        pytest.param(504, 3, Reason.BAD_KEY_SIZE, id="fail/504-bits"),
        pytest.param(1020, 3, Reason.BAD_KEY_SIZE, id="fail/not-a-multiple-of-8"),
        pytest.param(1992, 3, Reason.BAD_KEY_SIZE, id="fail/above-1984"),
        pytest.param(2048, 65537, Reason.BAD_KEY_SIZE, id="fail/2048"),
        pytest.param(1024, 2, Reason.BAD_EXPONENT, id="fail/exponent-2"),
        pytest.param(1024, 17, Reason.BAD_EXPONENT, id="fail/exponent-17"),
        pytest.param(1024, 1, Reason.BAD_EXPONENT, id="fail/exponent-1"),
    ],
)
def test_key_parameters(bits: int, exponent: int, reason: Reason | None) -> None:
    if reason is None:
        check_key_parameters(bits, exponent)
    else:
        with pytest.raises(EmvError) as caught:
            generate_emv_rsa_key(bits, exponent)
        assert caught.value.reason is reason


@pytest.mark.parametrize(("bits", "exponent"), [(512, 3), (1024, 65537), (1408, 3), (1984, 3)])
def test_generated_keys_have_exactly_the_length_and_exponent(bits: int, exponent: int) -> None:
    key = signer(bits, exponent)
    assert key.modulus.bit_length() == bits and key.public_exponent == exponent
    assert key.modulus_length == bits // 8 and key.public_numbers == (key.modulus, exponent)
    assert key.public_key().length == bits // 8


def test_generated_key_is_a_valid_rsa_key() -> None:
    numbers = generate_emv_rsa_key(768, 3).private_numbers()
    p, q, d = numbers.p, numbers.q, numbers.d
    assert p * q == numbers.public_numbers.n and p != q
    assert is_probable_prime(p) and is_probable_prime(q)
    assert d * 3 % math.lcm(p - 1, q - 1) == 1


@pytest.mark.parametrize(
    ("n", "prime"),
    [
        (2, True),
        (4093, True),
        (4095, False),
        (2**127 - 1, True),
        (2**128 + 1, False),
        ((2**61 - 1) * (2**89 - 1), False),
    ],
)
def test_miller_rabin(n: int, prime: bool) -> None:
    assert is_probable_prime(n) is prime


def test_crt_private_operation_equals_plain_pow_and_inverts_recovery() -> None:
    private_key = generate_emv_rsa_key(1152, 3)
    crt = SoftwareRawSigner(private_key)
    block = bytes([0x6A]) + bytes(range(142)) + bytes([0xBC])
    signature = crt.sign_raw(block)
    d = private_key.private_numbers().d
    assert int.from_bytes(signature, "big") == pow(int.from_bytes(block, "big"), d, crt.modulus)
    assert recover(crt.public_key(), signature) == block


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        pytest.param(b"\x00" * 127, Reason.WRONG_LENGTH, id="fail/short"),
        pytest.param(b"\x00" * 129, Reason.WRONG_LENGTH, id="fail/long"),
        pytest.param(b"\xff" * 128, Reason.OUT_OF_RANGE, id="fail/above-modulus"),
        pytest.param(b"", Reason.WRONG_LENGTH, id="fail/empty"),
    ],
)
def test_bad_blocks_for_sign_and_recover(block: bytes, reason: Reason) -> None:
    key = signer(1024, 3)
    for operation in (key.sign_raw, lambda value: recover(key.public_key(), value)):
        with pytest.raises(EmvError) as caught:
            operation(block)
        assert caught.value.reason is reason


def test_hostile_signed_block_is_refused_before_any_arithmetic() -> None:
    with pytest.raises(EmvError) as caught:
        recover(public_key(128, 3), b"\x01" * 10_000_000)
    assert caught.value.reason is Reason.WRONG_LENGTH


@pytest.mark.parametrize(
    ("modulus", "exponent", "reason"),
    [
        pytest.param(b"\xc1" + b"\x00" * 62 + b"\x01", 3, None, id="ok/512-bit"),
        pytest.param(b"\xc1" + b"\x00" * 62 + b"\x01", 2, Reason.BAD_EXPONENT, id="fail/exponent-2"),
        pytest.param(b"\xc1" + b"\x00" * 62 + b"\x01", 65539, Reason.BAD_EXPONENT, id="fail/exponent-65539"),
        pytest.param(b"\xc1" + b"\x00" * 62 + b"\x02", 3, Reason.BAD_MODULUS, id="fail/even"),
        pytest.param(b"\x41" + b"\x00" * 62 + b"\x01", 3, Reason.BAD_MODULUS, id="fail/top-bit-clear"),
        pytest.param(b"\xc1" + b"\x00" * 61 + b"\x01", 3, Reason.BAD_MODULUS, id="fail/63-bytes"),
        pytest.param(b"\xc1" + b"\x00" * 247 + b"\x01", 3, Reason.MODULUS_TOO_LONG, id="fail/249-bytes"),
    ],
)
def test_public_key_shape(modulus: bytes, exponent: int, reason: Reason | None) -> None:
    if reason is None:
        assert EmvPublicKey(modulus, exponent).exponent_bytes == b"\x03"
    else:
        with pytest.raises(EmvError) as caught:
            EmvPublicKey(modulus, exponent)
        assert caught.value.reason is reason


@pytest.mark.parametrize(
    ("encoded", "value"),
    [
        pytest.param(b"\x03", 3, id="ok/03"),
        pytest.param(b"\x01\x00\x01", 65537, id="ok/010001"),
        pytest.param(b"\x02", None, id="fail/02"),
        pytest.param(b"\x00\x03", None, id="fail/not-minimal-0003"),
        pytest.param(b"", None, id="fail/empty"),
        pytest.param(b"\x11", None, id="fail/17"),
    ],
)
def test_exponent_encoding(encoded: bytes, value: int | None) -> None:
    if value is not None:
        assert parse_exponent(encoded) == value and exponent_bytes(value) == encoded
    else:
        with pytest.raises(EmvError) as caught:
            parse_exponent(encoded)
        assert caught.value.reason is Reason.BAD_EXPONENT


def test_emv_error_is_malformed_with_a_reason() -> None:
    with pytest.raises(Malformed) as caught:
        exponent_bytes(2)
    assert isinstance(caught.value, EmvError) and caught.value.reason == "bad-exponent"


def test_key_store_raw_rsa_keys_are_raw_signers() -> None:
    """What services will pass: the key store's raw RSA key signs an issuer certificate as it is."""
    stored = raw_rsa.SoftwareRawRsaKey("ca", rsa.generate_private_key(public_exponent=3, key_size=1024))
    assert isinstance(stored, RawSigner)
    contents = IssuerCertificateContents("476173", EXPIRY, b"\x00\x00\x01", public_key(96, 65537))
    certificate = build_issuer_certificate(contents, stored)
    ca_key = signer_public_key(stored)
    assert verify_issuer_certificate(ca_key, certificate, pan=None, today=TODAY) == contents


class _FaultySigner:
    """A signer whose private operation returns a wrong value (a glitched token)."""

    def __init__(self, inner: SoftwareRawSigner) -> None:
        self.modulus, self.public_exponent, self.modulus_length = (
            inner.modulus,
            inner.public_exponent,
            inner.modulus_length,
        )
        self._inner = inner

    def sign_raw(self, block: bytes) -> bytes:
        good = self._inner.sign_raw(block)
        return good[:-1] + bytes([good[-1] ^ 1])


def test_a_faulty_signature_is_never_released() -> None:
    faulty = _FaultySigner(signer(1024, 3))
    block = framing.frame(b"\x02" + bytes([framing.PAD]) * 105)
    with pytest.raises(InternalError):
        framing.sign_block(faulty, block)
    contents = IssuerCertificateContents("476173", EXPIRY, b"\x00\x00\x01", public_key(80, 3))
    with pytest.raises(InternalError):
        build_issuer_certificate(contents, faulty)
