"""Assertions that read as PKI statements."""

from __future__ import annotations

from cryptography import x509


def assert_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    assert cert.issuer == issuer.subject
    cert.verify_directly_issued_by(issuer)
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert aki == ski


def extension(cert: x509.Certificate, cls: type) -> object:
    return cert.extensions.get_extension_for_class(cls).value
