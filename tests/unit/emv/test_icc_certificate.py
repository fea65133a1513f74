"""ICC and ICC PIN encipherment public key certificates (format '04', EMV Book 2 §6.3, §7.1)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from chancery.emv import framing
from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import Expiry
from chancery.emv.icc_certificate import (
    IccCertificate,
    IccCertificateContents,
    IccKeyKind,
    build_icc_certificate,
    prepare_icc_certificate,
    recover_icc_certificate,
    verify_icc_certificate,
)
from chancery.emv.issuer_certificate import IssuerCertificate, verify_issuer_certificate
from chancery.emv.tlv import Tag, decode_tlvs, icc_data_objects
from tests.unit.emv.conftest import EXPIRY, PAN, TODAY, public_key, signer

SERIAL = bytes.fromhex("000001")
STATIC = bytes.fromhex("5A0847617390010101195F24032512315F25032001015F2802084082021980")  # PAN, dates, AIP


def contents(
    icc_length: int, exponent: int = 3, kind: IccKeyKind = IccKeyKind.ICC, pan: str = PAN
) -> IccCertificateContents:
    return IccCertificateContents(pan, EXPIRY, SERIAL, public_key(icc_length, exponent, "icc"), kind)


def test_data_to_sign_follows_table_14() -> None:
    icc = contents(80, exponent=65537, pan="476173900101011")
    prepared = prepare_icc_certificate(icc, STATIC, 144)
    fields = (
        bytes.fromhex("04" + "476173900101011FFFFF" + "0630" + "000001" + "01" + "01")
        + bytes([80, 3])
        + icc.icc_key.modulus
        + b"\xbb" * (144 - 42 - 80)
    )
    expected_hash = hashlib.sha1(fields + b"\x01\x00\x01" + STATIC).digest()  # noqa: S324 - EMV's hash
    assert prepared.block == b"\x6a" + fields + expected_hash + b"\xbc"


def test_pin_encipherment_certificate_hash_leaves_static_data_out() -> None:
    icc = contents(130, kind=IccKeyKind.PIN_ENCIPHERMENT)
    prepared = prepare_icc_certificate(icc, b"", 144)  # holds 102 bytes: 28 in the remainder
    expected_hash = hashlib.sha1(prepared.block[1:123] + icc.icc_key.modulus[102:] + b"\x03").digest()  # noqa: S324
    assert prepared.block[123:143] == expected_hash and prepared.kind is IccKeyKind.PIN_ENCIPHERMENT


SIZES = {
    "padded": lambda n: n - 42 - 8,
    "fits-exactly": lambda n: n - 42,
    "remainder": lambda n: n - 10,
    "equal": lambda n: n,
}


@pytest.mark.parametrize("kind", list(IccKeyKind), ids=[kind.value for kind in IccKeyKind])
@pytest.mark.parametrize("icc_exponent", [3, 65537], ids=["icc-e3", "icc-f4"])
@pytest.mark.parametrize("size", list(SIZES), ids=[f"ok/{name}" for name in SIZES])
@pytest.mark.parametrize(("issuer_bits", "issuer_exponent"), [(1024, 65537), (1408, 3), (1984, 65537)])
def test_round_trip(issuer_bits: int, issuer_exponent: int, size: str, icc_exponent: int, kind: IccKeyKind) -> None:
    issuer = signer(issuer_bits, issuer_exponent)
    n_i = issuer.modulus_length
    icc = contents(SIZES[size](n_i), icc_exponent, kind)
    static = STATIC if kind is IccKeyKind.ICC else b""
    certificate = build_icc_certificate(icc, static, issuer)
    assert len(certificate.certificate) == n_i and certificate.kind is kind
    assert len(certificate.remainder) == max(0, icc.icc_key.length - (n_i - 42))
    assert verify_icc_certificate(issuer.public_key(), certificate, pan=PAN, static_data=static, today=TODAY) == icc
    objects = decode_tlvs(icc_data_objects(certificate))
    tags = (
        (Tag.ICC_PUBLIC_KEY_CERTIFICATE, Tag.ICC_PUBLIC_KEY_REMAINDER, Tag.ICC_PUBLIC_KEY_EXPONENT)
        if kind is IccKeyKind.ICC
        else (
            Tag.ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_CERTIFICATE,
            Tag.ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_REMAINDER,
            Tag.ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_EXPONENT,
        )
    )
    assert objects[tags[0]] == certificate.certificate and objects[tags[2]] == certificate.exponent
    assert objects.get(tags[1], b"") == certificate.remainder


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        (IccKeyKind.ICC, ["certificate_9F46", "remainder_9F48", "exponent_9F47"]),
        (IccKeyKind.PIN_ENCIPHERMENT, ["certificate_9F2D", "remainder_9F2F", "exponent_9F2E"]),
    ],
)
def test_json_form_of_the_card_data(kind: IccKeyKind, names: list[str]) -> None:
    assert IccCertificate(b"\xab", b"\x01\x02", b"\x03", kind).to_json() == dict(
        zip(names, ["AB", "0102", "03"], strict=True)
    )


def _verify_changed(change: str) -> None:
    issuer = signer(1024, 65537)
    certificate = build_icc_certificate(contents(100), STATIC, issuer)  # 14-byte remainder
    cert, remainder, exponent = certificate.certificate, certificate.remainder, certificate.exponent
    pan, static, today, kind = PAN, STATIC, TODAY, IccKeyKind.ICC
    if change == "pan-longer":
        pan = PAN + "0"
    elif change == "pan-other":
        pan = "4761739001010127"
    elif change == "pan-not-digits":
        pan = "47617390010101l9"
    elif change == "static-changed":
        static = STATIC[:-1] + b"\x81"
    elif change == "static-missing":
        static = b""
    elif change == "as-pin-certificate":
        kind = IccKeyKind.PIN_ENCIPHERMENT
    elif change == "expired":
        today = dt.date(2030, 7, 1)
    elif change == "short":
        cert = cert[:-1]
    elif change == "no-remainder":
        remainder = b""
    elif change == "remainder-long":
        remainder = remainder + b"\x00"
    elif change == "exponent-2":
        exponent = b"\x02"
    elif change == "format-02":  # an issuer certificate's format, signed with a good hash
        fields = bytearray(prepare_icc_certificate(contents(100), STATIC, 128).block[1:-21])
        fields[0] = 0x02
        cert = issuer.sign_raw(framing.frame(bytes(fields), remainder, exponent, STATIC))
    verify_icc_certificate(
        issuer.public_key(), IccCertificate(cert, remainder, exponent, kind), pan=pan, static_data=static, today=today
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param("pan-longer", Reason.PAN_MISMATCH, id="fail/pan-with-an-extra-digit"),
        pytest.param("pan-other", Reason.PAN_MISMATCH, id="fail/other-card-same-bin"),
        pytest.param("pan-not-digits", Reason.BAD_PAN, id="fail/pan-not-digits"),
        pytest.param("static-changed", Reason.BAD_HASH, id="fail/static-data-changed"),
        pytest.param("static-missing", Reason.BAD_HASH, id="fail/static-data-missing"),
        pytest.param("as-pin-certificate", Reason.BAD_FIELD, id="fail/pin-kind-given-static-data"),
        pytest.param("expired", Reason.EXPIRED, id="fail/expired"),
        pytest.param("short", Reason.WRONG_LENGTH, id="fail/one-byte-short"),
        pytest.param("no-remainder", Reason.MISSING_REMAINDER, id="fail/missing-remainder"),
        pytest.param("remainder-long", Reason.BAD_REMAINDER, id="fail/remainder-one-byte-long"),
        pytest.param("exponent-2", Reason.BAD_EXPONENT, id="fail/exponent-2"),
        pytest.param("format-02", Reason.BAD_FORMAT, id="fail/format-02"),
    ],
)
def test_changed_card_data_is_refused(change: str, reason: Reason) -> None:
    with pytest.raises(EmvError) as caught:
        _verify_changed(change)
    assert caught.value.reason is reason


def test_icc_certificate_is_not_an_issuer_certificate() -> None:
    """Format '04' recovered where '02' is expected is refused."""
    issuer = signer(1024, 65537)
    certificate = build_icc_certificate(contents(80), STATIC, issuer)
    with pytest.raises(EmvError) as caught:
        verify_issuer_certificate(
            issuer.public_key(), IssuerCertificate(certificate.certificate, b"", b"\x03"), pan=PAN, today=TODAY
        )
    assert caught.value.reason is Reason.BAD_FORMAT


def test_icc_key_longer_than_the_issuer_key_is_refused() -> None:
    with pytest.raises(EmvError) as caught:
        prepare_icc_certificate(contents(129), STATIC, 128)
    assert caught.value.reason is Reason.MODULUS_TOO_LONG


def test_pin_encipherment_certificate_refuses_static_data_when_built() -> None:
    with pytest.raises(EmvError) as caught:
        prepare_icc_certificate(contents(80, kind=IccKeyKind.PIN_ENCIPHERMENT), STATIC, 128)
    assert caught.value.reason is Reason.BAD_FIELD


@pytest.mark.parametrize(
    ("pan", "reason"),
    [
        pytest.param("47617390010", Reason.BAD_PAN, id="fail/11-digits"),
        pytest.param("47617390010101191234", Reason.BAD_PAN, id="fail/20-digits"),
        pytest.param("4761739001O10119", Reason.BAD_PAN, id="fail/letter-o"),
    ],
)
def test_contents_need_a_pan(pan: str, reason: Reason) -> None:
    with pytest.raises(EmvError) as caught:
        IccCertificateContents(pan, Expiry(2030, 1), SERIAL, public_key(80, 3))
    assert caught.value.reason is reason


def test_19_digit_pan_round_trips() -> None:
    issuer = signer(1024, 65537)
    icc = contents(80, pan="4761739001010119123")
    certificate = build_icc_certificate(icc, STATIC, issuer)
    recovered = recover_icc_certificate(issuer.public_key(), certificate.certificate)
    assert recovered.identifier == bytes.fromhex("4761739001010119123F")
    assert verify_icc_certificate(issuer.public_key(), certificate, pan=icc.pan, static_data=STATIC, today=TODAY) == icc
