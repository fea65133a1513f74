"""Self-signed issuer key requests (format '23') and each brand's request and response files:
round trips, byte layout, and one precise refusal per way a file can be wrong."""

from __future__ import annotations

import hashlib
import re

import pytest

from chancery.emv.brands import (
    BRANDS,
    RequestFile,
    ResponseFile,
    brand,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    file_name,
    request_digest,
)
from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import Expiry
from chancery.emv.issuer_certificate import IssuerCertificateContents, build_issuer_certificate
from chancery.emv.issuer_request import IssuerKeyRequest, sign_request, verify_request
from chancery.emv.rsa import recover
from tests.support.emv_keygen import SoftwareRawSigner
from tests.unit.emv.conftest import EXPIRY, TODAY

SERIAL = bytes.fromhex("000001")
KEY_INDEX = bytes.fromhex("000002")


def request_file(name: str, issuer: SoftwareRawSigner) -> RequestFile:
    spec = BRANDS[name]
    request = IssuerKeyRequest("476173", EXPIRY, SERIAL, issuer.public_key())
    key_index = KEY_INDEX if spec.key_index_length else b""
    return RequestFile(request, sign_request(request, issuer), key_index, spec.service_identifier)


def test_the_self_signed_block_is_table_6_with_format_23(issuer_1408: SoftwareRawSigner) -> None:
    key = issuer_1408.public_key()
    request = IssuerKeyRequest("476173", EXPIRY, SERIAL, key)
    block = recover(key, sign_request(request, issuer_1408))
    room = key.length - 36
    fields = bytes.fromhex("23" + "476173FF" + "0630" + "000001" + "01" + "01") + bytes([key.length, 3])
    fields += key.modulus[:room]
    digest = hashlib.sha1(fields + key.modulus[room:] + b"\x01\x00\x01").digest()  # noqa: S324 - EMV's hash
    assert block == b"\x6a" + fields + digest + b"\xbc"
    assert verify_request(key, sign_request(request, issuer_1408), TODAY) == request


def test_only_the_key_being_certified_signs_its_request(
    issuer_1408: SoftwareRawSigner, icc_1024: SoftwareRawSigner
) -> None:
    request = IssuerKeyRequest("476173", EXPIRY, SERIAL, issuer_1408.public_key())
    with pytest.raises(EmvError, match="signed by the key it asks") as refused:
        sign_request(request, icc_1024)
    assert refused.value.reason is Reason.BAD_FIELD


@pytest.mark.parametrize("name", sorted(BRANDS))
def test_request_files_round_trip(name: str, issuer_1408: SoftwareRawSigner) -> None:
    spec = BRANDS[name]
    original = request_file(name, issuer_1408)
    data = encode_request(spec, original)
    decoded = decode_request(spec, data)
    assert decoded == original
    assert verify_request(decoded.request.key, decoded.signed, TODAY) == original.request
    assert len(request_digest(spec, data)) == (40 if spec.request_digest == "sha1" else 64)


@pytest.mark.parametrize("name", sorted(BRANDS))
def test_response_files_round_trip(name: str, ca_1984: SoftwareRawSigner, issuer_1408: SoftwareRawSigner) -> None:
    spec = BRANDS[name]
    contents = IssuerCertificateContents("476173", EXPIRY, bytes.fromhex("0000A1"), issuer_1408.public_key())
    certificate = build_issuer_certificate(contents, ca_1984)
    key_index = KEY_INDEX if spec.key_index_length else b""
    response = ResponseFile(certificate, 0x94, "476173", contents.serial, EXPIRY, key_index)
    data = encode_response(spec, response, ca_1984)
    decoded = decode_response(spec, data, ca_1984.public_key())
    assert decoded.certificate == certificate and decoded.ca_index == 0x94
    assert decoded.issuer_identifier == "476173" and decoded.key_index == key_index
    if decoded.expiry is not None:
        assert (decoded.expiry, decoded.serial) == (EXPIRY, contents.serial)


def test_mastercard_request_layout_carries_the_issuer_key_index(issuer_1408: SoftwareRawSigner) -> None:
    data = encode_request(BRANDS["mastercard"], request_file("mastercard", issuer_1408))
    key = issuer_1408.public_key()
    head = bytes.fromhex("22" + "476173FF" + "000002" + "0630" + "000001" + "0101") + bytes([key.length, 3])
    assert data.startswith(head + key.modulus + b"\x01\x00\x01")
    assert len(data) == len(head) + 2 * key.length + 3
    assert file_name(BRANDS["mastercard"].request_name, "476173", SERIAL, KEY_INDEX) == "476173FF000002.SIP"


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(lambda d: d[:-1], Reason.WRONG_LENGTH, id="fail/truncated"),
        pytest.param(lambda d: d + b"\x00", Reason.WRONG_LENGTH, id="fail/trailing-byte"),
        pytest.param(lambda d: b"", Reason.WRONG_LENGTH, id="fail/empty"),
        pytest.param(lambda d: b"\x23" + d[1:], Reason.BAD_FIELD, id="fail/wrong-header"),
        pytest.param(lambda d: d + bytes(5000), Reason.OVERSIZED, id="fail/oversized"),
        pytest.param(lambda d: d[:1] + b"\xab\xcd\xef\xff" + d[5:], Reason.BAD_ISSUER_IDENTIFIER, id="fail/not-bcd"),
        pytest.param(lambda d: d[:5] + b"\x13\x30" + d[7:], Reason.BAD_DATE, id="fail/month-13"),
        pytest.param(lambda d: d[:10] + b"\x02" + d[11:], Reason.BAD_FIELD, id="fail/hash-indicator"),
        pytest.param(lambda d: d[:13] + b"\x02" + d[14:], Reason.BAD_EXPONENT, id="fail/exponent-length-2"),
    ],
)
def test_malformed_request_files_are_refused(mutate: object, reason: Reason, issuer_1408: SoftwareRawSigner) -> None:
    spec = BRANDS["visa"]
    data = encode_request(spec, request_file("visa", issuer_1408))
    data = data[:1] + data[5:]  # as a brand without a service identifier lays it out
    amex = BRANDS["amex"]
    assert decode_request(amex, data).request.issuer_identifier == "476173"
    with pytest.raises(EmvError) as refused:
        decode_request(amex, mutate(data))  # type: ignore[operator]
    assert refused.value.reason is reason


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        pytest.param("signed-block", Reason.BAD_HASH, id="fail/flipped-bit-in-signature"),
        pytest.param("clear-modulus", Reason.BAD_HASH, id="fail/flipped-bit-in-clear-key"),
    ],
)
def test_a_tampered_request_fails_its_proof_of_possession(
    where: str, reason: Reason, issuer_1408: SoftwareRawSigner
) -> None:
    spec = BRANDS["jcb"]
    data = encode_request(spec, request_file("jcb", issuer_1408))
    key_length = issuer_1408.public_key().length
    at = len(data) - 10 if where == "signed-block" else 14 + key_length - 5  # 14 bytes precede the key
    decoded = decode_request(spec, _flip(data, at))
    with pytest.raises(EmvError) as refused:
        verify_request(decoded.request.key, decoded.signed, TODAY)
    assert refused.value.reason in (reason, Reason.BAD_TRAILER, Reason.BAD_HEADER, Reason.OUT_OF_RANGE)


def test_an_expired_request_is_refused(issuer_1408: SoftwareRawSigner) -> None:
    request = IssuerKeyRequest("476173", Expiry(2025, 12), SERIAL, issuer_1408.public_key())
    with pytest.raises(EmvError) as refused:
        verify_request(request.key, sign_request(request, issuer_1408), TODAY)
    assert refused.value.reason is Reason.EXPIRED


def test_a_visa_response_with_a_bad_detached_signature_is_refused(
    ca_1984: SoftwareRawSigner, issuer_1408: SoftwareRawSigner
) -> None:
    spec = BRANDS["visa"]
    contents = IssuerCertificateContents("476173", EXPIRY, bytes.fromhex("0000A1"), issuer_1408.public_key())
    response = ResponseFile(build_issuer_certificate(contents, ca_1984), 0x94, "476173", contents.serial, EXPIRY)
    data = encode_response(spec, response, ca_1984)
    for at in (3, len(data) - 2 * ca_1984.modulus_length - 1):  # a clear field, the CA index
        with pytest.raises(EmvError) as refused:
            decode_response(spec, _flip(data, at), ca_1984.public_key())
        assert refused.value.reason in (Reason.BAD_HASH, Reason.BAD_ISSUER_IDENTIFIER)
    with pytest.raises(EmvError) as refused:
        decode_response(spec, data[: -ca_1984.modulus_length], ca_1984.public_key())
    assert refused.value.reason is Reason.WRONG_LENGTH


def test_unknown_brands_name_the_known_ones() -> None:
    with pytest.raises(EmvError, match="visa, mastercard, amex, jcb"):
        brand("discover")
    assert brand("VISA") is BRANDS["visa"]
    for spec in BRANDS.values():
        assert spec.unseen, f"{spec.name}: say what no public specification showed"


def test_the_brand_documentation_covers_every_brand_and_choice() -> None:
    from pathlib import Path

    page = (Path(__file__).parents[3] / "docs" / "emv-brands.md").read_text()
    for spec in BRANDS.values():
        headings = re.findall(r"^### (.+)$", page, re.MULTILINE)
        assert any(spec.name in heading.split(", ") for heading in headings), f"{spec.name} has no section"
        assert spec.rid in page
        for name in (spec.request_name, spec.digest_name, spec.response_name):
            assert name.rsplit(".", 1)[-1] in page, f"{spec.name}: {name} is not documented"
