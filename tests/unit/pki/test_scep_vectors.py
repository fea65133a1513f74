"""Messages real SCEP implementations made (tests/vectors/scep, provenance in its README)."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import pem
from cryptography import x509

from chancery.pki.scep import (
    CipherPolicy,
    FailInfo,
    MessageType,
    PkiStatus,
    ScepError,
    open_envelope,
    parse_cert_rep,
    parse_pki_message,
    transaction_id_matches,
)
from tests.unit.pki.test_scep_roundtrip import ca_certificate, rsa_decryptor, rsa_key

VECTORS = Path(__file__).parents[2] / "vectors" / "scep"


def certmonger_request() -> bytes:
    _, _, body = pem.unarmor((VECTORS / "certmonger-0.79.17-PKCSReq.p7.pem").read_bytes())
    return body


def test_certmonger_pkcsreq_parses_and_verifies() -> None:
    """certmonger signs with signatureAlgorithm rsaEncryption and a v1 self-signed certificate
    whose 32-octet serial is the SHA-256 of its key; its transactionID is that hash in decimal."""
    message = parse_pki_message(certmonger_request())
    assert message.message_type is MessageType.PKCS_REQ
    assert message.digest_algorithm == "sha256"
    assert message.transaction_id == str(message.signer_certificate.serial_number)
    assert transaction_id_matches(message.transaction_id, message.signer_certificate.public_key())
    assert len(message.sender_nonce) == 16
    assert message.signer_certificate.subject.rfc4514_string() == "CN=cm-test"
    assert message.signed_at is not None and message.signed_at.year == 2026


def test_certmonger_envelope_is_for_the_test_ca_only() -> None:
    """Its envelope is addressed to scep-test-ca.pem (whose key we do not have)."""
    message = parse_pki_message(certmonger_request())
    with pytest.raises(ScepError, match="encrypted to another certificate") as raised:
        open_envelope(message.enveloped_data, ca_certificate(), rsa_decryptor(rsa_key("ca")), CipherPolicy())
    assert raised.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
    # Addressed correctly but opened with the wrong key: the content key does not decrypt.
    test_ca = x509.load_pem_x509_certificate((VECTORS / "scep-test-ca.pem").read_bytes())
    with pytest.raises(ScepError) as raised:
        open_envelope(message.enveloped_data, test_ca, rsa_decryptor(rsa_key("ca")), CipherPolicy())
    assert raised.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


def test_micromdm_failure_certrep() -> None:
    """micromdm scepserver 2.1.0 answered a replay of the certmonger request with FAILURE
    badRequest, signed with SHA-1 (sha1WithRSAEncryption), echoing the nonce."""
    rep = parse_cert_rep((VECTORS / "micromdm-scepserver-2.1.0-CertRep-failure.der").read_bytes())
    request = parse_pki_message(certmonger_request())
    assert rep.status is PkiStatus.FAILURE and rep.fail_info is FailInfo.BAD_REQUEST
    assert rep.digest_algorithm == "sha1"
    assert rep.transaction_id == request.transaction_id
    assert rep.recipient_nonce == request.sender_nonce
    assert rep.enveloped_data is None
    test_ca = x509.load_pem_x509_certificate((VECTORS / "scep-test-ca.pem").read_bytes())
    assert rep.signer_certificate == test_ca


def test_certrep_is_not_a_request() -> None:
    with pytest.raises(ScepError) as raised:
        parse_pki_message((VECTORS / "micromdm-scepserver-2.1.0-CertRep-failure.der").read_bytes())
    assert raised.value.fail_info is FailInfo.BAD_REQUEST
