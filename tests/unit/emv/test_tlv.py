"""BER-TLV of the certificate data objects: minimal encoding, strict decoding."""

from __future__ import annotations

import pytest

from chancery.emv.errors import EmvError, Reason
from chancery.emv.icc_certificate import IccCertificate, IccKeyKind
from chancery.emv.issuer_certificate import IssuerCertificate
from chancery.emv.tlv import Tag, decode_tlvs, encode_tlv, icc_data_objects, issuer_data_objects


@pytest.mark.parametrize(
    ("tag", "value", "encoded"),
    [
        pytest.param(Tag.CA_PUBLIC_KEY_INDEX, b"\x94", "8F0194", id="ok/8F"),
        pytest.param(Tag.ISSUER_PUBLIC_KEY_REMAINDER, b"", "9200", id="ok/empty-92"),
        pytest.param(Tag.ISSUER_PUBLIC_KEY_EXPONENT, b"\x01\x00\x01", "9F3203010001", id="ok/9F32"),
        pytest.param(Tag.ICC_PUBLIC_KEY_CERTIFICATE, b"\xaa" * 127, "9F467F" + "AA" * 127, id="ok/127-short-form"),
        pytest.param(Tag.ICC_PUBLIC_KEY_CERTIFICATE, b"\xaa" * 128, "9F468180" + "AA" * 128, id="ok/128-long-form"),
        pytest.param(Tag.ISSUER_PUBLIC_KEY_CERTIFICATE, b"\xaa" * 248, "9081F8" + "AA" * 248, id="ok/248-bytes"),
    ],
)
def test_encoding(tag: Tag, value: bytes, encoded: str) -> None:
    assert encode_tlv(tag, value) == bytes.fromhex(encoded)
    assert decode_tlvs(bytes.fromhex(encoded)) == {tag: value}


def test_issuer_and_icc_objects_in_personalisation_order() -> None:
    issuer = IssuerCertificate(b"\x11" * 4, b"\x22" * 2, b"\x03")
    assert issuer_data_objects(0x01, issuer) == bytes.fromhex("8F0101900411111111920222229F320103")
    icc = IccCertificate(b"\x33" * 3, b"", b"\x01\x00\x01")
    assert icc_data_objects(icc) == bytes.fromhex("9F46033333339F4703010001")
    pin = IccCertificate(b"\x33" * 3, b"\x44", b"\x03", IccKeyKind.PIN_ENCIPHERMENT)
    assert icc_data_objects(pin) == bytes.fromhex("9F2D033333339F2F01449F2E0103")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param("9F", Reason.TRUNCATED_TLV, id="fail/truncated-in-tag"),
        pytest.param("8F", Reason.TRUNCATED_TLV, id="fail/truncated-before-length"),
        pytest.param("9081", Reason.TRUNCATED_TLV, id="fail/truncated-in-length"),
        pytest.param("9003AABB", Reason.TRUNCATED_TLV, id="fail/truncated-value"),
        pytest.param("9081F8" + "AA" * 247, Reason.TRUNCATED_TLV, id="fail/truncated-long-value"),
        pytest.param("9081F9" + "AA" * 249, Reason.OVERSIZED, id="fail/certificate-249-bytes"),
        pytest.param("8F020101", Reason.OVERSIZED, id="fail/index-2-bytes"),
        pytest.param("92" + "25" + "AA" * 37, Reason.OVERSIZED, id="fail/issuer-remainder-37-bytes"),
        pytest.param("9F3204" + "00010001", Reason.OVERSIZED, id="fail/exponent-4-bytes"),
        pytest.param("908400000100", Reason.OVERSIZED, id="fail/four-byte-length"),
        pytest.param("9082FFFF", Reason.OVERSIZED, id="fail/hostile-length-65535"),
        pytest.param("AA" * 2000, Reason.OVERSIZED, id="fail/hostile-input-size"),
        pytest.param("90800000", Reason.MALFORMED_TLV, id="fail/indefinite-length"),
        pytest.param("908101AA", Reason.MALFORMED_TLV, id="fail/non-minimal-81"),
        pytest.param("90820001AA", Reason.MALFORMED_TLV, id="fail/non-minimal-82"),
        pytest.param("8F01018F0102", Reason.MALFORMED_TLV, id="fail/duplicate-tag"),
        pytest.param("5A0847617390010101", Reason.MALFORMED_TLV, id="fail/unknown-tag-5A"),
        pytest.param("9F4B00", Reason.MALFORMED_TLV, id="fail/unknown-tag-9F4B"),
        pytest.param("9F81010100", Reason.MALFORMED_TLV, id="fail/three-byte-tag"),
        pytest.param("008F0101", Reason.MALFORMED_TLV, id="fail/leading-padding"),
        pytest.param("8F0101FF", Reason.MALFORMED_TLV, id="fail/trailing-padding"),
        pytest.param("8F0101" + "70", Reason.MALFORMED_TLV, id="fail/trailing-garbage"),
    ],
)
def test_strict_decoding(data: str, reason: Reason) -> None:
    with pytest.raises(EmvError) as caught:
        decode_tlvs(bytes.fromhex(data))
    assert caught.value.reason is reason


def test_empty_input_has_no_objects() -> None:
    assert decode_tlvs(b"") == {}


@pytest.mark.parametrize(
    ("tag", "length"),
    [(Tag.ISSUER_PUBLIC_KEY_CERTIFICATE, 249), (Tag.ICC_PUBLIC_KEY_REMAINDER, 43), (Tag.ISSUER_PUBLIC_KEY_EXPONENT, 4)],
)
def test_encoder_refuses_values_no_card_could_hold(tag: Tag, length: int) -> None:
    with pytest.raises(EmvError) as caught:
        encode_tlv(tag, b"\x01" * length)
    assert caught.value.reason is Reason.OVERSIZED


def test_index_must_be_a_byte() -> None:
    with pytest.raises(EmvError) as caught:
        issuer_data_objects(256, IssuerCertificate(b"\x11", b"", b"\x03"))
    assert caught.value.reason is Reason.BAD_FIELD
