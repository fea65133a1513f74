"""Signed Static (format '03') and Dynamic (format '05') Application Data, and a whole card chain."""

from __future__ import annotations

import hashlib

import pytest

from chancery.emv import framing
from chancery.emv.capk import CaPublicKey
from chancery.emv.dynamic_data import build_signed_dynamic_data, verify_signed_dynamic_data
from chancery.emv.errors import EmvError, Reason
from chancery.emv.icc_certificate import (
    IccCertificate,
    IccCertificateContents,
    build_icc_certificate,
    verify_icc_certificate,
)
from chancery.emv.issuer_certificate import (
    IssuerCertificate,
    IssuerCertificateContents,
    build_issuer_certificate,
    verify_issuer_certificate,
)
from chancery.emv.static_data import build_signed_static_data, recover_signed_static_data, verify_signed_static_data
from chancery.emv.tlv import Tag, decode_tlvs, icc_data_objects, issuer_data_objects
from tests.support.emv_keygen import SoftwareRawSigner
from tests.unit.emv.conftest import EXPIRY, PAN, TODAY, signer

STATIC = bytes.fromhex("5F24032512315A08476173900101011982021980")
UNPREDICTABLE_NUMBER = bytes.fromhex("7FBC4049")


def test_ssad_follows_table_7() -> None:
    issuer = signer(1024, 65537)
    signed = build_signed_static_data(issuer, b"\xda\xc0", STATIC)
    block = framing.recover_block(issuer.public_key(), signed, 0x03, "ssad")
    fields = b"\x03\x01\xda\xc0" + b"\xbb" * (128 - 26)
    assert block == b"\x6a" + fields + hashlib.sha1(fields + STATIC).digest() + b"\xbc"  # noqa: S324


@pytest.mark.parametrize(("bits", "exponent"), [(1024, 65537), (1408, 3), (1984, 65537)])
def test_ssad_round_trip(bits: int, exponent: int) -> None:
    issuer = signer(bits, exponent)
    signed = build_signed_static_data(issuer, b"\x12\x34", STATIC)
    assert verify_signed_static_data(issuer.public_key(), signed, STATIC) == b"\x12\x34"
    assert recover_signed_static_data(issuer.public_key(), signed).data_authentication_code == b"\x12\x34"


def _ssad_block_signed(issuer: SoftwareRawSigner, offset: int, value: int) -> bytes:
    fields = bytearray(b"\x03\x01\xda\xc0" + b"\xbb" * (issuer.modulus_length - 26))
    fields[offset] = value
    return issuer.sign_raw(framing.frame(bytes(fields), STATIC))


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        pytest.param("static-changed", Reason.BAD_HASH, id="fail/static-data-changed"),
        pytest.param("short", Reason.WRONG_LENGTH, id="fail/one-byte-short"),
        pytest.param("format-05", Reason.BAD_FORMAT, id="fail/format-05"),
        pytest.param("hash-algorithm-02", Reason.UNKNOWN_HASH_ALGORITHM, id="fail/hash-algorithm-02"),
        pytest.param("wrong-key", Reason.BAD_TRAILER, id="fail/signed-by-another-issuer"),
    ],
)
def test_ssad_refusals(case: str, reason: Reason) -> None:
    issuer = signer(1024, 65537)
    signed, static, key = build_signed_static_data(issuer, b"\xda\xc0", STATIC), STATIC, issuer.public_key()
    if case == "static-changed":
        static = STATIC + b"\x00"
    elif case == "short":
        signed = signed[1:]
    elif case == "format-05":
        signed = _ssad_block_signed(issuer, 0, 0x05)
    elif case == "hash-algorithm-02":
        signed = _ssad_block_signed(issuer, 1, 0x02)
    elif case == "wrong-key":
        signed = build_signed_static_data(signer(1024, 3), b"\xda\xc0", STATIC)
    with pytest.raises(EmvError) as caught:
        verify_signed_static_data(key, signed, static)
    if case == "wrong-key":  # above the other modulus, or noise that fails a framing check
        assert caught.value.reason in {Reason.OUT_OF_RANGE, Reason.BAD_TRAILER, Reason.BAD_HEADER, Reason.BAD_FORMAT}
    else:
        assert caught.value.reason is reason


def test_dac_must_be_two_bytes() -> None:
    with pytest.raises(EmvError) as caught:
        build_signed_static_data(signer(1024, 65537), b"\xda", STATIC)
    assert caught.value.reason is Reason.BAD_FIELD


def test_sdad_follows_table_17() -> None:
    icc = signer(1024, 3)
    signed = build_signed_dynamic_data(icc, b"\x00\xae", UNPREDICTABLE_NUMBER)
    block = framing.recover_block(icc.public_key(), signed, 0x05, "sdad")
    fields = b"\x05\x01\x03\x02\x00\xae" + b"\xbb" * (128 - 3 - 25)
    assert block == b"\x6a" + fields + hashlib.sha1(fields + UNPREDICTABLE_NUMBER).digest() + b"\xbc"  # noqa: S324


@pytest.mark.parametrize("number", [b"\x00\xae", bytes(range(1, 9))], ids=["ok/2-bytes", "ok/8-bytes"])
def test_sdad_round_trip(number: bytes) -> None:
    icc = signer(1024, 3)
    signed = build_signed_dynamic_data(icc, number, UNPREDICTABLE_NUMBER)
    result = verify_signed_dynamic_data(icc.public_key(), signed, UNPREDICTABLE_NUMBER)
    assert result.icc_dynamic_number == number and result.icc_dynamic_data == bytes([len(number)]) + number


def _sdad_signed(icc: SoftwareRawSigner, dynamic_length: int, dynamic: bytes) -> bytes:
    pad = b"\xbb" * (icc.modulus_length - 25 - len(dynamic))
    return icc.sign_raw(framing.frame(b"\x05\x01" + bytes([dynamic_length]) + dynamic + pad, UNPREDICTABLE_NUMBER))


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        pytest.param("other-unpredictable-number", Reason.BAD_HASH, id="fail/other-terminal-data"),
        pytest.param("long", Reason.WRONG_LENGTH, id="fail/one-byte-long"),
        pytest.param("dynamic-length-too-big", Reason.BAD_FIELD, id="fail/ldd-above-nic-minus-25"),
        pytest.param("no-dynamic-number", Reason.BAD_FIELD, id="fail/empty-dynamic-data"),
        pytest.param("number-1-byte", Reason.BAD_FIELD, id="fail/dynamic-number-1-byte"),
        pytest.param("number-overruns", Reason.BAD_FIELD, id="fail/number-longer-than-dynamic-data"),
    ],
)
def test_sdad_refusals(case: str, reason: Reason) -> None:
    icc = signer(1024, 3)
    signed, terminal = build_signed_dynamic_data(icc, b"\x00\xae", UNPREDICTABLE_NUMBER), UNPREDICTABLE_NUMBER
    if case == "other-unpredictable-number":
        terminal = bytes.fromhex("7FBC404A")
    elif case == "long":
        signed = signed + b"\x00"
    elif case == "dynamic-length-too-big":
        signed = _sdad_signed(icc, 104, b"\x02\x00\xae")
    elif case == "no-dynamic-number":
        signed = _sdad_signed(icc, 0, b"")
    elif case == "number-1-byte":
        signed = _sdad_signed(icc, 2, b"\x01\xae")
    elif case == "number-overruns":
        signed = _sdad_signed(icc, 3, b"\x05\x00\xae")
    with pytest.raises(EmvError) as caught:
        verify_signed_dynamic_data(icc.public_key(), signed, terminal)
    assert caught.value.reason is reason


@pytest.mark.parametrize("number", [b"\x01", bytes(9)], ids=["fail/1-byte", "fail/9-bytes"])
def test_sdad_builder_refuses_bad_dynamic_numbers(number: bytes) -> None:
    with pytest.raises(EmvError) as caught:
        build_signed_dynamic_data(signer(1024, 3), number, UNPREDICTABLE_NUMBER)
    assert caught.value.reason is Reason.BAD_FIELD


def test_a_whole_card_as_a_terminal_sees_it() -> None:
    """Scheme CA (1984, e=3) -> issuer (1408, 65537) -> card (1024, e=3): a terminal starting from
    the CA public key file and the card's data objects recovers every key and verifies SDA and DDA."""
    ca, issuer, card = signer(1984, 3), signer(1408, 65537), signer(1024, 3)
    capk = CaPublicKey(bytes.fromhex("A000000999"), 0x01, ca.public_key())
    issuer_data = issuer_data_objects(
        capk.index,
        build_issuer_certificate(IssuerCertificateContents("476173", EXPIRY, b"\x00\x00\x07", issuer.public_key()), ca),
    )
    icc_data = icc_data_objects(
        build_icc_certificate(IccCertificateContents(PAN, EXPIRY, b"\x00\x00\x01", card.public_key()), STATIC, issuer)
    )
    ssad = build_signed_static_data(issuer, b"\xda\xc0", STATIC)
    sdad = build_signed_dynamic_data(card, b"\x12\x34", UNPREDICTABLE_NUMBER)

    on_card = decode_tlvs(issuer_data) | decode_tlvs(icc_data)
    known = {bytes([capk.index]): capk}[on_card[Tag.CA_PUBLIC_KEY_INDEX]]
    issuer_key = verify_issuer_certificate(
        known.key,
        IssuerCertificate(
            on_card[Tag.ISSUER_PUBLIC_KEY_CERTIFICATE],
            on_card.get(Tag.ISSUER_PUBLIC_KEY_REMAINDER, b""),
            on_card[Tag.ISSUER_PUBLIC_KEY_EXPONENT],
        ),
        pan=PAN,
        today=TODAY,
    ).issuer_key
    assert verify_signed_static_data(issuer_key, ssad, STATIC) == b"\xda\xc0"
    icc_key = verify_icc_certificate(
        issuer_key,
        IccCertificate(
            on_card[Tag.ICC_PUBLIC_KEY_CERTIFICATE],
            on_card.get(Tag.ICC_PUBLIC_KEY_REMAINDER, b""),
            on_card[Tag.ICC_PUBLIC_KEY_EXPONENT],
        ),
        pan=PAN,
        static_data=STATIC,
        today=TODAY,
    ).icc_key
    assert icc_key == card.public_key()
    assert verify_signed_dynamic_data(icc_key, sdad, UNPREDICTABLE_NUMBER).icc_dynamic_number == b"\x12\x34"
