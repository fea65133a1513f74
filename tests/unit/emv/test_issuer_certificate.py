"""Issuer public key certificates (format '02', EMV Book 2 §5.3): layout, round trips, refusals."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

import pytest

from chancery.emv import framing
from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import Expiry
from chancery.emv.issuer_certificate import (
    IssuerCertificate,
    IssuerCertificateContents,
    build_issuer_certificate,
    prepare_issuer_certificate,
    recover_issuer_certificate,
    verify_issuer_certificate,
)
from chancery.emv.tlv import Tag, decode_tlvs, issuer_data_objects
from tests.support.emv_keygen import SoftwareRawSigner
from tests.unit.emv.conftest import EXPIRY, PAN, TODAY, public_key, signer

SERIAL = bytes.fromhex("03DA0A")


def contents(issuer_length: int, exponent: int = 3, identifier: str = "476173") -> IssuerCertificateContents:
    return IssuerCertificateContents(identifier, EXPIRY, SERIAL, public_key(issuer_length, exponent))


def test_data_to_sign_follows_table_6() -> None:
    """Byte by byte, for a 1024-bit CA key and a 672-bit issuer key (padded with 'BB')."""
    issuer = contents(84, exponent=65537, identifier="4761739")
    prepared = prepare_issuer_certificate(issuer, 128)
    fields = (
        bytes.fromhex("02" + "4761739F" + "0630" + "03DA0A" + "01" + "01")
        + bytes([84, 3])
        + issuer.issuer_key.modulus
        + b"\xbb" * (128 - 36 - 84)
    )
    expected_hash = hashlib.sha1(fields + b"\x01\x00\x01").digest()  # noqa: S324 - EMV's hash
    assert prepared.block == b"\x6a" + fields + expected_hash + b"\xbc"
    assert (prepared.remainder, prepared.exponent) == (b"", b"\x01\x00\x01")


def test_remainder_is_the_rightmost_bytes_and_is_hashed() -> None:
    issuer = contents(120)  # 1024-bit CA: the certificate holds 92 bytes of the key
    prepared = prepare_issuer_certificate(issuer, 128)
    modulus = issuer.issuer_key.modulus
    assert prepared.remainder == modulus[92:] and prepared.block[15:107] == modulus[:92]
    expected_hash = hashlib.sha1(prepared.block[1:107] + modulus[92:] + b"\x03").digest()  # noqa: S324
    assert prepared.block[107:127] == expected_hash


SIZES = {
    "padded": lambda n: n - 36 - 8,
    "fits-exactly": lambda n: n - 36,
    "remainder": lambda n: n - 16,
    "equal": lambda n: n,
}


@pytest.mark.parametrize("issuer_exponent", [3, 65537], ids=["issuer-e3", "issuer-f4"])
@pytest.mark.parametrize("ca_exponent", [3, 65537], ids=["ca-e3", "ca-f4"])
@pytest.mark.parametrize("size", list(SIZES), ids=[f"ok/{name}" for name in SIZES])
@pytest.mark.parametrize("ca_bits", [1024, 1408, 1984])
def test_round_trip(ca_bits: int, size: str, ca_exponent: int, issuer_exponent: int) -> None:
    ca = signer(ca_bits, ca_exponent)
    n_ca = ca.modulus_length
    issuer = contents(SIZES[size](n_ca), issuer_exponent)
    certificate = build_issuer_certificate(issuer, ca)
    assert len(certificate.certificate) == n_ca
    assert len(certificate.remainder) == max(0, issuer.issuer_key.length - (n_ca - 36))
    assert verify_issuer_certificate(ca.public_key(), certificate, pan=PAN, today=TODAY) == issuer
    objects = decode_tlvs(issuer_data_objects(0x01, certificate))
    assert objects[Tag.ISSUER_PUBLIC_KEY_CERTIFICATE] == certificate.certificate
    assert objects.get(Tag.ISSUER_PUBLIC_KEY_REMAINDER, b"") == certificate.remainder


def test_json_form_of_the_card_data() -> None:
    certificate = IssuerCertificate(b"\x12\xab", b"", b"\x03")
    assert certificate.to_json(0x94) == {
        "certificate_90": "12AB",
        "remainder_92": "",
        "exponent_9F32": "03",
        "ca_index_8F": "94",
    }


Mutation = Callable[[bytearray], None]


def _set(offset: int, value: int) -> Mutation:
    def mutate(data: bytearray) -> None:
        data[offset] = value

    return mutate


def _put(offset: int, hex_bytes: str) -> Mutation:
    def mutate(data: bytearray) -> None:
        value = bytes.fromhex(hex_bytes)
        data[offset : offset + len(value)] = value

    return mutate


def _flip(offset: int) -> Mutation:
    def mutate(data: bytearray) -> None:
        data[offset] ^= 0x01

    return mutate


def _signed(
    ca: SoftwareRawSigner, issuer: IssuerCertificateContents, body: Mutation | None, block: Mutation | None
) -> IssuerCertificate:
    """The certificate for ``issuer`` with its fields changed (``body``: fields from the format
    byte on, the hash recomputed) or its block changed after hashing (``block``), then signed."""
    prepared = prepare_issuer_certificate(issuer, ca.modulus_length)
    data = prepared.block
    if body is not None:
        fields = bytearray(data[1:-21])
        body(fields)
        data = framing.frame(bytes(fields), prepared.remainder, prepared.exponent)
    if block is not None:
        changed = bytearray(data)
        block(changed)
        data = bytes(changed)
    return IssuerCertificate(ca.sign_raw(data), prepared.remainder, prepared.exponent)


# Offsets in the fields (format byte = 0): identifier 1-4, expiry 5-6, serial 7-9, hash algorithm 10,
# key algorithm 11, key length 12, exponent length 13, key 14...
BAD_SIGNED = [
    pytest.param(None, _set(0, 0x6B), Reason.BAD_HEADER, id="fail/header-6B"),
    pytest.param(None, _set(-1, 0xBD), Reason.BAD_TRAILER, id="fail/trailer-BD"),
    pytest.param(_set(0, 0x04), None, Reason.BAD_FORMAT, id="fail/format-04"),
    pytest.param(None, _set(9, 0x0B), Reason.BAD_HASH, id="fail/serial-changed-after-hashing"),
    pytest.param(None, _flip(-2), Reason.BAD_HASH, id="fail/hash-byte-changed"),
    pytest.param(_set(10, 0x02), None, Reason.UNKNOWN_HASH_ALGORITHM, id="fail/hash-algorithm-02"),
    pytest.param(_set(11, 0x02), None, Reason.UNKNOWN_PK_ALGORITHM, id="fail/pk-algorithm-02"),
    pytest.param(_set(13, 0x03), None, Reason.BAD_EXPONENT, id="fail/exponent-length-3-for-03"),
    pytest.param(_set(5, 0x13), None, Reason.BAD_DATE, id="fail/expiry-month-13"),
    pytest.param(_set(2, 0x6A), None, Reason.BAD_ISSUER_IDENTIFIER, id="fail/identifier-hex-digit"),
    pytest.param(_put(1, "47FFFFFF"), None, Reason.BAD_ISSUER_IDENTIFIER, id="fail/identifier-two-digits"),
    pytest.param(_set(12, 0x81), None, Reason.MODULUS_TOO_LONG, id="fail/key-length-above-ca"),
]


@pytest.mark.parametrize(("body", "block", "reason"), BAD_SIGNED)
def test_signed_but_wrong_certificates(body: Mutation | None, block: Mutation | None, reason: Reason) -> None:
    ca = signer(1024, 3)
    certificate = _signed(ca, contents(84), body, block)
    with pytest.raises(EmvError) as caught:
        verify_issuer_certificate(ca.public_key(), certificate, pan=PAN, today=TODAY)
    assert caught.value.reason is reason


def _verify_changed(change: str) -> None:
    ca = signer(1024, 3)
    certificate = build_issuer_certificate(contents(120), ca)  # 28-byte remainder
    cert, remainder, exponent, pan, today = (
        certificate.certificate,
        certificate.remainder,
        certificate.exponent,
        PAN,
        TODAY,
    )
    if change == "short":
        cert = cert[:-1]
    elif change == "long":
        cert = cert + b"\x00"
    elif change == "hostile-size":
        cert = cert * 100_000
    elif change == "above-modulus":
        cert = b"\xff" * len(cert)
    elif change == "no-remainder":
        remainder = b""
    elif change == "remainder-short":
        remainder = remainder[:-1]
    elif change == "remainder-changed":
        remainder = remainder[:-1] + bytes([remainder[-1] ^ 1])
    elif change == "exponent-2":
        exponent = b"\x02"
    elif change == "exponent-010001":
        exponent = b"\x01\x00\x01"
    elif change == "pan-other-bin":
        pan = "4761749001010119"
    elif change == "pan-is-the-bin":
        pan = "476173"
    elif change == "expired":
        today = dt.date(2030, 7, 1)
    verify_issuer_certificate(ca.public_key(), IssuerCertificate(cert, remainder, exponent), pan=pan, today=today)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param("short", Reason.WRONG_LENGTH, id="fail/one-byte-short"),
        pytest.param("long", Reason.WRONG_LENGTH, id="fail/one-byte-long"),
        pytest.param("hostile-size", Reason.WRONG_LENGTH, id="fail/hostile-size"),
        pytest.param("above-modulus", Reason.OUT_OF_RANGE, id="fail/above-modulus"),
        pytest.param("no-remainder", Reason.MISSING_REMAINDER, id="fail/missing-remainder"),
        pytest.param("remainder-short", Reason.BAD_REMAINDER, id="fail/remainder-short"),
        pytest.param("remainder-changed", Reason.BAD_HASH, id="fail/remainder-changed"),
        pytest.param("exponent-2", Reason.BAD_EXPONENT, id="fail/exponent-2"),
        pytest.param("exponent-010001", Reason.BAD_HASH, id="fail/other-exponent"),
        pytest.param("pan-other-bin", Reason.PAN_MISMATCH, id="fail/pan-not-matching-identifier"),
        pytest.param("pan-is-the-bin", Reason.BAD_PAN, id="fail/pan-too-short"),
        pytest.param("expired", Reason.EXPIRED, id="fail/expired"),
    ],
)
def test_changed_card_data_is_refused(change: str, reason: Reason) -> None:
    with pytest.raises(EmvError) as caught:
        _verify_changed(change)
    assert caught.value.reason is reason


def test_last_day_of_expiry_month_is_still_valid() -> None:
    ca = signer(1024, 3)
    certificate = build_issuer_certificate(contents(84), ca)
    verify_issuer_certificate(ca.public_key(), certificate, pan=None, today=dt.date(2030, 6, 30))


def test_remainder_given_when_the_key_fits_is_refused() -> None:
    ca = signer(1024, 3)
    certificate = build_issuer_certificate(contents(84), ca)
    with pytest.raises(EmvError) as caught:
        verify_issuer_certificate(
            ca.public_key(), IssuerCertificate(certificate.certificate, b"\x01", b"\x03"), pan=PAN, today=TODAY
        )
    assert caught.value.reason is Reason.BAD_REMAINDER


def test_certificate_from_another_ca_key_is_refused() -> None:
    certificate = build_issuer_certificate(contents(84), signer(1024, 3))
    with pytest.raises(EmvError) as caught:
        verify_issuer_certificate(signer(1024, 65537).public_key(), certificate, pan=PAN, today=TODAY)
    # above the other modulus half the time; below it, the recovered block is noise that fails a framing check
    assert caught.value.reason in {Reason.OUT_OF_RANGE, Reason.BAD_TRAILER, Reason.BAD_HEADER, Reason.BAD_FORMAT}


@pytest.mark.parametrize(("issuer_bytes", "ca_bytes"), [(129, 128), (248, 176), (136, 128)])
def test_issuer_key_longer_than_the_ca_key_is_refused(issuer_bytes: int, ca_bytes: int) -> None:
    with pytest.raises(EmvError) as caught:
        prepare_issuer_certificate(contents(issuer_bytes), ca_bytes)
    assert caught.value.reason is Reason.MODULUS_TOO_LONG


def test_prepared_for_one_key_length_signed_by_another_is_refused() -> None:
    prepared = prepare_issuer_certificate(contents(84), 176)
    with pytest.raises(EmvError) as caught:
        prepared.sign(signer(1024, 3))
    assert caught.value.reason is Reason.WRONG_LENGTH


@pytest.mark.parametrize(
    ("identifier", "serial", "reason"),
    [
        pytest.param("47", SERIAL, Reason.BAD_ISSUER_IDENTIFIER, id="fail/identifier-2-digits"),
        pytest.param("476173901", SERIAL, Reason.BAD_ISSUER_IDENTIFIER, id="fail/identifier-9-digits"),
        pytest.param("476173", b"\x01\x02", Reason.BAD_SERIAL, id="fail/serial-2-bytes"),
    ],
)
def test_contents_are_validated(identifier: str, serial: bytes, reason: Reason) -> None:
    with pytest.raises(EmvError) as caught:
        IssuerCertificateContents(identifier, Expiry(2030, 1), serial, public_key(84, 3))
    assert caught.value.reason is reason


def test_recovery_without_verification_shows_the_fields() -> None:
    ca = signer(1408, 3)
    certificate = build_issuer_certificate(contents(176), ca)
    recovered = recover_issuer_certificate(ca.public_key(), certificate.certificate)
    assert (recovered.identifier, recovered.expiry, recovered.serial) == (
        bytes.fromhex("476173FF"),
        b"\x06\x30",
        SERIAL,
    )
    assert (recovered.key_length, recovered.exponent_length, len(recovered.key_field)) == (176, 1, 140)
