"""Certificates after issuance: finding, exporting, revoking, releasing holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography import x509

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.exports import ExportFormat
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.queries import CertificateFilter, Page, PageRequest
from chancery.domain.records import CertificateRecord, CertificateState, Revocation
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.errors import AlreadyRevoked, BadRevocationReason, Conflict, Malformed, NotFound
from chancery.keys.base import KeyStore, Pkcs12Request
from chancery.pki.chain import is_ca_certificate
from chancery.pki.crl import removal_entry, revoked_entry
from chancery.pki.encoding import to_pem, to_pkcs7
from chancery.services.approvals import DualControl
from chancery.services.authorization import require, require_on_ca
from chancery.services.ports import DurableWriter, RevocationListener, Transactions, UnitOfWork

MIN_PKCS12_PASSWORD = 8


@dataclass(frozen=True)
class RevokeRequest:
    ca: str
    serial: SerialNumber
    reason: RevocationReason = RevocationReason.unspecified
    invalidity_date: dt.datetime | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> RevokeRequest:
        """Read back what a dual-control operation recorded (``certificate.revoke-ca``)."""
        invalidity = payload.get("invalidity_date")
        return cls(
            ca=str(payload["ca"]),
            serial=SerialNumber.from_hex(str(payload["serial"])),
            reason=RevocationReason[str(payload["reason"])],
            invalidity_date=dt.datetime.fromisoformat(invalidity) if invalidity else None,
        )


@dataclass(frozen=True)
class ExportRequest:
    ca: str
    serial: SerialNumber
    format: ExportFormat
    include_chain: bool = False
    password: str | None = field(default=None, repr=False)


class CertificateService:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        keys: KeyStore,
        clock: Clock,
        dual_control: DualControl,
        listeners: Sequence[RevocationListener] = (),
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._keys = keys
        self._clock = clock
        self._dual = dual_control
        self._listeners = list(listeners)

    def add_listener(self, listener: RevocationListener) -> None:
        """Hear of every revocation and released hold once it is durable."""
        self._listeners.append(listener)

    def get(self, principal: Principal, ca: str, serial: SerialNumber) -> CertificateRecord:
        return self._readable(principal, ca, serial)

    def _readable(self, principal: Principal, ca: str, serial: SerialNumber) -> CertificateRecord:
        """The certificate, if ``principal`` may read it: a grant on its CA, or on its CA and profile."""
        require_on_ca(principal, Permission.CERT_READ, ca)
        record = self._get(ca, serial)
        require(principal, Permission.CERT_READ, ca, record.profile)
        return record

    def search(self, principal: Principal, query: CertificateFilter, page: PageRequest) -> Page[CertificateRecord]:
        """A grant limited to a profile searches with that profile (and its CA) as filters."""
        require(principal, Permission.CERT_READ, query.ca_name, query.profile)
        if query.ca_name is not None:
            with self._tx.read() as uow:
                if uow.authorities.get(query.ca_name) is None:
                    raise NotFound(f"no CA named {query.ca_name!r}")
        with self._tx.read() as uow:
            return uow.certificates.search(query, page, self._clock.now())

    def chain(self, ca: str) -> tuple[x509.Certificate, ...]:
        """The issuing CA's certificate and its parents, issuer first."""
        with self._tx.read() as uow:
            record = uow.authorities.get(ca)
        if record is None or record.certificate is None:
            raise NotFound(f"no CA named {ca!r}")
        return tuple(x509.load_der_x509_certificate(der) for der in (record.certificate, *record.chain))

    def export(self, principal: Principal, request: ExportRequest) -> bytes:
        """The certificate as PEM or DER, with its chain as PEM or PKCS#7, or with its key as PKCS#12.

        PKCS#12 is only possible for keys Chancery generated (server-side key generation).
        """
        record = self._readable(principal, request.ca, request.serial)
        if record.der is None:
            raise Conflict(f"serial {request.serial} was reserved but no certificate was issued")
        cert = x509.load_der_x509_certificate(record.der)
        fmt = request.format
        if fmt is ExportFormat.DER:
            if request.include_chain:
                raise Malformed("DER holds one certificate; export the chain as pem or p7b")
            return record.der
        chain = self.chain(request.ca)
        if fmt is ExportFormat.PEM:
            return to_pem([cert, *chain] if request.include_chain else [cert])
        if fmt is ExportFormat.P7B:
            return to_pkcs7([cert, *chain])
        return self._pkcs12(principal, record, cert, chain, request.password)

    def revoke(self, principal: Principal, request: RevokeRequest) -> CertificateRecord:
        """Revoke (RFC 5280 §5.3.1); a held certificate may be revoked for good.

        The CRL entry and a revocation event are written in the same transaction;
        listeners (the OCSP responder) hear of it once it is durable. Raises
        :class:`AlreadyRevoked` when it already is, :class:`NotFound` for an unknown serial.
        """
        require_on_ca(principal, Permission.CERT_REVOKE, request.ca)
        if request.reason is RevocationReason.removeFromCRL:
            raise BadRevocationReason("removeFromCRL is not a revocation reason; release the hold instead")
        current = self._get(request.ca, request.serial)
        require(principal, Permission.CERT_REVOKE, request.ca, current.profile)
        if current.der is not None and is_ca_certificate(x509.load_der_x509_certificate(current.der)):
            payload = {"ca": request.ca, "serial": request.serial.hex, "reason": request.reason.name}
            if request.invalidity_date is not None:
                payload["invalidity_date"] = request.invalidity_date.isoformat()
            summary = f"revoke CA certificate {request.serial} ({current.subject}) issued by {request.ca}"
            self._dual.guard(principal, "certificate.revoke-ca", payload, summary)
        now = self._clock.now()
        if request.invalidity_date is not None and request.invalidity_date > now:
            raise Malformed("the invalidity date cannot be in the future")
        revocation = Revocation(revoked_at=now, reason=request.reason, invalidity_date=request.invalidity_date)
        entry = revoked_entry(request.serial.value, now, request.reason, request.invalidity_date)

        def revoke(uow: UnitOfWork) -> CertificateRecord:
            record = uow.certificates.get(request.ca, request.serial)
            if record is None:
                raise NotFound(f"no certificate {request.serial} issued by CA {request.ca!r}")
            if record.state is CertificateState.RESERVED:
                raise Conflict(f"serial {request.serial} was reserved but never issued")
            if not uow.certificates.revoke(request.ca, request.serial, revocation, entry):
                held = record.revocation is not None and record.revocation.reason.is_hold
                raise AlreadyRevoked(f"certificate {request.serial} is already {'on hold' if held else 'revoked'}")
            uow.revocation_events.add_many([_event(request.ca, request.serial, entry, now)])
            details = {"reason": request.reason.name, "profile": record.profile, "subject": record.subject}
            if request.invalidity_date is not None:
                details["invalidity_date"] = request.invalidity_date.isoformat()
            event = AuditEvent(
                "certificate.revoked", principal.name, ca=request.ca, target=request.serial.hex, details=details
            )
            uow.audit.append([event], now)
            return replace(record, state=CertificateState.REVOKED, revocation=revocation)

        record = self._writer.run(revoke)
        self._notify(request.ca, [request.serial.hex])
        return record

    def release_hold(self, principal: Principal, ca: str, serial: SerialNumber) -> CertificateRecord:
        """Take a certificate off hold (valid again; delta CRLs say removeFromCRL, RFC 5280 §5.3.1)."""
        require_on_ca(principal, Permission.CERT_REVOKE, ca)
        require(principal, Permission.CERT_REVOKE, ca, self._get(ca, serial).profile)
        now = self._clock.now()

        def release(uow: UnitOfWork) -> CertificateRecord:
            record = uow.certificates.get(ca, serial)
            if record is None:
                raise NotFound(f"no certificate {serial} issued by CA {ca!r}")
            if not uow.certificates.release_hold(ca, serial):
                raise Conflict(f"certificate {serial} is not on hold")
            uow.revocation_events.add_many([_event(ca, serial, removal_entry(serial.value, now), now)])
            uow.audit.append([AuditEvent("certificate.hold-released", principal.name, ca=ca, target=serial.hex)], now)
            return replace(record, state=CertificateState.ISSUED, revocation=None)

        record = self._writer.run(release)
        self._notify(ca, [serial.hex])
        return record

    def _notify(self, ca: str, serials: list[str]) -> None:
        for listener in self._listeners:
            listener.revocations_changed(ca, serials)

    def _pkcs12(
        self,
        principal: Principal,
        record: CertificateRecord,
        cert: x509.Certificate,
        chain: tuple[x509.Certificate, ...],
        password: str | None,
    ) -> bytes:
        require(principal, Permission.KEY_EXPORT, record.ca_name)
        if record.key_id is None:
            raise Conflict(
                "PKCS#12 export needs a key generated by Chancery; this certificate's key is the requester's"
            )
        if password is None or len(password) < MIN_PKCS12_PASSWORD:
            raise Malformed(f"PKCS#12 export needs a password of at least {MIN_PKCS12_PASSWORD} characters")
        request = Pkcs12Request(
            certificate=cert, chain=chain, password=password.encode(), friendly_name=record.subject or record.serial.hex
        )
        pkcs12 = self._keys.export_pkcs12(record.key_id, request)
        now = self._clock.now()
        event = AuditEvent(
            "key.exported", principal.name, ca=record.ca_name, target=record.serial.hex, details={"format": "pkcs12"}
        )
        self._writer.run(lambda uow: uow.audit.append([event], now))
        return pkcs12

    def _get(self, ca: str, serial: SerialNumber) -> CertificateRecord:
        with self._tx.read() as uow:
            record = uow.certificates.get(ca, serial)
            if record is None:
                if uow.authorities.get(ca) is None:
                    raise NotFound(f"no CA named {ca!r}")
                raise NotFound(f"no certificate {serial} issued by CA {ca!r}")
        return record


def _event(ca: str, serial: SerialNumber, entry: bytes, at: dt.datetime) -> dict[str, object]:
    return {"ca_name": ca, "serial": serial.hex, "crl_entry": entry, "occurred_at": at}
