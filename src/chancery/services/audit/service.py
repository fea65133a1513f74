"""What auditors do with the log: search it, export it, check it."""

from __future__ import annotations

from collections.abc import Iterator

from chancery.domain.audit import AuditRecord
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.queries import AuditFilter
from chancery.errors import Malformed
from chancery.services.audit.checkpoints import AuditCheckpointer
from chancery.services.audit.verification import AuditReport, AuditVerifier
from chancery.services.authorization import require
from chancery.services.ports import Transactions

MAX_PAGE = 1000


class AuditService:
    def __init__(self, transactions: Transactions, verifier: AuditVerifier, checkpointer: AuditCheckpointer) -> None:
        self._tx = transactions
        self._verifier = verifier
        self._checkpointer = checkpointer

    def search(self, principal: Principal, query: AuditFilter, limit: int = 100) -> list[AuditRecord]:
        """Newest first; page with ``query.before`` = the last sequence seen."""
        require(principal, Permission.AUDIT_READ)
        if not 1 <= limit <= MAX_PAGE:
            raise Malformed(f"limit must be between 1 and {MAX_PAGE}")
        with self._tx.read() as uow:
            return uow.audit.search(query, limit)

    def export(self, principal: Principal) -> Iterator[AuditRecord]:
        """Every entry, oldest first (read in batches)."""
        require(principal, Permission.AUDIT_READ)
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
