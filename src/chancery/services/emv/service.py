"""The EMV CA: scheme CA keys, issuer keys and their certificates, ICC public key certificates.

Roles (EMV Book 2 §5-6): a *scheme CA* (RID + index) certifies issuer keys; an *issuer*
certifies the keys of its cards (ICC). Chancery can play both, for test CAs, private-label
schemes and labs, or import the certificate a payment scheme signed for an issuer key it holds.
Keys live in the key store (raw RSA, never exported); every operation is authorised here
(the EMV CA's or issuer's name is the ``ca`` scope of a grant) and audited in its transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.emv_records import EmvCaRecord, EmvIssuerRecord, IssuerCertification, emv_name
from chancery.domain.keystores import KeyLocation
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.emv.capk import CaPublicKey
from chancery.emv.fields import Expiry, parse_issuer_identifier, parse_pan
from chancery.emv.icc_certificate import IccCertificate, IccCertificateContents, prepare_icc_certificate
from chancery.emv.issuer_certificate import (
    IssuerCertificate,
    IssuerCertificateContents,
    prepare_issuer_certificate,
    verify_issuer_certificate,
)
from chancery.emv.rsa import EmvPublicKey, signer_public_key
from chancery.emv.tlv import issuer_data_objects
from chancery.errors import Conflict, Malformed, NotFound
from chancery.keys.base import KeyRouting
from chancery.services.approvals import DualControl
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

_RID = re.compile(r"^[0-9A-F]{10}$")
MAX_BATCH = 10_000  # ICC certificates per call (the CLI's bulk mode sends batches)


@dataclass(frozen=True)
class NewEmvCa:
    name: str
    rid: str  # 10 hex digits
    index: int  # 0-255
    bits: int
    exponent: int = 3
    key_store: str = KeyLocation.SOFTWARE.value  # or pkcs11: the key is made in the HSM (CKM_RSA_X_509)


@dataclass(frozen=True)
class NewIssuer:
    name: str
    issuer_identifier: str  # the BIN: 3 to 8 digits
    bits: int
    exponent: int = 3
    key_store: str = KeyLocation.SOFTWARE.value


@dataclass(frozen=True)
class CertificationSubject:
    """An issuer key a scheme CA certifies; ``label`` names it in the audit log."""

    issuer_identifier: str
    key: EmvPublicKey
    expiry: Expiry
    label: str


@dataclass(frozen=True)
class IccRequest:
    pan: str
    expiry: str  # MMYY
    icc_key: EmvPublicKey
    static_data: bytes = b""


def certification_document(certification: IssuerCertification) -> dict[str, str]:
    """An issuer certificate as the CLI and REST hand it out: tags 90, 92, 9F32, 8F (hex), the
    CA's RID, expiry, serial, and the BER-TLV of the data objects for card personalisation."""
    certificate = IssuerCertificate(certification.certificate, certification.remainder, certification.exponent)
    return {
        **certificate.to_json(certification.ca_index),
        "rid": certification.ca_rid,
        "expiry": certification.expiry,
        "serial": certification.serial.hex().upper(),
        "data_objects": issuer_data_objects(certification.ca_index, certificate).hex().upper(),
    }


def masked_pan(pan: str) -> str:
    """What the audit log keeps of a PAN (PCI DSS 3.4: at most the first six and last four digits)."""
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


class EmvService:
    def __init__(
        self, transactions: Transactions, writer: DurableWriter, keys: KeyRouting, clock: Clock, dual: DualControl
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._keys = keys
        self._clock = clock
        self._dual = dual

    # -- scheme CAs ----------------------------------------------------------------------------

    def create_ca(self, principal: Principal, new: NewEmvCa) -> EmvCaRecord:
        """A scheme CA key in the key store. Creating a CA is a sensitive operation (dual control)."""
        name = emv_name(new.name)
        require(principal, Permission.CA_MANAGE, name)
        rid = new.rid.strip().upper()
        if not _RID.fullmatch(rid):
            raise Malformed("a RID is 10 hexadecimal digits (5 bytes), e.g. A000000999")
        if not 0 <= new.index <= 0xFF:
            raise Malformed("a CA public key index is one byte, 00 to FF")
        with self._tx.read() as uow:
            if uow.emv.get_ca(name) is not None:
                raise Conflict(f"an EMV CA named {name!r} exists")
        location = KeyLocation.parse(new.key_store)
        payload = {"name": name, "rid": rid, "index": new.index, "bits": new.bits, "exponent": new.exponent}
        payload["key_store"] = location.value
        summary = f"create EMV CA {name} (RID {rid}, index {new.index:02X}, {new.bits} bits)"
        self._dual.guard(principal, "emv.create-ca", payload, summary)
        key = self._keys.generate_raw_rsa_in(location, new.bits, new.exponent)
        now = self._clock.now()
        record = EmvCaRecord(name, rid, new.index, key.key_id, key.modulus, key.public_exponent, now, principal.name)

        def add(uow: UnitOfWork) -> None:
            uow.emv.add_ca(record)
            details = {"rid": rid, "index": f"{new.index:02X}", "bits": new.bits, "exponent": new.exponent}
            event = AuditEvent("emv.ca-created", principal.name, ca=name, target=name, details=details)
            uow.audit.append([event], now)

        self._add(add, key.key_id)
        return record

    def ca_public_key(self, principal: Principal, name: str) -> CaPublicKey:
        """What terminals load (RID, index, modulus, exponent, check value)."""
        require(principal, Permission.CA_READ, name)
        record = self._ca(name)
        return CaPublicKey(
            bytes.fromhex(record.rid), record.index, EmvPublicKey.from_numbers(record.modulus, record.exponent)
        )

    def ca(self, principal: Principal, name: str) -> EmvCaRecord:
        require(principal, Permission.CA_READ, name)
        return self._ca(name)

    def list_cas(self, principal: Principal) -> tuple[EmvCaRecord, ...]:
        require(principal, Permission.CA_READ)
        with self._tx.read() as uow:
            return uow.emv.list_cas()

    # -- issuers -------------------------------------------------------------------------------

    def create_issuer(self, principal: Principal, new: NewIssuer) -> EmvIssuerRecord:
        """An issuer key pair in the key store (it signs ICC certificates: a CA, so dual-controlled)."""
        name = emv_name(new.name)
        require(principal, Permission.CA_MANAGE, name)
        identifier = parse_issuer_identifier(new.issuer_identifier)
        with self._tx.read() as uow:
            if uow.emv.get_issuer(name) is not None:
                raise Conflict(f"an EMV issuer named {name!r} exists")
        location = KeyLocation.parse(new.key_store)
        payload = {"name": name, "issuer_identifier": identifier, "bits": new.bits, "exponent": new.exponent}
        payload["key_store"] = location.value
        summary = f"create EMV issuer {name} (BIN {identifier}, {new.bits} bits)"
        self._dual.guard(principal, "emv.create-issuer", payload, summary)
        key = self._keys.generate_raw_rsa_in(location, new.bits, new.exponent)
        now = self._clock.now()
        record = EmvIssuerRecord(name, identifier, key.key_id, key.modulus, key.public_exponent, now, principal.name)

        def add(uow: UnitOfWork) -> None:
            uow.emv.add_issuer(record)
            details = {"bin": identifier, "bits": new.bits, "exponent": new.exponent}
            event = AuditEvent("emv.issuer-created", principal.name, ca=name, target=name, details=details)
            uow.audit.append([event], now)

        self._add(add, key.key_id)
        return record

    def list_issuers(self, principal: Principal) -> tuple[EmvIssuerRecord, ...]:
        require(principal, Permission.CA_READ)
        with self._tx.read() as uow:
            return uow.emv.list_issuers()

    def issuer(self, principal: Principal, name: str) -> EmvIssuerRecord:
        require(principal, Permission.CA_READ, name)
        return self._issuer(name)

    def certify_issuer(self, principal: Principal, issuer: str, ca: str, expiry: str) -> IssuerCertification:
        """The scheme CA ``ca`` signs ``issuer``'s key (Book 2 §5.3, format '02'); the issuer keeps it."""
        require(principal, Permission.CA_MANAGE, issuer)
        issuer_record = self._issuer(issuer)
        issuer_key = EmvPublicKey.from_numbers(issuer_record.modulus, issuer_record.exponent)
        subject = CertificationSubject(issuer_record.issuer_identifier, issuer_key, Expiry.parse(expiry), issuer)
        return self.certify_key(principal, ca, subject, keep_for=issuer_record.name)

    def certify_key(
        self, principal: Principal, ca: str, subject: CertificationSubject, keep_for: str | None = None
    ) -> IssuerCertification:
        """The scheme CA ``ca`` signs an issuer key (Book 2 §5.3, format '02') with its next serial,
        checked as a terminal would before anyone gets it; ``keep_for`` names the issuer here that
        keeps it (``None``: an issuer elsewhere, which sent a request)."""
        require(principal, Permission.CA_MANAGE, ca)
        if subject.expiry.has_expired(self._clock.now().date()):
            raise Malformed(f"expiry {subject.expiry.mmyy} is in the past")
        ca_record = self._ca(ca)
        ca_key = self._keys.load_raw_rsa(ca_record.key_id)
        now = self._clock.now()

        def certify(uow: UnitOfWork) -> IssuerCertification:
            serial = uow.emv.take_ca_serial(ca_record.name).to_bytes(3, "big")
            contents = IssuerCertificateContents(subject.issuer_identifier, subject.expiry, serial, subject.key)
            signed = prepare_issuer_certificate(contents, ca_key.modulus_length).sign(ca_key)
            # What a terminal will do, before anyone gets it (Book 2 §5.3)
            verify_issuer_certificate(signer_public_key(ca_key), signed, pan=None, today=now.date())
            certification = IssuerCertification(
                ca_record.rid, ca_record.index, signed.certificate, signed.remainder, signed.exponent,
                subject.expiry.mmyy, serial, now,
            )  # fmt: skip
            if keep_for is not None:
                uow.emv.certify_issuer(keep_for, certification)
            details = {
                "ca": ca_record.name,
                "serial": serial.hex().upper(),
                "expiry": subject.expiry.mmyy,
                "issuer_identifier": subject.issuer_identifier,
            }
            event = AuditEvent(
                "emv.issuer-certified", principal.name, ca=ca_record.name, target=subject.label, details=details
            )
            uow.audit.append([event], now)
            return certification

        return self._writer.run(certify)

    def import_certification(
        self, principal: Principal, issuer: str, ca_key: CaPublicKey, certificate: IssuerCertificate
    ) -> IssuerCertification:
        """Keep the certificate a payment scheme signed for ``issuer``'s key, once it verifies
        against the scheme's CA public key and certifies exactly this issuer's key and BIN."""
        require(principal, Permission.CA_MANAGE, issuer)
        record = self._issuer(issuer)
        now = self._clock.now()
        contents = verify_issuer_certificate(ca_key.key, certificate, pan=None, today=now.date())
        if contents.issuer_key != EmvPublicKey.from_numbers(record.modulus, record.exponent):
            raise Malformed(f"the certificate certifies another key than issuer {issuer}'s")
        if contents.issuer_identifier != record.issuer_identifier:
            raise Malformed(
                f"the certificate is for issuer identifier {contents.issuer_identifier}, not {record.issuer_identifier}"
            )
        certification = IssuerCertification(
            ca_key.rid.hex().upper(), ca_key.index, certificate.certificate, certificate.remainder,
            certificate.exponent, contents.expiry.mmyy, contents.serial, now,
        )  # fmt: skip

        def keep(uow: UnitOfWork) -> None:
            uow.emv.certify_issuer(record.name, certification)
            details = {"rid": certification.ca_rid, "index": f"{ca_key.index:02X}", "expiry": certification.expiry}
            uow.audit.append(
                [AuditEvent("emv.issuer-certificate-imported", principal.name, ca=issuer, details=details)], now
            )

        self._writer.run(keep)
        return certification

    # -- cards ---------------------------------------------------------------------------------

    def issue_icc(self, principal: Principal, issuer: str, request: IccRequest) -> IccCertificate:
        """One ICC public key certificate (Book 2 §6.3, format '04')."""
        return self.issue_icc_batch(principal, issuer, [request])[0]

    def issue_icc_batch(
        self, principal: Principal, issuer: str, requests: Sequence[IccRequest]
    ) -> list[IccCertificate]:
        """ICC certificates for many cards: all or none (serials taken and the batch audited in
        one transaction). Every request is checked before anything is signed."""
        require(principal, Permission.CERT_ISSUE, issuer)
        if not 1 <= len(requests) <= MAX_BATCH:
            raise Malformed(f"a batch has 1 to {MAX_BATCH} cards")
        record = self._issuer(issuer)
        key = self._keys.load_raw_rsa(record.key_id)
        today = self._clock.now().date()
        checked = []
        for number, request in enumerate(requests, 1):
            pan = parse_pan(request.pan)
            if not pan.startswith(record.issuer_identifier):
                raise Malformed(
                    f"card {number}: the PAN does not start with the issuer's BIN {record.issuer_identifier}"
                )
            expiry = Expiry.parse(request.expiry)
            if expiry.has_expired(today):
                raise Malformed(f"card {number}: expiry {request.expiry} is in the past")
            checked.append((pan, expiry, request))
        now = self._clock.now()

        def issue(uow: UnitOfWork) -> list[IccCertificate]:
            first = uow.emv.take_issuer_serials(record.name, len(checked))
            issued, events = [], []
            for offset, (pan, expiry, request) in enumerate(checked):
                serial = (first + offset).to_bytes(3, "big")
                contents = IccCertificateContents(pan, expiry, serial, request.icc_key)
                issued.append(prepare_icc_certificate(contents, request.static_data, key.modulus_length).sign(key))
                details = {"pan": masked_pan(pan), "serial": serial.hex().upper(), "expiry": expiry.mmyy}
                events.append(AuditEvent("emv.icc-certified", principal.name, ca=record.name, details=details))
            uow.audit.append(events, now)
            return issued

        return self._writer.run(issue)

    # -- helpers -------------------------------------------------------------------------------

    def _add(self, work: Callable[[UnitOfWork], None], key_id: str) -> None:
        try:
            self._writer.run(work)
        except BaseException:
            self._keys.destroy(key_id)  # a key no record names is of no use to anyone
            raise

    def _ca(self, name: str) -> EmvCaRecord:
        with self._tx.read() as uow:
            record = uow.emv.get_ca(name)
        if record is None:
            raise NotFound(f"no EMV CA named {name!r}")
        return record

    def _issuer(self, name: str) -> EmvIssuerRecord:
        with self._tx.read() as uow:
            record = uow.emv.get_issuer(name)
        if record is None:
            raise NotFound(f"no EMV issuer named {name!r}")
        return record
