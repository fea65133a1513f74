"""The audit log over REST, for auditors: search with filters, page backwards, verify the chain."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel

from chancery.domain.audit import AuditRecord
from chancery.domain.queries import AuditFilter
from chancery.protocols.rest.deps import PrincipalDep, ServicesDep
from chancery.services.audit.service import MAX_PAGE

router = APIRouter(tags=["audit"])


class AuditEntryPublic(BaseModel):
    sequence: int
    occurred_at: dt.datetime
    action: str
    actor: str
    outcome: str
    ca: str | None
    target: str | None
    details: dict[str, Any]
    previous_hash: str
    entry_hash: str

    @classmethod
    def of(cls, record: AuditRecord) -> AuditEntryPublic:
        return cls(
            sequence=record.sequence,
            occurred_at=record.occurred_at,
            action=record.action,
            actor=record.actor,
            outcome=record.outcome,
            ca=record.ca,
            target=record.target,
            details=record.details,
            previous_hash=record.previous_hash,
            entry_hash=record.entry_hash,
        )


class AuditPage(BaseModel):
    entries: list[AuditEntryPublic]
    next_before: int | None = None  # pass as ``before`` for the next (older) page


class AuditVerificationPublic(BaseModel):
    intact: bool
    entries: int
    checkpoints: int
    first_bad: int | None
    problem: str
    newest: int
    newest_signed: int


_Text = Annotated[str | None, Query(max_length=128)]


@router.get("/audit", response_model=AuditPage)
def search_audit(
    principal: PrincipalDep,
    services: ServicesDep,
    action: Annotated[str | None, Query(max_length=64, description="prefix, e.g. `login` or `certificate.`")] = None,
    actor: _Text = None,
    ca: Annotated[str | None, Query(max_length=64)] = None,
    target: _Text = None,
    since: Annotated[AwareDatetime | None, Query(description="with a time zone, e.g. 2025-01-31T00:00:00Z")] = None,
    until: Annotated[AwareDatetime | None, Query(description="with a time zone; entries before it")] = None,
    before: Annotated[int | None, Query(ge=1, description="sequence number: entries older than it")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> AuditPage:
    """Entries newest first, every given filter matching (auditor, or administrator)."""
    query = AuditFilter(action=action, actor=actor, ca=ca, target=target, since=since, until=until, before=before)
    records = services.audit.search(principal, query, limit)
    entries = [AuditEntryPublic.of(r) for r in records]
    more = len(records) == limit and records[-1].sequence > 1
    return AuditPage(entries=entries, next_before=records[-1].sequence if more else None)


@router.get("/audit/verification", response_model=AuditVerificationPublic)
def verify_audit(principal: PrincipalDep, services: ServicesDep) -> AuditVerificationPublic:
    """Check the whole hash chain and every signed checkpoint, as `chancery audit verify` does."""
    report = services.audit.verify(principal)
    return AuditVerificationPublic(
        intact=report.intact,
        entries=report.entries,
        checkpoints=report.checkpoints,
        first_bad=report.first_bad,
        problem=report.problem,
        newest=report.newest,
        newest_signed=report.newest_signed,
    )
