"""ACME Renewal Information (RFC 9773): certificate identifiers and suggested renewal windows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509

from chancery.clock import Clock
from chancery.domain.acme import b64url, b64url_decode
from chancery.domain.records import CertificateRecord, CertificateState
from chancery.domain.serials import SerialNumber
from chancery.errors import CAError, Malformed, NotFound
from chancery.services.acme.directories import AcmeDirectories
from chancery.services.ports import Transactions

RETRY_AFTER = 6 * 3600  # RFC 9773 §4.3: how long a client should wait before asking again


@dataclass(frozen=True)
class RenewalWindow:
    start: dt.datetime
    end: dt.datetime
    retry_after: int = RETRY_AFTER


def cert_id(certificate: x509.Certificate) -> str:
    """RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial's DER content octets)."""
    aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    return f"{b64url(aki or b'')}.{b64url(_serial_octets(certificate.serial_number))}"


def parse_cert_id(text: object) -> tuple[bytes, SerialNumber]:
    if not isinstance(text, str) or text.count(".") != 1 or len(text) > 200:
        raise Malformed("a certificate identifier is base64url(AKI).base64url(serial)")
    aki, serial = (b64url_decode(part) for part in text.split("."))
    if not aki or not serial or serial[0] & 0x80:
        raise Malformed("a certificate identifier is base64url(AKI).base64url(serial)")
    try:
        return aki, SerialNumber(int.from_bytes(serial, "big"))
    except (TypeError, ValueError):
        raise Malformed("the certificate identifier's serial is not a valid serial number") from None


def _serial_octets(serial: int) -> bytes:
    length = serial.bit_length() // 8 + 1  # DER INTEGER: a leading zero octet keeps it positive
    return serial.to_bytes(length, "big")


def suggested_window(record: CertificateRecord, now: dt.datetime) -> RenewalWindow:
    """The last third of the validity; a revoked certificate should be replaced now."""
    if record.state is CertificateState.REVOKED:
        return RenewalWindow(now - dt.timedelta(hours=1), now)
    lifetime = record.not_after - record.not_before
    return RenewalWindow(record.not_before + lifetime * 2 / 3, record.not_before + lifetime * 8 / 9)


class RenewalInfo:
    def __init__(self, transactions: Transactions, clock: Clock, directories: AcmeDirectories) -> None:
        self._tx = transactions
        self._clock = clock
        self._directories = directories

    def certificate(self, directory: str, identifier: object) -> CertificateRecord:
        """The certificate a certID names, issued by the directory's CA; NotFound otherwise."""
        aki, serial = parse_cert_id(identifier)
        ca = self._directories.ca_of(self._directories.get(directory))
        with self._tx.read() as uow:
            authority = uow.authorities.get(ca)
            record = uow.certificates.get(ca, serial)
        if authority is None or authority.certificate is None or record is None or record.der is None:
            raise NotFound("no such certificate")
        if _subject_key_id(x509.load_der_x509_certificate(authority.certificate)) != aki:
            raise NotFound("no such certificate")
        return record

    def window(self, directory: str, identifier: object) -> RenewalWindow:
        return suggested_window(self.certificate(directory, identifier), self._clock.now())


def _subject_key_id(certificate: x509.Certificate) -> bytes:
    try:
        return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except (x509.ExtensionNotFound, CAError):
        return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest  # type: ignore[arg-type]
