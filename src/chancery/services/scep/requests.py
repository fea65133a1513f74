"""What a SCEP enrollment asks for: the PKCS#10 inside the envelope and its challengePassword."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import AttributeOID

from chancery.errors import CAError
from chancery.pki.csr import load_csr
from chancery.pki.names import format_name
from chancery.pki.scep import FailInfo, ScepError

MAX_CHALLENGE = 255  # RFC 2985 §5.4.1: challengePassword is a DirectoryString of at most 255 characters


@dataclass(frozen=True)
class EnrollmentRequest:
    csr_der: bytes = field(repr=False)
    public_key_der: bytes  # SubjectPublicKeyInfo of the key to certify
    subject: str
    challenge: str | None = field(default=None, repr=False)


def read_enrollment(content: bytes, signer: x509.Certificate, same_key: bool) -> EnrollmentRequest:
    """Parse and verify the CSR a PKCSReq or RenewalReq carries.

    A PKCSReq is signed by a self-signed certificate of the key being enrolled, so that
    key must be the CSR's (RFC 8894 §3.3.1); a RenewalReq is signed by the current
    certificate and may ask for a new key (§3.3.1.2).
    """
    try:
        verified = load_csr(content)
    except CAError as bad:
        raise ScepError(FailInfo.BAD_REQUEST, f"the enclosed CSR is not usable: {bad.detail}") from None
    key = verified.public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    signer_key = signer.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if same_key and key != signer_key:
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "the message is not signed by the key the CSR asks to certify")
    return EnrollmentRequest(
        csr_der=verified.csr.public_bytes(Encoding.DER),
        public_key_der=key,
        subject=format_name(verified.subject),
        challenge=_challenge(verified.csr),
    )


def _challenge(csr: x509.CertificateSigningRequest) -> str | None:
    try:
        value = csr.attributes.get_attribute_for_oid(AttributeOID.CHALLENGE_PASSWORD).value
    except x509.AttributeNotFound:
        return None
    except ValueError:
        raise ScepError(FailInfo.BAD_REQUEST, "the challengePassword attribute is malformed") from None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if not text or len(text) > MAX_CHALLENGE:
        raise ScepError(FailInfo.BAD_REQUEST, "the challengePassword is empty or too long")
    return text
