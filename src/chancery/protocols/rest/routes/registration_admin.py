"""Registration authorities over REST: which RAs exist (public), creating them and setting their
per-profile approval policies (dual-controlled: 202 with the operation to approve), and the
officers' view of requests: the queue and a lint preview of what the CA would sign.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.registration import RaRecord, RequestState
from chancery.errors import Conflict
from chancery.protocols.rest.deps import OptionalPrincipalDep, PrincipalDep, ServicesDep
from chancery.protocols.rest.guessing import KnownRequestDep
from chancery.protocols.rest.registration_schemas import (
    PolicyCreate,
    RaCreate,
    RaList,
    RaPublic,
    RequestList,
    RequestPublic,
)
from chancery.protocols.rest.routes.profiles import PreviewPublic
from chancery.services.authorization import allows
from chancery.services.registration.authorities import NewRa

router = APIRouter()
_DOCUMENT = {"response_model_exclude_none": True}
_PUBLIC = {"tags": ["registration authorities"], "openapi_extra": {"security": [{}]}, **_DOCUMENT}
_Profile = Annotated[str, Path(max_length=64)]


def _manages(principal: Principal | None, record: RaRecord) -> bool:
    """Whether the caller sees the RA's approver roles, groups and notification addresses."""
    return principal is not None and allows(principal, Permission.RA_MANAGE, record.ca)


@router.get("/ras", response_model=RaList, **_PUBLIC)
def list_ras(principal: OptionalPrincipalDep, services: ServicesDep) -> RaList:
    """Every RA: its CA, its profiles and whether each takes anonymous requests (no login needed)."""
    return RaList(items=[RaPublic.of(r, manager=_manages(principal, r)) for r in services.ras.list()])


@router.get("/ras/{ra}", response_model=RaPublic, **_PUBLIC)
def get_ra(ra: str, principal: OptionalPrincipalDep, services: ServicesDep) -> RaPublic:
    record = services.ras.get(ra)
    return RaPublic.of(record, manager=_manages(principal, record))


@router.post("/ras", status_code=201, response_model=RaPublic, tags=["registration authorities"], **_DOCUMENT)
def create_ra(body: RaCreate, principal: PrincipalDep, services: ServicesDep) -> RaPublic:
    """Create an RA on a CA with one policy for its profiles. A sensitive operation: 202 and an
    operation to approve under dual control."""
    new = NewRa(
        name=body.name,
        ca=body.ca,
        profiles=tuple(body.profiles),
        policy=body.policy.policy(),
        revocation_approvals=body.revocation_approvals,
        description=body.description,
        notify_emails=tuple(body.notify_emails),
    )
    return RaPublic.of(services.ras.create(principal, new), manager=True)


@router.put("/ras/{ra}/profiles/{profile}", response_model=RaPublic, tags=["registration authorities"], **_DOCUMENT)
def set_policy(
    ra: str, profile: _Profile, body: PolicyCreate, principal: PrincipalDep, services: ServicesDep
) -> RaPublic:
    """Take ``profile`` at the RA with this policy, or change its policy (dual-controlled)."""
    return RaPublic.of(services.ras.set_policy(principal, ra, profile, body.policy()), manager=True)


@router.delete("/ras/{ra}/profiles/{profile}", response_model=RaPublic, tags=["registration authorities"], **_DOCUMENT)
def remove_profile(ra: str, profile: _Profile, principal: PrincipalDep, services: ServicesDep) -> RaPublic:
    """Stop taking ``profile`` at the RA (dual-controlled); an RA keeps at least one profile."""
    return RaPublic.of(services.ras.set_policy(principal, ra, profile, None), manager=True)


@router.get("/requests", response_model=RequestList, **_DOCUMENT)
def request_queue(
    principal: PrincipalDep,
    services: ServicesDep,
    state: Annotated[list[RequestState] | None, Query(max_length=8)] = None,
    ra: Annotated[str | None, Query(max_length=63)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> RequestList:
    """The requests you may read (``request:read`` on their RA), newest first: pending by default,
    or the ``state`` values given (repeat the parameter for several)."""
    states = tuple(dict.fromkeys(state)) if state else (RequestState.PENDING,)
    now = services.clock.now()
    found = services.ra_decisions.queue(principal, states, ra, limit)
    return RequestList(items=[RequestPublic.of(r, now, officer=True) for r in found])


@router.get("/requests/{request_id}/preview", response_model=PreviewPublic)
def preview_request(principal: PrincipalDep, known: KnownRequestDep, services: ServicesDep) -> PreviewPublic:
    """What the CA would sign for the request's CSR, unsigned, with every lint finding (officers)."""
    preview = services.ra_decisions.lint_preview(principal, known.request_id)
    if preview is None:
        raise Conflict("the request has no CSR to preview: the CA generates its key or reuses a certificate's")
    return PreviewPublic.of(preview)
