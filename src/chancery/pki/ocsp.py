"""OCSP (RFC 6960) requests and responses, with several certificates per message.

pyca/cryptography handles one certificate per request, so Chancery reads and
writes these structures with :mod:`chancery.pki.der`. Requests are parsed
strictly; each CertID is kept as received so the response names the certificate
exactly as the client did (§4.2.1).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chancery.domain.revocation import RevocationReason
from chancery.keys.base import KeyHandle
from chancery.pki import der
from chancery.pki.signatures import signature_scheme
from chancery.pki.spki import subject_public_key

MAX_REQUEST_BYTES = 16 * 1024
MAX_CERT_IDS = 32
NONCE_OID = "1.3.6.1.5.5.7.48.1.2"
_NONCE_OID_DER = der.oid(NONCE_OID)
_BASIC = der.oid("1.3.6.1.5.5.7.48.1.1")  # id-pkix-ocsp-basic

# CertID hash algorithms (RFC 6960 §4.1.1; RFC 5019 §2.1.1 uses SHA-1).
HASHES = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}


class ResponseStatus(IntEnum):
    """OCSPResponseStatus (RFC 6960 §4.2.1)."""

    SUCCESSFUL = 0
    MALFORMED_REQUEST = 1
    INTERNAL_ERROR = 2
    TRY_LATER = 3
    SIG_REQUIRED = 5
    UNAUTHORIZED = 6


class MalformedRequest(ValueError):
    """The request is not an OCSP request Chancery can answer (-> malformedRequest)."""


@dataclass(frozen=True)
class CertId:
    """A CertID as the client sent it (``der``), and what it says."""

    der: bytes
    hash_algorithm: str  # "sha1", "sha256", ...
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial: int


@dataclass(frozen=True)
class OcspRequest:
    cert_ids: tuple[CertId, ...]
    nonce_extension: bytes | None  # the nonce Extension as received, to echo (RFC 8954 §2.1)


def parse_request(data: bytes) -> OcspRequest:
    """Parse a DER OCSPRequest; raise :class:`MalformedRequest` with the reason."""
    if not data:
        raise MalformedRequest("empty request")
    if len(data) > MAX_REQUEST_BYTES:
        raise MalformedRequest("request too large")
    try:
        return _parse(data)
    except der.DERError as exc:
        raise MalformedRequest(f"not DER: {exc}") from None


def _parse(data: bytes) -> OcspRequest:
    outer = der.Reader(data)
    request = outer.enter(der.SEQUENCE)
    outer.finish()
    tbs = request.enter(der.SEQUENCE)
    if not request.at_end() and request.peek_tag() != 0xA0:  # optionalSignature [0]
        raise MalformedRequest("unexpected element after tbsRequest")
    if tbs.peek_tag() == 0xA0:  # version [0] EXPLICIT, must be v1 (0)
        version = tbs.enter(0xA0)
        if version.integer() != 0:
            raise MalformedRequest("unsupported OCSP request version")
        version.finish()
    if tbs.peek_tag() == 0xA1:  # requestorName [1]
        tbs.read()
    requests = tbs.enter(der.SEQUENCE)
    cert_ids: list[CertId] = []
    while not requests.at_end():
        if len(cert_ids) == MAX_CERT_IDS:
            raise MalformedRequest(f"more than {MAX_CERT_IDS} certificates in one request")
        single = requests.enter(der.SEQUENCE)
        cert_ids.append(_cert_id(single.raw()))
        if not single.at_end():
            single.enter(0xA0)  # singleRequestExtensions: none is understood, none is critical here
        single.finish()
    if not cert_ids:
        raise MalformedRequest("no certificate in the request")
    nonce = None
    if tbs.peek_tag() == 0xA2:  # requestExtensions [2]
        nonce = _nonce(tbs.enter(0xA2).enter(der.SEQUENCE))
    tbs.finish()
    return OcspRequest(cert_ids=tuple(cert_ids), nonce_extension=nonce)


def _cert_id(raw: bytes) -> CertId:
    reader = der.Reader(raw).enter(der.SEQUENCE)
    algorithm = reader.enter(der.SEQUENCE)
    oid = der.oid_text(algorithm.bytes_of(der.OID))
    if not algorithm.at_end():
        if algorithm.peek_tag() != der.NULL:
            raise MalformedRequest("unexpected hash algorithm parameters")
        algorithm.read()
    algorithm.finish()
    name = HASHES.get(oid)
    if name is None:
        raise MalformedRequest(f"unsupported CertID hash algorithm {oid}")
    name_hash = reader.bytes_of(der.OCTET_STRING)
    key_hash = reader.bytes_of(der.OCTET_STRING)
    serial = reader.integer()
    reader.finish()
    size = hashlib.new(name).digest_size
    if len(name_hash) != size or len(key_hash) != size:
        raise MalformedRequest("CertID hashes do not match their algorithm")
    if serial <= 0:
        raise MalformedRequest("serial number must be positive")
    return CertId(raw, name, name_hash, key_hash, serial)


def _nonce(extensions: der.Reader) -> bytes | None:
    nonce = None
    while not extensions.at_end():
        raw = extensions.raw()
        extension = der.Reader(raw).enter(der.SEQUENCE)
        oid = der.oid_text(extension.bytes_of(der.OID))
        critical = False
        if extension.peek_tag() == der.BOOLEAN:
            critical = extension.bytes_of(der.BOOLEAN) != b"\x00"
        value = extension.bytes_of(der.OCTET_STRING)
        extension.finish()
        if oid == NONCE_OID:
            inner = der.Reader(value)
            try:
                content = inner.bytes_of(der.OCTET_STRING)
                inner.finish()
            except der.DERError:
                content = value  # pre-RFC 8954 clients put the bare value
            if not 1 <= len(content) <= 32:  # RFC 8954 §2.1
                raise MalformedRequest("nonce must be 1 to 32 octets (RFC 8954)")
            nonce = raw
        elif critical:
            raise MalformedRequest(f"unsupported critical request extension {oid}")
    return nonce


class CertStatus(Enum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SingleResponse:
    """The answer about one certificate (RFC 6960 §4.2.1)."""

    cert_id: bytes  # the CertID DER as requested
    status: CertStatus
    this_update: dt.datetime
    next_update: dt.datetime
    revoked_at: dt.datetime | None = None
    reason: RevocationReason | None = None

    def encode(self) -> bytes:
        if self.status is CertStatus.GOOD:
            status = b"\x80\x00"  # good [0] IMPLICIT NULL
        elif self.status is CertStatus.UNKNOWN:
            status = b"\x82\x00"  # unknown [2] IMPLICIT NULL
        else:
            assert self.revoked_at is not None
            reason = b""
            if self.reason is not None and self.reason is not RevocationReason.unspecified:
                reason = der.explicit(0, der.enumerated(self.reason.value))
            status = der.implicit(1, der.generalized_time(self.revoked_at) + reason, constructed=True)
        return der.sequence(
            self.cert_id,
            status,
            der.generalized_time(self.this_update),
            der.explicit(0, der.generalized_time(self.next_update)),
        )


class Responder:
    """Signs OCSP responses with one key: a delegated responder (its certificate is included,
    RFC 6960 §4.2.2.2) or the CA itself (``certificate`` is the CA's, not included)."""

    def __init__(self, key: KeyHandle, certificate: x509.Certificate, delegated: bool) -> None:
        self.key = key
        self.certificate = certificate
        self.scheme = signature_scheme(key.public_key())
        self.responder_id = der.explicit(2, der.octet_string(_key_hash(certificate)))  # byKey (§4.2.2.3)
        self.certs = der.explicit(0, der.sequence(_certificate_der(certificate))) if delegated else b""

    def respond(
        self, responses: Sequence[SingleResponse], produced_at: dt.datetime, nonce_extension: bytes | None = None
    ) -> bytes:
        """A signed, successful OCSPResponse (DER)."""
        extensions = der.explicit(1, der.sequence(nonce_extension)) if nonce_extension else b""
        tbs = der.sequence(
            self.responder_id,
            der.generalized_time(produced_at),
            der.sequence_of(r.encode() for r in responses),
            extensions,
        )
        signature = der.bit_string(self.key.sign(tbs, self.scheme.hash))
        basic = der.sequence(tbs, self.scheme.algorithm_identifier, signature, self.certs)
        return der.sequence(der.enumerated(0), der.explicit(0, der.sequence(_BASIC, der.octet_string(basic))))


def error_response(status: ResponseStatus) -> bytes:
    """An unsuccessful OCSPResponse: status only, no responseBytes (RFC 6960 §4.2.1)."""
    if status is ResponseStatus.SUCCESSFUL:
        raise ValueError("a successful response needs responseBytes")
    return der.sequence(der.enumerated(status.value))


def issuer_hashes(issuer: x509.Certificate, algorithm: str) -> tuple[bytes, bytes]:
    """(issuerNameHash, issuerKeyHash) a CertID carries for certificates of ``issuer`` (§4.1.1)."""
    name = hashlib.new(algorithm, issuer.subject.public_bytes()).digest()
    return name, hashlib.new(algorithm, _public_key_bits(issuer)).digest()


def _key_hash(certificate: x509.Certificate) -> bytes:
    return hashlib.sha1(_public_key_bits(certificate)).digest()  # noqa: S324 - KeyHash is SHA-1 (§4.2.2.3)


def _public_key_bits(certificate: x509.Certificate) -> bytes:
    spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return subject_public_key(spki)


def _certificate_der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


_HASH_OIDS = {name: der.oid(oid) for oid, name in HASHES.items()}


def make_cert_id(issuer: x509.Certificate, serial: int, algorithm: str = "sha1") -> bytes:
    """A CertID the way OpenSSL writes it (hash parameters NULL), for responses signed ahead of any request."""
    name_hash, key_hash = issuer_hashes(issuer, algorithm)
    return der.sequence(
        der.sequence(_HASH_OIDS[algorithm], der.null()),
        der.octet_string(name_hash),
        der.octet_string(key_hash),
        der.integer(serial),
    )
