"""Requests to a registration authority over REST: submit (anonymously where the RA's policy
allows), follow, approve, deny, cancel, download the certificate, collect a generated key.

A request ID is the capability to follow a request, so status, certificate, cancel and key
pickup need no login; with an ``Authorization`` header the token must be valid (401, never
silently anonymous). Unknown IDs are counted per client address (:mod:`..guessing`) and always
answer 404 "no such request". Officers' routes (queue, preview, RA management) are in
:mod:`.registration_admin`, included here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from chancery.domain.exports import ExportFormat
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Principal
from chancery.domain.registration import RequestRecord
from chancery.domain.revocation import RevocationReason
from chancery.errors import NotAcceptable, PermissionDenied, UnsupportedMediaType
from chancery.protocols._common import pem_or_base64_der
from chancery.protocols.rest.deps import (
    OptionalPrincipalDep,
    PrincipalDep,
    RestServices,
    ServicesDep,
    get_optional_principal,
)
from chancery.protocols.rest.guessing import KnownRequestDep
from chancery.protocols.rest.registration_schemas import (
    REQUESTS_PATH,
    ClosingCreate,
    DecisionCreate,
    PickupCreate,
    RenewalCreate,
    RequestCreate,
    RequestPublic,
    RevocationCreate,
    SubmittedPublic,
)
from chancery.protocols.rest.representations import JSON, binary, negotiate
from chancery.protocols.rest.routes import registration_admin
from chancery.services.registration.decisions import Decision
from chancery.services.registration.delivery import Pickup
from chancery.services.registration.intake import (
    CertificateSubmission,
    CsrSubmission,
    KeygenSubmission,
    Submitted,
)

router = APIRouter(tags=["registration"])
router.include_router(registration_admin.router)


async def json_only(request: Request) -> None:
    """Bodies are JSON: any other declared content type is 415 before the body is looked at."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type and media_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")


JSON_BODY = [Depends(json_only)]
MAYBE_LOGGED_IN = [Depends(get_optional_principal)]
_DOCUMENT = {"response_model_exclude_none": True}
# OpenAPI: the bearer token is optional here (an empty security requirement allows none).
ANONYMOUS_OK = {"openapi_extra": {"security": [{}]}}


def present(services: RestServices, principal: Principal | None, record: RequestRecord) -> RequestPublic:
    """The status document as ``principal`` may see it: approvers' names and comments, the
    requester and the contact address only for those who may read the RA's queue (the
    service decides, through ``details``)."""
    if principal is not None:
        try:
            record = services.ra_decisions.details(principal, record.request_id)
        except PermissionDenied:
            pass
        else:
            return RequestPublic.of(record, services.clock.now(), officer=True)
    return RequestPublic.of(record, services.clock.now(), officer=False)


def _submitted(services: RestServices, principal: Principal | None, submitted: Submitted) -> Response:
    view = present(services, principal, submitted.request)
    document = SubmittedPublic(**view.model_dump(), pickup_token=submitted.pickup_token)
    return Response(
        document.model_dump_json(exclude_none=True),
        status_code=201,
        media_type="application/json",
        headers={"Location": f"{REQUESTS_PATH}/{view.id}", "Cache-Control": "no-store"},
    )


@router.post(
    "/ras/{ra}/requests",
    status_code=201,
    response_model=SubmittedPublic,
    dependencies=JSON_BODY,
    **_DOCUMENT,
    **ANONYMOUS_OK,
)
def submit_request(ra: str, body: RequestCreate, principal: OptionalPrincipalDep, services: ServicesDep) -> Response:
    """Submit a CSR, or ask the CA to generate the key (``subject`` instead of ``csr``).

    201 with the request ``id`` (``Location``) and its ``status``: ``pending`` while it waits for
    approval, ``issued`` when the profile needs none. Anonymous where the RA's policy for the
    profile allows it (401 otherwise). A generated key's ``pickup_token`` is shown this once."""
    if body.csr is not None:
        csr = pem_or_base64_der(body.csr, "csr")
        submission = CsrSubmission(ra, body.profile, csr, body.email, body.note)
        return _submitted(services, principal, services.ra_intake.submit_csr(principal, submission))
    keygen = KeygenSubmission(
        ra=ra,
        profile=body.profile,
        subject=body.subject or "",
        key_type=body.key_type or KeyType.EC_P256,
        sans=tuple(body.sans or ()),
        contact_email=body.email,
        note=body.note,
    )
    return _submitted(services, principal, services.ra_intake.submit_keygen(principal, keygen))


@router.post("/ras/{ra}/renewals", status_code=201, response_model=SubmittedPublic, dependencies=JSON_BODY, **_DOCUMENT)
def submit_renewal(ra: str, body: RenewalCreate, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Ask for a new certificate with the same key and names (by whoever requested the
    certificate through this RA's CA, or an officer); approved as the profile's policy says."""
    submission = CertificateSubmission(ra, body.serial, note=body.note)
    return _submitted(services, principal, services.ra_intake.submit_renewal(principal, submission))


@router.post(
    "/ras/{ra}/revocations", status_code=201, response_model=SubmittedPublic, dependencies=JSON_BODY, **_DOCUMENT
)
def submit_revocation(ra: str, body: RevocationCreate, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Ask for a certificate's revocation with an RFC 5280 §5.3.1 reason; carried out at once
    or after the RA's ``revocation_approvals``."""
    submission = CertificateSubmission(ra, body.serial, RevocationReason.parse(body.reason), body.note)
    return _submitted(services, principal, services.ra_intake.submit_revocation(principal, submission))


@router.get("/requests/{request_id}", response_model=RequestPublic, **_DOCUMENT, **ANONYMOUS_OK)
def request_status(principal: OptionalPrincipalDep, known: KnownRequestDep, services: ServicesDep) -> RequestPublic:
    """Where a request stands, for whoever holds its ID."""
    return present(services, principal, known)


@router.post("/requests/{request_id}/approve", response_model=RequestPublic, dependencies=JSON_BODY, **_DOCUMENT)
def approve_request(
    principal: PrincipalDep, known: KnownRequestDep, services: ServicesDep, body: DecisionCreate | None = None
) -> RequestPublic:
    """Add your approval (an officer of the RA who is not the requester, once); the approval that
    completes the count has the certificate issued (``status`` says how it ended). 409 when the
    request is no longer pending or you approved already."""
    decision = Decision(known.request_id, body.comment if body else "")
    return present(services, principal, services.ra_decisions.approve(principal, decision))


@router.post("/requests/{request_id}/deny", response_model=RequestPublic, dependencies=JSON_BODY, **_DOCUMENT)
def deny_request(
    principal: PrincipalDep, known: KnownRequestDep, services: ServicesDep, body: ClosingCreate | None = None
) -> RequestPublic:
    """Refuse a pending request (officers); most policies need a ``reason`` (400 without one)."""
    decision = Decision(known.request_id, body.reason if body else "")
    return present(services, principal, services.ra_decisions.deny(principal, decision))


@router.post(
    "/requests/{request_id}/cancel", response_model=RequestPublic, dependencies=JSON_BODY, **_DOCUMENT, **ANONYMOUS_OK
)
def cancel_request(
    principal: OptionalPrincipalDep, known: KnownRequestDep, services: ServicesDep, body: ClosingCreate | None = None
) -> RequestPublic:
    """Withdraw a pending request: its requester (an anonymous request: whoever holds its ID) or an officer."""
    decision = Decision(known.request_id, body.reason if body else "")
    return present(services, principal, services.ra_decisions.cancel(principal, decision))


@router.get(
    "/requests/{request_id}/certificate",
    dependencies=MAYBE_LOGGED_IN,
    **ANONYMOUS_OK,
    responses={200: {"content": {ExportFormat(f).media_type: {} for f in ("pem", "der", "p7b")}}},
)
def download_certificate(
    known: KnownRequestDep,
    services: ServicesDep,
    format: Annotated[str | None, Query(max_length=8)] = None,  # noqa: A002 - the wire name
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """The issued certificate: PEM with its chain (default), DER (the certificate) or PKCS#7
    (all), by ``?format=`` or ``Accept``. 409 until the request is issued."""
    choice = negotiate(format, accept, default=ExportFormat.PEM)
    if choice == JSON:
        raise NotAcceptable("the certificate is served as pem, der or p7b")
    fmt = ExportFormat(choice)
    return binary(services.ra_delivery.certificate(known.request_id, fmt), fmt, known.request_id)


@router.post(
    "/requests/{request_id}/pkcs12",
    dependencies=[*MAYBE_LOGGED_IN, *JSON_BODY],
    **ANONYMOUS_OK,
    responses={200: {"content": {"application/pkcs12": {}}}},
)
def collect_key(known: KnownRequestDep, body: PickupCreate, services: ServicesDep) -> Response:
    """Server-side key generation: the key, certificate and chain as PKCS#12 under your password,
    once, with the ``pickup_token`` the submission returned (403 for a wrong one, 409 the second
    time: the key is destroyed as it is handed over)."""
    pickup = Pickup(known.request_id, body.pickup_token, body.password)
    response = binary(services.ra_delivery.pickup_pkcs12(pickup), ExportFormat.P12, known.request_id)
    response.headers["Cache-Control"] = "no-store"
    return response
