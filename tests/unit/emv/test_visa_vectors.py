"""The public Visa TEST chain (CA key A000000003/94): tests/vectors/emv/README.md says where it is from."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from chancery.emv.capk import CaPublicKey
from chancery.emv.dynamic_data import verify_signed_dynamic_data
from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import Expiry, to_hex
from chancery.emv.icc_certificate import IccCertificate, recover_icc_certificate, verify_icc_certificate
from chancery.emv.issuer_certificate import IssuerCertificate, recover_issuer_certificate, verify_issuer_certificate
from chancery.emv.rsa import EmvPublicKey, parse_exponent
from chancery.emv.static_data import recover_signed_static_data, verify_signed_static_data
from chancery.emv.tlv import Tag, decode_tlvs, issuer_data_objects

VECTORS = json.loads((Path(__file__).parents[2] / "vectors/emv/emv-book2-visa-test-vectors.json").read_text())
TODAY = dt.date(2022, 6, 30)  # inside both certificates' validity (issuer 12/31, ICC 12/22)
# From openemv/emv-utils tests/emv_rsa_test.c (full_issuer_pkey_verify, full_icc_pkey_verify): the
# moduli that library recovers; the JSON does not carry them.
ISSUER_MODULUS_STARTS, ISSUER_MODULUS_ENDS = "DDD9039ACC0BB00E", "4B6FACC07207BC41"
ICC_MODULUS_STARTS, ICC_MODULUS_ENDS = "AB02DC02F1CB7D30", "3855A8F735CAFBE5"


def h(name: str) -> bytes:
    return bytes.fromhex(VECTORS[name])


@pytest.fixture(scope="module")
def capk() -> CaPublicKey:
    key = VECTORS["capk"]
    return CaPublicKey.from_json(
        {
            "rid": key["rid"],
            "index": key["index"],
            "modulus": key["modulus"],
            "exponent": key["exponent"],
            "check_value": key["sha1_check"],
        }
    )


@pytest.fixture(scope="module")
def issuer_certificate() -> IssuerCertificate:
    return IssuerCertificate(h("issuer_pk_certificate_90"), h("issuer_pk_remainder_92"), h("issuer_pk_exponent_9F32"))


@pytest.fixture(scope="module")
def issuer_key(capk: CaPublicKey, issuer_certificate: IssuerCertificate) -> EmvPublicKey:
    return verify_issuer_certificate(capk.key, issuer_certificate, pan=VECTORS["pan_5A"], today=TODAY).issuer_key


def test_capk_check_value_and_json_round_trip(capk: CaPublicKey) -> None:
    assert to_hex(capk.check_value) == VECTORS["capk"]["sha1_check"]
    assert capk.key.length == 248 and capk.key.exponent == 3 and capk.rid == bytes.fromhex("A000000003")
    assert CaPublicKey.from_json(capk.to_json()) == capk
    assert capk.to_json()["modulus"] == VECTORS["capk"]["modulus"]


def test_issuer_certificate_recovers_to_the_expected_fields(capk: CaPublicKey) -> None:
    expected = VECTORS["expected_issuer"]
    recovered = recover_issuer_certificate(capk.key, h("issuer_pk_certificate_90"))
    assert f"{recovered.format:02X}" == expected["format"]
    assert to_hex(recovered.identifier) == expected["issuer_identifier"]
    assert to_hex(recovered.expiry) == expected["expiry_MMYY"]
    assert to_hex(recovered.serial) == expected["serial"]
    assert f"{recovered.hash_algorithm:02X}" == expected["hash_alg"]
    assert f"{recovered.pk_algorithm:02X}" == expected["pk_alg"]
    assert recovered.key_length == expected["pk_len"]
    assert recovered.exponent_length == expected["pk_exp_len"]


def test_issuer_certificate_verifies_with_the_card_pan(
    capk: CaPublicKey, issuer_certificate: IssuerCertificate
) -> None:
    contents = verify_issuer_certificate(capk.key, issuer_certificate, pan=VECTORS["pan_5A"], today=TODAY)
    assert contents.issuer_identifier == "476173"
    assert contents.expiry == Expiry(2031, 12)
    assert contents.serial == bytes.fromhex(VECTORS["expected_issuer"]["serial"])
    key = contents.issuer_key
    assert key.length == 176 and key.exponent == parse_exponent(h("issuer_pk_exponent_9F32"))
    assert to_hex(key.modulus).startswith(ISSUER_MODULUS_STARTS) and to_hex(key.modulus).endswith(ISSUER_MODULUS_ENDS)


@pytest.mark.parametrize(
    ("case", "today", "pan", "reason"),
    [
        pytest.param("ok", dt.date(2031, 12, 31), None, None, id="ok/last-day-of-expiry-month"),
        pytest.param("ok", TODAY, "47617300000000", None, id="ok/other-pan-same-bin"),
        pytest.param("ok", dt.date(2032, 1, 1), None, Reason.EXPIRED, id="fail/day-after-expiry-month"),
        pytest.param("ok", TODAY, "4761749001010119", Reason.PAN_MISMATCH, id="fail/pan-of-another-issuer"),
        pytest.param("corrupted", TODAY, None, Reason.BAD_TRAILER, id="fail/corrupted-copy"),
        pytest.param("wrong-exponent", TODAY, None, Reason.BAD_HASH, id="fail/exponent-010001-instead-of-03"),
        pytest.param("truncated", TODAY, None, Reason.WRONG_LENGTH, id="fail/one-byte-short"),
    ],
)
def test_issuer_certificate_checks(
    capk: CaPublicKey, case: str, today: dt.date, pan: str | None, reason: Reason | None
) -> None:
    certificate = IssuerCertificate(h("issuer_pk_certificate_90"), b"", b"\x03")
    if case == "corrupted":  # its last byte changed: the recovered block is noise, trailer 5A
        certificate = IssuerCertificate(h("issuer_pk_certificate_90_corrupted"), b"", b"\x03")
    elif case == "wrong-exponent":
        certificate = IssuerCertificate(certificate.certificate, b"", b"\x01\x00\x01")
    elif case == "truncated":
        certificate = IssuerCertificate(certificate.certificate[:-1], b"", b"\x03")
    if reason is None:
        assert verify_issuer_certificate(capk.key, certificate, pan=pan, today=today).issuer_identifier == "476173"
    else:
        with pytest.raises(EmvError) as caught:
            verify_issuer_certificate(capk.key, certificate, pan=pan, today=today)
        assert caught.value.reason is reason


def test_icc_certificate_recovers_to_the_expected_fields(issuer_key: EmvPublicKey) -> None:
    expected = VECTORS["expected_icc"]
    recovered = recover_icc_certificate(issuer_key, h("icc_pk_certificate_9F46"))
    assert f"{recovered.format:02X}" == expected["format"]
    assert to_hex(recovered.identifier) == expected["pan"]
    assert to_hex(recovered.expiry) == expected["expiry_MMYY"]
    assert to_hex(recovered.serial) == expected["serial"]
    assert recovered.key_length == expected["pk_len"] and recovered.exponent_length == expected["pk_exp_len"]
    assert (recovered.hash_algorithm, recovered.pk_algorithm) == (1, 1)
    modulus = to_hex(recovered.modulus(h("icc_pk_remainder_9F48")))
    assert modulus.startswith(ICC_MODULUS_STARTS) and modulus.endswith(ICC_MODULUS_ENDS)


def test_icc_key_from_certificate_and_remainder_verifies_the_card_sdad(issuer_key: EmvPublicKey) -> None:
    """The card signed its SDAD with the key the ICC certificate and '9F48' give: proof the
    recovered modulus is right (the ICC certificate's own hash needs static data we do not have)."""
    recovered = recover_icc_certificate(issuer_key, h("icc_pk_certificate_9F46"))
    icc_key = EmvPublicKey(recovered.modulus(h("icc_pk_remainder_9F48")), parse_exponent(h("icc_pk_exponent_9F47")))
    signed = verify_signed_dynamic_data(icc_key, h("signed_dynamic_application_data_9F4B"), h("ddol_data_9F37"))
    assert to_hex(signed.icc_dynamic_number) == VECTORS["expected_sdad"]["icc_dynamic_number"]
    with pytest.raises(EmvError) as caught:
        verify_signed_dynamic_data(icc_key, h("signed_dynamic_application_data_9F4B"), bytes.fromhex("7FBC404A"))
    assert caught.value.reason is Reason.BAD_HASH


@pytest.mark.parametrize(
    ("remainder", "reason"),
    [
        pytest.param("9F48", Reason.BAD_HASH, id="fail/without-the-cards-static-data"),
        pytest.param("", Reason.MISSING_REMAINDER, id="fail/remainder-missing"),
        pytest.param("9F48-short", Reason.BAD_REMAINDER, id="fail/remainder-one-byte-short"),
        pytest.param("9F48-changed", Reason.BAD_HASH, id="fail/remainder-last-byte-changed"),
    ],
)
def test_icc_certificate_verification_failures(issuer_key: EmvPublicKey, remainder: str, reason: Reason) -> None:
    value = h("icc_pk_remainder_9F48") if remainder.startswith("9F48") else b""
    if remainder == "9F48-short":
        value = value[:-1]
    elif remainder == "9F48-changed":
        value = value[:-1] + bytes([value[-1] ^ 0x03])  # E5 -> E6, emv-utils' invalid remainder
    certificate = IccCertificate(h("icc_pk_certificate_9F46"), value, h("icc_pk_exponent_9F47"))
    with pytest.raises(EmvError) as caught:
        verify_icc_certificate(issuer_key, certificate, pan=VECTORS["pan_5A"], static_data=b"", today=TODAY)
    assert caught.value.reason is reason


def test_signed_static_data_recovers_its_data_authentication_code(issuer_key: EmvPublicKey) -> None:
    recovered = recover_signed_static_data(issuer_key, h("signed_static_application_data_93"))
    assert to_hex(recovered.data_authentication_code) == VECTORS["expected_ssad"]["data_authentication_code"]
    assert recovered.hash_algorithm == 1
    with pytest.raises(EmvError) as caught:  # its hash covers the card's records, not in the vectors
        verify_signed_static_data(issuer_key, h("signed_static_application_data_93"), b"")
    assert caught.value.reason is Reason.BAD_HASH


def test_ssad_with_changed_last_byte_is_refused(issuer_key: EmvPublicKey) -> None:
    ssad = h("signed_static_application_data_93")
    with pytest.raises(EmvError) as caught:
        recover_signed_static_data(issuer_key, ssad[:-1] + bytes([ssad[-1] ^ 0x0F]))  # emv-utils' invalid_ssad
    assert caught.value.reason is Reason.BAD_TRAILER


def test_personalisation_objects_of_the_visa_issuer_certificate(issuer_certificate: IssuerCertificate) -> None:
    encoded = issuer_data_objects(0x94, issuer_certificate)
    assert encoded.startswith(bytes.fromhex("8F0194" + "9081F8")) and encoded.endswith(bytes.fromhex("9F320103"))
    assert decode_tlvs(encoded) == {
        Tag.CA_PUBLIC_KEY_INDEX: b"\x94",
        Tag.ISSUER_PUBLIC_KEY_CERTIFICATE: issuer_certificate.certificate,
        Tag.ISSUER_PUBLIC_KEY_EXPONENT: b"\x03",
    }
