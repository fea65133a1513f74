"""Dual control: sensitive operations wait for other administrators' approval (two-person rule).

A service marks an operation sensitive by calling :meth:`DualControl.guard`
after its own authorisation check. When the policy asks for approvals
(``dual-control.approvals`` > 0), the operation is recorded instead of run and
:class:`~chancery.errors.ApprovalRequired` names it. Other administrators
approve it; the requester cannot, nobody approves twice, approvals expire.
With the last approval the operation runs, as the requester, through the
handler registered for its kind, and the outcome is recorded and audited.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from chancery.clock import Clock
from chancery.domain.approvals import OperationState, PendingOperation
from chancery.domain.audit import AuditEvent, Outcome
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal, Role
from chancery.errors import ApprovalRequired, CAError, Conflict, Forbidden, Malformed, NotFound, SubError
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

log = logging.getLogger(__name__)
APPROVALS_POLICY = "dual-control.approvals"
EXPIRY_POLICY = "dual-control.expiry-hours"
DEFAULT_EXPIRY_HOURS = 24
MAX_APPROVALS = 5
Handler = Callable[[Principal, dict[str, Any]], Any]

# Set while an approved operation runs, so that its own guard lets it through.
_approved: contextvars.ContextVar[str | None] = contextvars.ContextVar("chancery_approved_operation", default=None)


class DualControl:
    def __init__(self, transactions: Transactions, writer: DurableWriter, clock: Clock) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._handlers: dict[str, Handler] = {}

    def register(self, kind: str, handler: Handler) -> None:
        """How to run operations of ``kind`` once approved (wiring registers every kind)."""
        self._handlers[kind] = handler

    def required_approvals(self) -> int:
        with self._tx.read() as uow:
            value = uow.policies.get(APPROVALS_POLICY)
        return int(value) if value else 0

    def guard(self, principal: Principal, kind: str, payload: dict[str, Any], summary: str) -> None:
        """Return when the operation may run now; raise :class:`ApprovalRequired` after recording it."""
        if _approved.get() == kind:
            return
        now = self._clock.now()

        def record(uow: UnitOfWork) -> PendingOperation | None:
            value = uow.policies.get(APPROVALS_POLICY)
            required = int(value) if value else 0
            if required <= 0:
                return None
            hours = int(uow.policies.get(EXPIRY_POLICY) or DEFAULT_EXPIRY_HOURS)
            operation = PendingOperation(
                operation_id=secrets.token_hex(8),
                kind=kind,
                summary=summary[:500],
                payload_json=json.dumps(payload, sort_keys=True, default=str),
                requested_by=principal.name,
                requested_at=now,
                expires_at=now + dt.timedelta(hours=hours),
                approvals_required=required,
            )
            uow.operations.add(operation)
            details = {"operation": operation.operation_id, "kind": kind, "summary": operation.summary}
            uow.audit.append([AuditEvent("operation.requested", principal.name, details=details)], now)
            return operation

        if kind not in self._handlers:
            raise Malformed(f"no handler for sensitive operation {kind!r}")  # a wiring mistake, caught by tests
        operation = self._writer.run(record)
        if operation is None:
            return
        others = (
            "another administrator"
            if operation.approvals_required == 1
            else f"{operation.approvals_required} other administrators"
        )
        raise ApprovalRequired(
            f"{operation.summary}: needs the approval of {others} (operation {operation.operation_id}, "
            f"expires {operation.expires_at:%Y-%m-%d %H:%M}Z)",
            sub_errors=(SubError("operation", operation.operation_id),),
        )

    def approve(self, principal: Principal, operation_id: str) -> PendingOperation:
        """Add ``principal``'s approval; with the last one, run the operation. Returns its new state.

        A refused approval (the requester's own, a second one by the same administrator, an
        expired operation) is audited, then refused.
        """
        require(principal, Permission.APPROVE)
        now = self._clock.now()

        def approve(uow: UnitOfWork) -> tuple[PendingOperation, CAError | None]:
            operation, problem = self._pending(uow, operation_id, now)
            if problem is None and not principal.is_person:
                # A service token or the host's operator is one person's tool: letting it approve would
                # let one administrator approve their own operation (chancery approval approve --as USER).
                problem = Forbidden(f"{principal.name} is not a user account; approvals come from users who log in")
            if problem is None and operation.requested_by == principal.name:
                problem = Forbidden(f"{principal.name} requested operation {operation_id} and cannot approve it")
            if problem is None and any(a.approver == principal.name for a in operation.approvals):
                problem = Conflict(f"{principal.name} has already approved operation {operation_id}")
            if problem is not None:
                details = {"reason": problem.detail}
                uow.audit.append(
                    [_event("operation.approve-refused", principal, operation, Outcome.DENIED, details)], now
                )
                return operation, problem
            uow.operations.approve(operation_id, principal.name, now)
            uow.audit.append([_event("operation.approved", principal, operation)], now)
            if len(operation.approvals) + 1 >= operation.approvals_required:
                # Claimed in the approving transaction (the row is locked): a concurrent
                # approval now finds it no longer pending, so the operation runs once.
                uow.operations.claim(operation_id)
            approved = uow.operations.get(operation_id)
            assert approved is not None
            return approved, None

        operation, problem = self._writer.run(approve)
        if problem is not None:
            raise problem
        if operation.state is OperationState.PENDING:
            return operation
        return self._execute(operation)

    def reject(self, principal: Principal, operation_id: str, reason: str = "") -> PendingOperation:
        require(principal, Permission.APPROVE)
        now = self._clock.now()

        def reject(uow: UnitOfWork) -> tuple[PendingOperation, CAError | None]:
            operation, problem = self._pending(uow, operation_id, now)
            if problem is not None:
                return operation, problem
            uow.operations.finish(operation_id, OperationState.REJECTED, now, reason[:500])
            event = _event("operation.rejected", principal, operation, Outcome.SUCCESS, {"reason": reason[:500]})
            uow.audit.append([event], now)
            rejected = uow.operations.get(operation_id)
            assert rejected is not None
            return rejected, None

        operation, problem = self._writer.run(reject)
        if problem is not None:
            raise problem
        return operation

    def list(self, principal: Principal, state: OperationState | None = None) -> tuple[PendingOperation, ...]:
        require(principal, Permission.APPROVE)
        with self._tx.read() as uow:
            return uow.operations.list(state)

    def get(self, principal: Principal, operation_id: str) -> PendingOperation:
        require(principal, Permission.APPROVE)
        with self._tx.read() as uow:
            operation = uow.operations.get(operation_id)
        if operation is None:
            raise NotFound(f"no operation {operation_id!r}")
        return operation

    def _pending(self, uow: UnitOfWork, operation_id: str, now: dt.datetime) -> tuple[PendingOperation, CAError | None]:
        """The operation, locked, and why it cannot be decided on (expired ones are marked so)."""
        operation = uow.operations.get(operation_id, for_update=True)
        if operation is None:
            raise NotFound(f"no operation {operation_id!r}")
        if operation.expired_at(now):
            uow.operations.finish(operation_id, OperationState.EXPIRED, now)
            return operation, Conflict(f"operation {operation_id} expired at {operation.expires_at:%Y-%m-%d %H:%M}Z")
        if operation.state is not OperationState.PENDING:
            return operation, Conflict(f"operation {operation_id} is {operation.state.value}")
        return operation, None

    def _execute(self, operation: PendingOperation) -> PendingOperation:
        """Run an approved operation as its requester; record and audit how it ended."""
        handler = self._handlers[operation.kind]
        requester = Principal(name=operation.requested_by, roles=frozenset({Role.ADMINISTRATOR}), kind="approved")
        token = _approved.set(operation.kind)
        try:
            result = handler(requester, operation.payload)
            state, text = OperationState.EXECUTED, _describe(result)
        except CAError as error:
            state, text = OperationState.FAILED, error.detail
        finally:
            _approved.reset(token)
        now = self._clock.now()

        def finish(uow: UnitOfWork) -> PendingOperation:
            uow.operations.finish(operation.operation_id, state, now, text)
            outcome = Outcome.SUCCESS if state is OperationState.EXECUTED else Outcome.FAILURE
            approvers = [a.approver for a in operation.approvals]
            details = {
                "operation": operation.operation_id,
                "kind": operation.kind,
                "approvers": approvers,
                "result": text[:500],
            }
            uow.audit.append([AuditEvent("operation.executed", operation.requested_by, outcome, details=details)], now)
            done = uow.operations.get(operation.operation_id)
            assert done is not None
            return done

        return self._writer.run(finish)


@contextmanager
def approved(kind: str) -> Iterator[None]:
    """Run an operation of ``kind`` as already approved (tests of the handlers use this)."""
    token = _approved.set(kind)
    try:
        yield
    finally:
        _approved.reset(token)


def _event(
    action: str,
    principal: Principal,
    operation: PendingOperation,
    outcome: Outcome = Outcome.SUCCESS,
    extra: dict[str, Any] | None = None,
) -> AuditEvent:
    details = {"operation": operation.operation_id, "kind": operation.kind, **(extra or {})}
    return AuditEvent(action, principal.name, outcome, target=operation.operation_id, details=details)


def _describe(result: Any) -> str:
    for attribute in ("name", "record"):
        value = getattr(result, attribute, None)
        if isinstance(value, str):
            return value
        if value is not None and isinstance(getattr(value, "name", None), str):
            return value.name
    return "" if result is None else type(result).__name__
