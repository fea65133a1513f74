"""The client side of SCEP, for tests and the benchmark's own client: build a pkiMessage
(RFC 8894 §3.2), read a CertRep (§3.3.2) and the degenerate SignedData inside it."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from chancery.pki import der
from chancery.pki.scep.cms import SignedContent, attribute, scep_string, sign, signing_time
from chancery.pki.scep.envelope import seal_envelope
from chancery.pki.scep.messages import (
    FAIL_INFO,
    MESSAGE_TYPE,
    OID_MESSAGE_TYPE,
    OID_SENDER_NONCE,
    OID_TRANSACTION_ID,
    PKI_STATUS,
    RECIPIENT_NONCE,
    SENDER_NONCE,
    TRANSACTION_ID,
    FailInfo,
    MessageType,
    PkiStatus,
    guard,
)
from chancery.pki.scep.signed import verify


class PrivateKeySigner:
    """A :class:`~chancery.pki.scep.cms.CmsSigner` over a pyca/cryptography private key."""

    def __init__(self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> None:
        self._key = key

    def public_key(self) -> PublicKeyTypes:
        return self._key.public_key()

    def sign(self, data: bytes, algorithm: hashes.HashAlgorithm | None) -> bytes:
        assert algorithm is not None
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), algorithm)
        return self._key.sign(data, ec.ECDSA(algorithm))


@dataclass(frozen=True)
class ClientRequest:
    """One pkiMessage: ``content`` (a CSR, IssuerAndSubject or IssuerAndSerialNumber, DER) is
    enveloped to ``recipient`` (the RA certificate) and signed by ``signer_key`` whose
    certificate is ``signer_certificate`` (self-signed for PKCSReq, the old one for renewal)."""

    message_type: MessageType
    content: bytes
    signer_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    signer_certificate: x509.Certificate
    recipient: x509.Certificate
    transaction_id: str
    sender_nonce: bytes = field(default_factory=lambda: os.urandom(16))
    digest_algorithm: str = "sha256"
    cipher: str = "aes256"
    signed_at: dt.datetime | None = None


def request_attributes(request: ClientRequest) -> list[bytes]:
    """RFC 8894 §3.2.1: messageType, transactionID, senderNonce (and signingTime if given)."""
    attributes = [
        attribute(OID_MESSAGE_TYPE, scep_string(str(int(request.message_type)))),
        attribute(OID_TRANSACTION_ID, scep_string(request.transaction_id)),
        attribute(OID_SENDER_NONCE, der.octet_string(request.sender_nonce)),
    ]
    if request.signed_at is not None:
        attributes.append(signing_time(request.signed_at))
    return attributes


def build_pki_message(request: ClientRequest) -> bytes:
    """A pkiMessage, DER."""
    what = SignedContent(
        content=seal_envelope(request.content, request.recipient, request.cipher),
        attributes=request_attributes(request),
        certificates=(request.signer_certificate,),
        digest=request.digest_algorithm,
    )
    return sign(what, PrivateKeySigner(request.signer_key), request.signer_certificate)


def transient_certificate(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, subject: x509.Name, now: dt.datetime
) -> x509.Certificate:
    """The self-signed certificate a client signs its first PKCSReq with (RFC 8894 §2.3)."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


@dataclass(frozen=True)
class ParsedCertRep:
    """A CertRep whose signature verified against the certificate it carries."""

    status: PkiStatus
    fail_info: FailInfo | None
    transaction_id: str
    sender_nonce: bytes
    recipient_nonce: bytes
    signer_certificate: x509.Certificate
    digest_algorithm: str
    enveloped_data: bytes | None


def parse_cert_rep(body: bytes, max_bytes: int = 4 * 1024 * 1024) -> ParsedCertRep:
    """Verify and read a CertRep (RFC 8894 §3.3.2); raises :class:`ScepError` if it is not one."""
    verified = verify(body, max_bytes)
    attributes = verified.attributes
    with guard("the CertRep's attributes are malformed"):
        if attributes[MESSAGE_TYPE] != str(int(MessageType.CERT_REP)):
            raise ValueError("not a CertRep")
        status = PkiStatus(int(attributes[PKI_STATUS]))
        fail_info = FailInfo(int(attributes[FAIL_INFO])) if status is PkiStatus.FAILURE else None
        return ParsedCertRep(
            status=status,
            fail_info=fail_info,
            transaction_id=attributes[TRANSACTION_ID],
            sender_nonce=attributes[SENDER_NONCE],
            recipient_nonce=attributes[RECIPIENT_NONCE],
            signer_certificate=verified.signer_certificate,
            digest_algorithm=verified.digest,
            enveloped_data=verified.content or None,
        )


def certificates_in(degenerate: bytes) -> list[x509.Certificate]:
    """The certificates of a degenerate (certs-only) SignedData, in the order they were sent (a SCEP
    reply lists the issued certificate first, which a strict DER SET OF would not keep)."""
    with guard("not a certs-only PKCS#7"):
        signed = cms.ContentInfo.load(degenerate, strict=True)["content"]
        return [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"]]


def crls_in(degenerate: bytes) -> list[x509.CertificateRevocationList]:
    """The CRLs of a degenerate SignedData (a GetCRL answer)."""
    with guard("not a PKCS#7 with CRLs"):
        signed = cms.ContentInfo.load(degenerate, strict=True)["content"]
        return [x509.load_der_x509_crl(c.chosen.dump()) for c in signed["crls"]]
