"""The issuance cycle (docs/issuance-cycle.md, DESIGN.md invariant 1).

1. prepare: check the request against profile, key policy and issuer; build;
   lint the result when the profile says so (DESIGN.md invariant 8).
2. reserve: record the serial and what will be signed, durably, before signing.
3. sign: exactly once, through the key store.
4. store: record the signed certificate, durably, before anyone receives it.

A crash between 2 and 4 leaves a reserved serial and no certificate that
anybody holds; a crash after 4 leaves a certificate the CA knows and can revoke.
Requests refused in step 1 leave nothing behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.names import CAName
from chancery.domain.records import CertificateRecord, CertificateState
from chancery.domain.serials import SerialNumber, new_serial
from chancery.errors import Conflict
from chancery.pki.encoding import to_der
from chancery.pki.issuer import CertificateRequest, PreparedCertificate, Signer, prepare
from chancery.services.authority.signers import SignerDirectory
from chancery.services.durable import OffLoop, Steps, run_steps, run_steps_async
from chancery.services.ports import DurableWriter, UnitOfWork
from chancery.services.profiles.lint_gate import LintGate

_SERIAL_ATTEMPTS = 3


@dataclass(frozen=True)
class Issued:
    """A certificate the CA has recorded: safe to hand out."""

    record: CertificateRecord
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    chain_pem: tuple[str, ...] = ()

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(Encoding.PEM).decode("ascii")


@dataclass(frozen=True)
class Provenance:
    """Who asked, where an issued certificate's key lives and what it replaces."""

    key_id: str | None = None
    renewal_of: SerialNumber | None = None
    actor: str = "chancery"


class IssuanceCycle:
    def __init__(
        self,
        writer: DurableWriter,
        signers: SignerDirectory,
        clock: Clock,
        lint: LintGate,
        serials: Callable[[], SerialNumber] = new_serial,
    ) -> None:
        self._writer = writer
        self._signers = signers
        self._clock = clock
        self._lint = lint
        self._serials = serials

    def issue(self, ca_name: str, request: CertificateRequest, provenance: Provenance = Provenance()) -> Issued:
        """Issue ``request`` from the active CA ``ca_name`` (blocking until durable)."""
        return run_steps(self._steps_for(ca_name, request, provenance), self._writer.run)

    async def issue_async(
        self, ca_name: str, request: CertificateRequest, provenance: Provenance = Provenance()
    ) -> Issued:
        """:meth:`issue` for the event loop: other requests are served while commits happen."""
        return await run_steps_async(self._steps_for(ca_name, request, provenance), self._writer.submit_async)

    def self_sign(
        self, ca_name: CAName, signer: Signer, request: CertificateRequest, provenance: Provenance = Provenance()
    ) -> Issued:
        """Issue a root's own certificate; the CA row ``ca_name`` must already exist."""
        return run_steps(self._steps(_IssuingCA(ca_name, signer), request, provenance), self._writer.run)

    def _steps_for(self, ca_name: str, request: CertificateRequest, provenance: Provenance) -> Steps[Issued]:
        ca = self._signers.get(ca_name)
        issuer = _IssuingCA(ca.record.name, ca.signer, ca.chain_with_self, ca.chain_pem, ca.crl_partitions)
        return self._steps(issuer, request, provenance)

    def _steps(self, issuer: _IssuingCA, request: CertificateRequest, provenance: Provenance) -> Steps[Issued]:
        now = self._clock.now()
        request.profile.check_issuer(issuer.name)
        for attempt in range(_SERIAL_ATTEMPTS):
            serial = self._serials()
            partition = serial.value % issuer.crl_partitions if issuer.crl_partitions else None
            prepared = prepare(request, issuer.signer, serial, now, crl_partition=partition)
            if attempt == 0:  # a new serial changes nothing the linter looks at
                # On the caller's thread (the event loop for REST): a worker thread would not run it
                # sooner under the GIL and cost a fifth of the throughput in `every` mode (bench/issue.py).
                linted = self._lint.check(prepared, request.profile) is not None
            record = _reservation(issuer.name, prepared, provenance, now)
            try:
                yield _Reserve(record)
                break
            except Conflict:  # a serial collision, ~2**-64 likely: draw again
                if attempt == _SERIAL_ATTEMPTS - 1:
                    raise
        if issuer.signer.key.signs_on_device:  # an HSM round trip: off the event loop when there is one
            certificate = yield OffLoop(prepared.sign)
        else:
            certificate = prepared.sign()
        der = to_der(certificate)
        yield _Store(issuer.name, record.serial, der, _issued_event(issuer, record, provenance, linted), now)
        issued_record = replace(record, state=CertificateState.ISSUED, der=der)
        return Issued(record=issued_record, certificate=certificate, chain=issuer.chain, chain_pem=issuer.chain_pem)


@dataclass(frozen=True)
class _IssuingCA:
    """Who signs, and the chain that goes with what it signs (empty when self-signing)."""

    name: CAName
    signer: Signer
    chain: tuple[x509.Certificate, ...] = ()
    chain_pem: tuple[str, ...] = ()
    crl_partitions: int = 0


@dataclass(frozen=True)
class _Reserve:
    """Write work: record a serial before signing. Reservations of one batch share one statement."""

    record: CertificateRecord
    merge_key: ClassVar[str] = "certificates.reserve"

    def __call__(self, uow: UnitOfWork) -> None:
        uow.certificates.reserve(self.record)

    @staticmethod
    def run_merged(uow: UnitOfWork, items: list[_Reserve]) -> list[None]:
        uow.certificates.reserve_many([item.record for item in items])
        return [None] * len(items)


@dataclass(frozen=True)
class _Store:
    """Write work: the signed certificate over its reservation, and its audit entry (DESIGN.md
    invariant 5: in the same transaction). Merged like :class:`_Reserve`."""

    ca_name: str
    serial: SerialNumber
    der: bytes
    event: AuditEvent
    at: dt.datetime
    merge_key: ClassVar[str] = "certificates.mark_issued"

    def __call__(self, uow: UnitOfWork) -> None:
        uow.certificates.mark_issued(self.ca_name, self.serial, self.der)
        uow.audit.append([self.event], self.at)

    @staticmethod
    def run_merged(uow: UnitOfWork, items: list[_Store]) -> list[None]:
        uow.certificates.mark_issued_many([(item.ca_name, item.serial, item.der) for item in items])
        uow.audit.append([item.event for item in items], max(item.at for item in items))
        return [None] * len(items)


def _issued_event(issuer: _IssuingCA, record: CertificateRecord, provenance: Provenance, linted: bool) -> AuditEvent:
    """``certificate.issued``: also the record that the CA key signed (which key, for what)."""
    details = {
        "profile": record.profile,
        "profile_version": record.profile_version,
        "subject": record.subject,
        "sans": list(record.sans[:20]),
        "not_after": record.not_after.isoformat(),
        "signing_key": issuer.signer.key.key_id,
        "linted": linted,
    }
    if provenance.renewal_of is not None:
        details["renewal_of"] = provenance.renewal_of.hex
    return AuditEvent("certificate.issued", provenance.actor, ca=issuer.name, target=record.serial.hex, details=details)


def _reservation(
    ca_name: CAName, prepared: PreparedCertificate, provenance: Provenance, now: dt.datetime
) -> CertificateRecord:
    facts = prepared.facts
    return CertificateRecord(
        ca_name=ca_name,
        serial=facts.serial,
        state=CertificateState.RESERVED,
        profile=facts.profile,
        profile_version=facts.profile_version,
        subject=facts.subject,
        sans=facts.sans,
        not_before=facts.not_before,
        not_after=facts.not_after,
        public_key_sha256=facts.public_key_sha256,
        created_at=now,
        key_id=provenance.key_id,
        renewal_of=provenance.renewal_of,
        crl_partition=facts.crl_partition,
    )
