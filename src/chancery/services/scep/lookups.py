"""The certificates and CRLs a SCEP answer carries: issued certificates with their chain, GetCert,
GetCRL (RFC 8894 §3.3.4, §3.3.5), and the checks on the certificate that signs a RenewalReq."""

from __future__ import annotations

from dataclasses import replace

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from chancery.clock import Clock
from chancery.domain.records import CertificateStatus
from chancery.domain.registration import RaRecord, RequestRecord
from chancery.domain.revocation_records import CrlScope
from chancery.domain.serials import SerialNumber
from chancery.errors import CAError
from chancery.pki.names import format_name
from chancery.pki.scep import CertRep, FailInfo, ScepError, parse_issuer_and_serial
from chancery.services.certificates import CertificateService
from chancery.services.ports import Transactions
from chancery.services.revocation.crls import CrlPublisher
from chancery.services.scep.requests import EnrollmentRequest


class ScepLookups:
    def __init__(
        self, transactions: Transactions, clock: Clock, crls: CrlPublisher, certificates: CertificateService
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._crls = crls
        self._certificates = certificates

    def issued(self, request: RequestRecord, skeleton: CertRep) -> CertRep:
        """SUCCESS with the certificate ``request`` produced, followed by its CA chain."""
        certificate = self._certificate(request.ca, SerialNumber.from_hex(request.serial or ""))
        if certificate is None:
            raise ScepError(FailInfo.BAD_CERT_ID, "the issued certificate is not in the database")
        return replace(skeleton, certificates=(certificate, *self._chain(request.ca)))

    def get_cert(self, ra: RaRecord, content: bytes, skeleton: CertRep) -> CertRep:
        issuer, serial = parse_issuer_and_serial(content)
        self._check_issuer(ra, issuer)
        certificate = self._certificate(ra.ca, _serial(serial))
        if certificate is None:
            raise ScepError(FailInfo.BAD_CERT_ID, "no such certificate")
        return replace(skeleton, certificates=(certificate,))

    def get_crl(self, ra: RaRecord, content: bytes, skeleton: CertRep) -> CertRep:
        issuer, _ = parse_issuer_and_serial(content)
        self._check_issuer(ra, issuer)
        try:
            crl = self._crls.current(ra.ca, CrlScope.FULL)
        except CAError as unavailable:
            raise ScepError(FailInfo.BAD_REQUEST, f"no CRL: {unavailable.detail}") from None
        return replace(skeleton, crl=crl.der)

    def check_renewal(self, ra: RaRecord, signer: x509.Certificate, enrollment: EnrollmentRequest) -> None:
        """A RenewalReq is signed by a current, valid, unrevoked certificate of the RA's CA (RFC 8894
        §3.3.1.2) for the same subject it asks to renew."""
        record_der = self._record_der(ra.ca, signer.serial_number)
        if record_der is None or record_der[0] != signer.public_bytes(Encoding.DER):
            raise ScepError(FailInfo.BAD_CERT_ID, "the signing certificate was not issued by this RA's CA")
        if record_der[1] is not CertificateStatus.VALID:
            raise ScepError(FailInfo.BAD_REQUEST, f"the signing certificate is {record_der[1].value}")
        if format_name(signer.subject) != enrollment.subject:
            raise ScepError(FailInfo.BAD_REQUEST, "a renewal keeps the subject of the certificate it renews")

    def _record_der(self, ca: str, serial: int) -> tuple[bytes, CertificateStatus] | None:
        with self._tx.read() as uow:
            record = uow.certificates.get(ca, _serial(serial))
        if record is None or record.der is None:
            return None
        return record.der, record.status(self._clock.now())

    def _certificate(self, ca: str, serial: SerialNumber) -> x509.Certificate | None:
        with self._tx.read() as uow:
            record = uow.certificates.get(ca, serial)
        if record is None or record.der is None:
            return None
        return x509.load_der_x509_certificate(record.der)

    def _chain(self, ca: str) -> tuple[x509.Certificate, ...]:
        return self._certificates.chain(ca)

    def _check_issuer(self, ra: RaRecord, issuer: x509.Name) -> None:
        chain = self._chain(ra.ca)
        if not chain or chain[0].subject != issuer:
            raise ScepError(FailInfo.BAD_CERT_ID, "this RA's CA did not issue that certificate")


def _serial(value: int) -> SerialNumber:
    try:
        return SerialNumber(value)
    except CAError:
        raise ScepError(FailInfo.BAD_CERT_ID, "not a serial number this CA uses") from None
