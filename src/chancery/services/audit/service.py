"""What auditors do with the log: search it, export it, check it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent, AuditRecord, Outcome
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.queries import AuditFilter
from chancery.errors import Malformed, PermissionDenied
from chancery.services.audit.checkpoints import AuditCheckpointer
from chancery.services.audit.verification import AuditReport, AuditVerifier
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions

MAX_PAGE = 1000
DENIAL_EVERY_SECONDS = 60.0  # one access.denied entry per actor, permission and CA a minute
_DENIAL_MEMORY = 10_000


class AuditService:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        verifier: AuditVerifier,
        checkpointer: AuditCheckpointer,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._verifier = verifier
        self._checkpointer = checkpointer
        self._denials: dict[tuple[str, str, str | None], float] = {}
        self._lock = threading.Lock()

    def record_denial(self, denial: PermissionDenied, source: str = "") -> bool:
        """Audit a refused authorisation check (``access.denied``), at most once a minute for the same
        actor, permission and CA, so that a client hammering a forbidden URL cannot flood the log.
        The edges call this with the :class:`PermissionDenied` a service raised. True if written."""
        key = (denial.actor, denial.permission, denial.ca)
        moment = time.monotonic()
        with self._lock:
            last = self._denials.get(key)
            if last is not None and moment - last < DENIAL_EVERY_SECONDS:
                return False
            if len(self._denials) >= _DENIAL_MEMORY:
                self._denials.clear()
            self._denials[key] = moment
        details = {"permission": denial.permission, "detail": denial.detail[:300], "source": source}
        event = AuditEvent("access.denied", denial.actor, Outcome.DENIED, ca=denial.ca, details=details)
        now = self._clock.now()
        self._writer.run(lambda uow: uow.audit.append([event], now))
        return True

    def search(self, principal: Principal, query: AuditFilter, limit: int = 100) -> list[AuditRecord]:
        """Newest first; page with ``query.before`` = the last sequence seen."""
        require(principal, Permission.AUDIT_READ)
        if not 1 <= limit <= MAX_PAGE:
            raise Malformed(f"limit must be between 1 and {MAX_PAGE}")
        with self._tx.read() as uow:
            return uow.audit.search(query, limit)

    def export(self, principal: Principal) -> Iterator[AuditRecord]:
        """Every entry, oldest first (read in batches). Refused at the call, not at the first entry."""
        require(principal, Permission.AUDIT_READ)
        return self._entries()

    def _entries(self) -> Iterator[AuditRecord]:
        with self._tx.read() as uow:
            yield from uow.audit.entries()

    def verify(self, principal: Principal) -> AuditReport:
        require(principal, Permission.AUDIT_READ)
        return self._verifier.verify()

    def checkpoint(self, principal: Principal) -> int:
        """Sign the newest entry now; returns the sequence covered (0: nothing new)."""
        require(principal, Permission.AUDIT_READ)
        checkpoint = self._checkpointer.checkpoint()
        return checkpoint.sequence if checkpoint else 0
