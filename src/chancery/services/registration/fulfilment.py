"""Carrying out an approved request exactly once: issue, renew or revoke, then record the outcome.

Only the transaction that claimed the request (``pending -> approved``, or an
RA that needs no approval) calls :meth:`Fulfilment.fulfil`, so two officers
approving at the same moment produce one certificate. The CA acts as the RA
(``ra:NAME``), whose only grant is the RA officer's role on the RA's CA.
"""

from __future__ import annotations

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent, Outcome
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Grant, Principal, Role
from chancery.domain.registration import RaRecord, RequestKind, RequestRecord, RequestState
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.errors import CAError, NotFound
from chancery.services.authority.issuance import IssuanceService, IssueFromCsr, IssueWithNewKey
from chancery.services.certificates import CertificateService, RevokeRequest
from chancery.services.ports import DurableWriter, UnitOfWork
from chancery.services.registration.changes import RequestChange, RequestNotifications


def ra_principal(ra: RaRecord) -> Principal:
    """Who the CA sees when an RA's approved request is carried out."""
    return Principal(name=f"ra:{ra.name}", grants=frozenset({Grant(Role.RA_OFFICER, ca=ra.ca)}), kind="system")


class Fulfilment:
    def __init__(
        self,
        writer: DurableWriter,
        issuance: IssuanceService,
        certificates: CertificateService,
        clock: Clock,
        notifications: RequestNotifications,
    ) -> None:
        self._writer = writer
        self._issuance = issuance
        self._certificates = certificates
        self._clock = clock
        self._notifications = notifications

    def fulfil(self, request: RequestRecord, ra: RaRecord) -> RequestRecord:
        """Carry out ``request``, which this caller claimed (state ``approved``)."""
        serial: str | None = None
        key_id: str | None = None
        error = ""
        try:
            serial, key_id = self._carry_out(request, ra)
        except CAError as refused:  # lint, key policy, a certificate revoked meanwhile...
            error = refused.detail
        state = RequestState.FAILED if error else _done_state(request.kind)
        now = self._clock.now()

        def record(uow: UnitOfWork) -> RequestRecord:
            values = {"serial": serial, "key_id": key_id, "error": error[:2000], "decided_at": now}
            uow.registration.move(request.request_id, RequestState.APPROVED, state, **values)
            done = uow.registration.get_request(request.request_id)
            assert done is not None
            details = {
                "kind": request.kind.value,
                "profile": request.profile,
                "approvers": [a.approver for a in request.approvals],
            }
            if serial is not None:
                details["serial"] = serial
            if error:
                details["error"] = error[:500]
            outcome = Outcome.FAILURE if error else Outcome.SUCCESS
            event = AuditEvent(f"request.{state.value}", f"ra:{ra.name}", outcome, ra.ca, request.request_id, details)
            uow.audit.append([event], now)
            self._notifications.record(uow, RequestChange(done, ra, state.value, f"ra:{ra.name}", now))
            return done

        done = self._writer.run(record)
        self._notifications.wake()
        return done

    def _carry_out(self, request: RequestRecord, ra: RaRecord) -> tuple[str | None, str | None]:
        """The serial issued (or revoked) and, for server-side key generation, the key's id."""
        principal = ra_principal(ra)
        if request.kind is RequestKind.CSR:
            assert request.csr is not None
            order = IssueFromCsr(ra.ca, request.profile, request.csr, validity_days=request.validity_days)
            issued = self._issuance.issue_from_csr(principal, order)
            return issued.record.serial.hex, None
        if request.kind is RequestKind.KEYGEN:
            assert request.key_type is not None
            new_key = IssueWithNewKey(
                ra.ca, request.profile, request.subject, KeyType(request.key_type), sans=request.sans
            )
            issued = self._issuance.issue_for_new_key(principal, new_key)
            return issued.record.serial.hex, issued.record.key_id
        if request.target_serial is None:
            raise NotFound("the request names no certificate")
        target = SerialNumber.from_hex(request.target_serial)
        if request.kind is RequestKind.RENEWAL:
            return self._issuance.renew(principal, ra.ca, target).record.serial.hex, None
        reason = RevocationReason[request.revocation_reason or "unspecified"]
        self._certificates.revoke(principal, RevokeRequest(ra.ca, target, reason))
        return target.hex, None


def _done_state(kind: RequestKind) -> RequestState:
    return RequestState.REVOKED if kind is RequestKind.REVOCATION else RequestState.ISSUED
