"""CMS out: the structures SCEP sends (RFC 5652 §5 SignedData, §6 EnvelopedData), DER, written
with :mod:`chancery.pki.der` (microseconds, where building asn1crypto objects around parsed
certificates costs milliseconds). Certificates and CRLs are spliced in as they are.
Reading is :mod:`.signed` (SignedData) and :mod:`.envelope` (EnvelopedData)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from chancery.pki import der
from chancery.pki.scep.algorithms import DIGEST_OIDS, HASHES, CmsSigner, signature_algorithm

ID_DATA = "1.2.840.113549.1.7.1"
ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
ID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
ID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
ID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
ID_SIGNING_TIME = "1.2.840.113549.1.9.5"

__all__ = [
    "CmsSigner",
    "Envelope",
    "SignedContent",
    "attribute",
    "certs_only",
    "enveloped",
    "scep_string",
    "sign",
    "signing_time",
]

_PRINTABLE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")


def scep_string(text: str) -> bytes:
    """PrintableString (RFC 8894 §3.2.1), or UTF8String for a value that cannot be one
    (a transactionID a client sent in another string type, echoed back)."""
    if all(c in _PRINTABLE for c in text):
        return der.tlv(0x13, text.encode("ascii"))
    return der.tlv(0x0C, text.encode("utf-8"))


def attribute(oid: str, value: bytes) -> bytes:
    """Attribute ::= SEQUENCE { attrType OID, attrValues SET OF (one value, DER) } (RFC 5652 §5.3)."""
    return der.sequence(der.oid(oid), der.tlv(der.SET, value))


def signing_time(moment: dt.datetime) -> bytes:
    """RFC 5652 §11.3: UTCTime through 2049, GeneralizedTime after."""
    return attribute(ID_SIGNING_TIME, der.time(moment))


def issuer_and_serial(certificate: x509.Certificate) -> bytes:
    """IssuerAndSerialNumber (RFC 5652 §10.2.4)."""
    return der.sequence(certificate.issuer.public_bytes(), der.integer(certificate.serial_number))


def certificate_set(certificates: Sequence[x509.Certificate]) -> bytes:
    """CertificateSet content in the caller's order: SCEP clients take the first certificate
    of a CertRep as theirs (RFC 8894 §3.3.2), so the set is not sorted."""
    return b"".join(c.public_bytes(Encoding.DER) for c in certificates)


@dataclass(frozen=True)
class SignedContent:
    """What to sign: ``content`` (None leaves eContent out), the signed attributes besides
    contentType and messageDigest (DER, from :func:`attribute`), and the certificates to carry."""

    content: bytes | None
    attributes: Sequence[bytes]
    certificates: Sequence[x509.Certificate]
    digest: str = "sha256"


def sign(what: SignedContent, signer: CmsSigner, signer_certificate: x509.Certificate) -> bytes:
    """ContentInfo(SignedData) DER with one SignerInfo (RFC 5652 §5.3-5.4)."""
    message_digest = hashlib.new(what.digest, what.content or b"").digest()
    attributes = sorted(  # DER SET OF: encodings in ascending order (X.690 §11.6)
        [
            attribute(ID_CONTENT_TYPE, der.oid(ID_DATA)),
            attribute(ID_MESSAGE_DIGEST, der.octet_string(message_digest)),
            *what.attributes,
        ]
    )
    signed_attributes = b"".join(attributes)
    signature = signer.sign(der.tlv(der.SET, signed_attributes), HASHES[what.digest]())
    algorithm = signature_algorithm(signer.public_key(), what.digest)
    rsa = algorithm.startswith("1.2.840.113549.")
    digest_algorithm = der.sequence(der.oid(DIGEST_OIDS[what.digest]))  # parameters absent, RFC 5754 §2
    signer_info = der.sequence(
        der.integer(1),
        issuer_and_serial(signer_certificate),
        digest_algorithm,
        der.implicit(0, signed_attributes, constructed=True),
        der.sequence(der.oid(algorithm), der.null() if rsa else b""),  # RFC 4055 §5, RFC 5758 §3.2
        der.octet_string(signature),
    )
    encapsulated = der.sequence(
        der.oid(ID_DATA), der.explicit(0, der.octet_string(what.content)) if what.content is not None else b""
    )
    signed_data = der.sequence(
        der.integer(1),
        der.tlv(der.SET, digest_algorithm),
        encapsulated,
        der.implicit(0, certificate_set(what.certificates), constructed=True) if what.certificates else b"",
        der.tlv(der.SET, signer_info),
    )
    return der.sequence(der.oid(ID_SIGNED_DATA), der.explicit(0, signed_data))


def certs_only(certificates: Sequence[x509.Certificate], crls: Sequence[bytes] = ()) -> bytes:
    """A degenerate ContentInfo(SignedData): no content, no signers (RFC 5652 §5.2)."""
    signed_data = der.sequence(
        der.integer(1),
        der.tlv(der.SET, b""),
        der.sequence(der.oid(ID_DATA)),
        der.implicit(0, certificate_set(certificates), constructed=True) if certificates else b"",
        der.implicit(1, b"".join(crls), constructed=True) if crls else b"",
        der.tlv(der.SET, b""),
    )
    return der.sequence(der.oid(ID_SIGNED_DATA), der.explicit(0, signed_data))


@dataclass(frozen=True)
class Envelope:
    """The parts of an EnvelopedData with one KeyTransRecipientInfo (RFC 5652 §6.1-6.2.1)."""

    recipient: x509.Certificate
    key_transport: bytes  # AlgorithmIdentifier DER
    encrypted_key: bytes
    cipher_oid: str
    iv: bytes
    ciphertext: bytes


def enveloped(parts: Envelope) -> bytes:
    """ContentInfo(EnvelopedData) DER, version 0 (RFC 5652 §6.1)."""
    recipient_info = der.sequence(
        der.integer(0),
        issuer_and_serial(parts.recipient),
        parts.key_transport,
        der.octet_string(parts.encrypted_key),
    )
    content_info = der.sequence(
        der.oid(ID_DATA),
        der.sequence(der.oid(parts.cipher_oid), der.octet_string(parts.iv)),
        der.implicit(0, parts.ciphertext, constructed=False),
    )
    data = der.sequence(der.integer(0), der.tlv(der.SET, recipient_info), content_info)
    return der.sequence(der.oid(ID_ENVELOPED_DATA), der.explicit(0, data))
