"""Dual control over REST: the operations waiting for other administrators, approving and rejecting them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from chancery.domain.approvals import OperationState, PendingOperation
from chancery.protocols.rest.deps import PrincipalDep, ServicesDep

router = APIRouter(tags=["dual control"])


class ApprovalPublic(BaseModel):
    approver: str
    approved_at: dt.datetime


class OperationPublic(BaseModel):
    id: str
    kind: str
    summary: str
    state: OperationState
    requested_by: str
    requested_at: dt.datetime
    expires_at: dt.datetime
    approvals_required: int
    approvals: list[ApprovalPublic]
    finished_at: dt.datetime | None
    result: str
    payload: dict[str, Any]

    @classmethod
    def of(cls, o: PendingOperation) -> OperationPublic:
        return cls(
            id=o.operation_id,
            kind=o.kind,
            summary=o.summary,
            state=o.state,
            requested_by=o.requested_by,
            requested_at=o.requested_at,
            expires_at=o.expires_at,
            approvals_required=o.approvals_required,
            approvals=[ApprovalPublic(approver=a.approver, approved_at=a.approved_at) for a in o.approvals],
            finished_at=o.finished_at,
            result=o.result,
            payload=o.payload,
        )


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


_OperationId = Annotated[str, Field(max_length=32)]


@router.get("/operations", response_model=list[OperationPublic])
def list_operations(
    principal: PrincipalDep, services: ServicesDep, state: Annotated[OperationState | None, Query()] = None
) -> list[OperationPublic]:
    """Sensitive operations, newest first (administrators)."""
    return [OperationPublic.of(o) for o in services.dual_control.list(principal, state)]


@router.get("/operations/{operation_id}", response_model=OperationPublic)
def get_operation(operation_id: _OperationId, principal: PrincipalDep, services: ServicesDep) -> OperationPublic:
    return OperationPublic.of(services.dual_control.get(principal, operation_id))


@router.post("/operations/{operation_id}/approval", response_model=OperationPublic)
def approve_operation(operation_id: _OperationId, principal: PrincipalDep, services: ServicesDep) -> OperationPublic:
    """Add your approval; the last one needed runs the operation (`state` tells how it ended).

    The requester cannot approve, nor can one administrator approve twice (403 / 409)."""
    return OperationPublic.of(services.dual_control.approve(principal, operation_id))


@router.post("/operations/{operation_id}/rejection", response_model=OperationPublic)
def reject_operation(
    operation_id: _OperationId, body: Rejection, principal: PrincipalDep, services: ServicesDep
) -> OperationPublic:
    return OperationPublic.of(services.dual_control.reject(principal, operation_id, body.reason))
