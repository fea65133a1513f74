"""tls-alpn-01 (RFC 8737): a TLS handshake offering only ALPN "acme-tls/1", whose certificate names the
identifier alone and carries SHA-256(key authorization) in a critical id-pe-acmeIdentifier extension."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import ssl

from cryptography import x509

from chancery.services.validation.addresses import Dns, connect, literal_address, resolve_identifier
from chancery.services.validation.model import ChallengeCheck, Deadline, Failed
from chancery.services.validation.settings import ValidationSettings

ACME_TLS_1 = "acme-tls/1"  # RFC 8737 §6.2
ID_PE_ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")  # RFC 8737 §6.1
OCTET_STRING_32 = b"\x04\x20"  # DER tag and length of the extension's value: Authorization ::= OCTET STRING (32)


def validate_tlsalpn01(
    check: ChallengeCheck, settings: ValidationSettings, resolver: Dns, deadline: Deadline, records: list
) -> None:
    """Returns when the certificate proves the key authorization; :class:`Failed` says why it did not."""
    resolved = resolve_identifier(check.identifier, settings, resolver, deadline)
    sock, used, tried = connect(resolved, settings.tlsalpn01_port, deadline)
    sni = _server_name(check)
    records.append(
        {
            "hostname": check.identifier,
            "port": settings.tlsalpn01_port,
            "addressesResolved": list(resolved.addresses),
            "addressUsed": used,
            "addressesTried": list(tried),
            "serverName": sni,
        }
    )
    with sock:
        der, protocol = _handshake(sock, sni, deadline, check.identifier)
    # RFC 8737 §3: the negotiated protocol must be acme-tls/1, whatever certificate came with another.
    if protocol != ACME_TLS_1:
        raise Failed("tls", f"{check.identifier} did not negotiate the ALPN protocol {ACME_TLS_1!r}")
    _check_certificate(der, check)


def _server_name(check: ChallengeCheck) -> str:
    if check.identifier_type == "ip":
        # RFC 8738 §6: SNI carries the reverse-mapping name of the address (in-addr.arpa or ip6.arpa).
        return ipaddress.ip_address(check.identifier).reverse_pointer
    return check.identifier.rstrip(".")


def _handshake(sock: socket.socket, sni: str, deadline: Deadline, identifier: str) -> tuple[bytes, str | None]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # RFC 8737 §3: the certificate is self-signed; no chain to check
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # RFC 8737 §4: TLS 1.2 or higher only
    context.set_alpn_protocols([ACME_TLS_1])  # RFC 8737 §3: offer acme-tls/1 and nothing else
    try:
        sock.settimeout(deadline.remaining())
        with context.wrap_socket(sock, server_hostname=sni) as tls:
            der = tls.getpeercert(binary_form=True)
            protocol = tls.selected_alpn_protocol()
    except TimeoutError:
        raise Failed("connection", f"timeout during the TLS handshake with {identifier}") from None
    except ssl.SSLError as failure:
        raise Failed("tls", f"TLS handshake with {identifier} failed: {failure.reason or 'error'}") from None
    except OSError as failure:
        detail = failure.strerror or type(failure).__name__
        raise Failed("connection", f"connection to {identifier} failed during TLS: {detail}") from None
    if not der:
        raise Failed("tls", f"{identifier} presented no certificate")
    return der, protocol


def _check_certificate(der: bytes, check: ChallengeCheck) -> None:
    """RFC 8737 §3: exactly one subjectAltName, the identifier; a critical acmeIdentifier extension whose
    value is the SHA-256 digest of the key authorization."""
    try:
        certificate = x509.load_der_x509_certificate(der)
        extensions = certificate.extensions
    except (ValueError, x509.DuplicateExtension):
        raise Failed("incorrectResponse", "the tls-alpn-01 certificate cannot be parsed") from None
    try:
        names = list(extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        raise Failed("incorrectResponse", "the tls-alpn-01 certificate has no subjectAltName extension") from None
    if len(names) != 1 or not _names_identifier(names[0], check):
        raise Failed(
            "incorrectResponse",
            f"the tls-alpn-01 certificate must name {check.identifier} and nothing else ({len(names)} names)",
        )
    try:
        extension = extensions.get_extension_for_oid(ID_PE_ACME_IDENTIFIER)
    except x509.ExtensionNotFound:
        raise Failed("incorrectResponse", "the tls-alpn-01 certificate has no acmeIdentifier extension") from None
    if not extension.critical:
        raise Failed("incorrectResponse", "the acmeIdentifier extension of the certificate is not critical")
    value = extension.value.value if isinstance(extension.value, x509.UnrecognizedExtension) else b""
    if len(value) != 34 or value[:2] != OCTET_STRING_32:
        raise Failed("incorrectResponse", "the acmeIdentifier extension does not hold a 32-byte OCTET STRING")
    expected = hashlib.sha256(check.key_authorization.encode("utf-8")).digest()
    if not hmac.compare_digest(value[2:], expected):
        raise Failed("unauthorized", "the acmeIdentifier extension does not hold this challenge's key authorization")


def _names_identifier(name: x509.GeneralName, check: ChallengeCheck) -> bool:
    if check.identifier_type == "ip":
        # RFC 8738 §6: an iPAddress subjectAltName equal to the identifier.
        return isinstance(name, x509.IPAddress) and name.value == literal_address(check.identifier)
    return isinstance(name, x509.DNSName) and name.value.rstrip(".").lower() == check.identifier.rstrip(".").lower()
