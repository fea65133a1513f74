"""Dual-control operations waiting for approval, and the approvals they received."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chancery.domain.approvals import Approval, OperationState, PendingOperation
from chancery.errors import Conflict
from chancery.store.tables import operation_approvals, pending_operations


class OperationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, operation: PendingOperation) -> None:
        self._conn.execute(
            insert(pending_operations).values(
                operation_id=operation.operation_id,
                kind=operation.kind,
                summary=operation.summary,
                payload=operation.payload_json,
                requested_by=operation.requested_by,
                requested_at=operation.requested_at,
                expires_at=operation.expires_at,
                approvals_required=operation.approvals_required,
                state=operation.state.value,
                finished_at=operation.finished_at,
                result=operation.result,
            )
        )

    def get(self, operation_id: str, *, for_update: bool = False) -> PendingOperation | None:
        query = select(pending_operations).where(pending_operations.c.operation_id == operation_id)
        if for_update:
            query = query.with_for_update()
        row = self._conn.execute(query).mappings().first()
        return None if row is None else self._operation(row)

    def list(self, state: OperationState | None = None, limit: int = 200) -> tuple[PendingOperation, ...]:
        query = select(pending_operations).order_by(pending_operations.c.requested_at.desc()).limit(limit)
        if state is not None:
            query = query.where(pending_operations.c.state == state.value)
        return tuple(self._operation(row) for row in self._conn.execute(query).mappings().all())

    def approve(self, operation_id: str, approver: str, at: dt.datetime) -> None:
        """Record one approval; :class:`Conflict` if this approver approved already."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    insert(operation_approvals).values(operation_id=operation_id, approver=approver, approved_at=at)
                )
        except IntegrityError:
            raise Conflict(f"{approver} has already approved operation {operation_id}") from None

    def claim(self, operation_id: str) -> bool:
        """Pending -> approved (about to run); False if it was no longer pending."""
        outcome = self._conn.execute(
            update(pending_operations)
            .where(
                pending_operations.c.operation_id == operation_id,
                pending_operations.c.state == OperationState.PENDING.value,
            )
            .values(state=OperationState.APPROVED.value)
        )
        return outcome.rowcount == 1

    def finish(self, operation_id: str, state: OperationState, at: dt.datetime, result: str = "") -> bool:
        """Move a pending or approved operation to ``state``; False if it had already finished."""
        unfinished = (OperationState.PENDING.value, OperationState.APPROVED.value)
        outcome = self._conn.execute(
            update(pending_operations)
            .where(pending_operations.c.operation_id == operation_id, pending_operations.c.state.in_(unfinished))
            .values(state=state.value, finished_at=at, result=result[:2000])
        )
        return outcome.rowcount == 1

    def _operation(self, row: Any) -> PendingOperation:
        approvals = self._conn.execute(
            select(operation_approvals)
            .where(operation_approvals.c.operation_id == row["operation_id"])
            .order_by(operation_approvals.c.approved_at)
        ).mappings()
        return PendingOperation(
            operation_id=row["operation_id"],
            kind=row["kind"],
            summary=row["summary"],
            payload_json=row["payload"],
            requested_by=row["requested_by"],
            requested_at=row["requested_at"],
            expires_at=row["expires_at"],
            approvals_required=row["approvals_required"],
            state=OperationState(row["state"]),
            approvals=tuple(Approval(a["approver"], a["approved_at"]) for a in approvals),
            finished_at=row["finished_at"],
            result=row["result"],
        )
