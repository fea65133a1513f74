"""Revoking many certificates at once (after a key compromise, a retired profile, a bad batch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.queries import RevocationFilter
from chancery.domain.records import Revocation
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.errors import BadRevocationReason, NotFound
from chancery.pki.crl import revoked_entry
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, RevocationListener, Transactions, UnitOfWork

CHUNK = 2_000
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class BulkResult:
    matched: int
    revoked: int


class BulkRevocation:
    def __init__(
        self, transactions: Transactions, writer: DurableWriter, clock: Clock, listeners: list[RevocationListener]
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._listeners = listeners

    def revoke(
        self,
        principal: Principal,
        query: RevocationFilter,
        reason: RevocationReason,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Revoke every valid or held certificate ``query`` matches; ``dry_run`` only counts them.

        Revocations are written in chunks, each with its CRL entries and events in
        one transaction; held certificates become revoked for good.
        """
        require(principal, Permission.CERT_REVOKE, query.ca_name, query.profile)
        if reason in (RevocationReason.removeFromCRL, RevocationReason.certificateHold):
            raise BadRevocationReason(f"bulk revocation cannot use {reason.name}")
        now = self._clock.now()
        with self._tx.read() as uow:
            if uow.authorities.get(query.ca_name) is None:
                raise NotFound(f"no CA named {query.ca_name!r}")
            matches = uow.certificates.revocable(query, now)
        if dry_run or not matches:
            return BulkResult(matched=len(matches), revoked=0)
        revocation = Revocation(revoked_at=now, reason=reason)
        revoked = 0
        for start in range(0, len(matches), CHUNK):
            chunk = [(serial, revoked_entry(serial.value, now, reason)) for serial, _ in matches[start : start + CHUNK]]
            revoked += self._writer.run(_RevokeChunk(query.ca_name, chunk, revocation, principal.name))
            if progress is not None:
                progress(min(start + CHUNK, len(matches)), len(matches))
        serials = [serial.hex for serial, _ in matches]
        for listener in self._listeners:
            listener.revocations_changed(query.ca_name, serials)
        return BulkResult(matched=len(matches), revoked=revoked)


@dataclass(frozen=True)
class _RevokeChunk:
    ca_name: str
    items: list[tuple[SerialNumber, bytes]]
    revocation: Revocation
    actor: str

    def __call__(self, uow: UnitOfWork) -> int:
        changed = uow.certificates.revoke_many(self.ca_name, self.items, self.revocation)
        uow.revocation_events.add_many(
            [
                {
                    "ca_name": self.ca_name,
                    "serial": serial.hex,
                    "crl_entry": entry,
                    "occurred_at": self.revocation.revoked_at,
                }
                for serial, entry in self.items
            ]
        )
        details = {"reason": self.revocation.reason.name, "bulk": True}
        events = [
            AuditEvent("certificate.revoked", self.actor, ca=self.ca_name, target=serial.hex, details=details)
            for serial, _ in self.items
        ]
        uow.audit.append(events, self.revocation.revoked_at)
        return changed
