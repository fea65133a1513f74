"""Dual control: an operation that waits for other administrators' approval."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class OperationState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # the last approval arrived: running (claimed, so it runs exactly once)
    EXECUTED = "executed"
    FAILED = "failed"  # approved, but running it failed (the error is recorded)
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Approval:
    approver: str
    approved_at: dt.datetime


@dataclass(frozen=True)
class PendingOperation:
    operation_id: str
    kind: str  # e.g. "ca.create-root"
    summary: str
    payload_json: str
    requested_by: str
    requested_at: dt.datetime
    expires_at: dt.datetime
    approvals_required: int
    state: OperationState = OperationState.PENDING
    approvals: tuple[Approval, ...] = ()
    finished_at: dt.datetime | None = None
    result: str = ""

    @property
    def payload(self) -> dict[str, Any]:
        value = json.loads(self.payload_json)
        return value if isinstance(value, dict) else {}

    def expired_at(self, now: dt.datetime) -> bool:
        return self.state is OperationState.PENDING and now >= self.expires_at
