"""Encodings of certificates: PEM, DER, PKCS#7 bundles (RFC 2315 "certs-only"), fingerprints."""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs7

from chancery.errors import Malformed, PayloadTooLarge

MAX_BUNDLE_BYTES = 1024 * 1024
MAX_BUNDLE_CERTIFICATES = 16
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL)


def load_certificates(data: bytes) -> tuple[x509.Certificate, ...]:
    """Load one or more certificates from PEM (a bundle), DER, or a PKCS#7 bundle.

    Raises :class:`Malformed` when nothing in ``data`` is a certificate and
    :class:`PayloadTooLarge` for oversized input.
    """
    if len(data) > MAX_BUNDLE_BYTES:
        raise PayloadTooLarge(f"certificate input larger than {MAX_BUNDLE_BYTES // 1024} KiB")
    text = data.strip()
    if not text:
        raise Malformed("no certificate in empty input")
    try:
        if text.startswith(b"-----BEGIN PKCS7-----"):
            certs = tuple(pkcs7.load_pem_pkcs7_certificates(text))
        elif text.startswith(b"-----"):
            blocks = _PEM_CERT.findall(text)
            if not blocks:
                raise Malformed("PEM input holds no CERTIFICATE block")
            certs = tuple(x509.load_pem_x509_certificate(block) for block in blocks)
        else:  # DER is binary: never strip it
            try:
                certs = (x509.load_der_x509_certificate(data),)
            except ValueError:
                certs = tuple(pkcs7.load_der_pkcs7_certificates(data))
    except ValueError as exc:
        raise Malformed(f"not a valid certificate: {str(exc)[:200] or 'unparseable'}") from None
    if not certs:
        raise Malformed("no certificate found")
    if len(certs) > MAX_BUNDLE_CERTIFICATES:
        raise PayloadTooLarge(f"more than {MAX_BUNDLE_CERTIFICATES} certificates in one bundle")
    return certs


def to_pem(certs: tuple[x509.Certificate, ...] | list[x509.Certificate]) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def to_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def to_pkcs7(certs: tuple[x509.Certificate, ...] | list[x509.Certificate], *, pem: bool = False) -> bytes:
    """A degenerate PKCS#7 SignedData holding ``certs`` (the ``.p7b`` format)."""
    encoding = serialization.Encoding.PEM if pem else serialization.Encoding.DER
    return pkcs7.serialize_certificates(list(certs), encoding)


def der_to_pem(der: bytes) -> str:
    return to_pem([x509.load_der_x509_certificate(der)]).decode("ascii")


def public_key_sha256(key: PublicKeyTypes) -> str:
    """Hex SHA-256 of the DER SubjectPublicKeyInfo: how Chancery recognises a key."""
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    return digest.finalize().hex()


def fingerprint_sha256(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()
