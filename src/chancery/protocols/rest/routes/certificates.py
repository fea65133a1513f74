"""Certificates of a CA: issue, show/download, list, revoke, release hold, renew, re-key."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from starlette.routing import Route

from chancery.domain.exports import ExportFormat
from chancery.domain.names import CAName
from chancery.domain.queries import CertificateFilter, PageRequest
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.errors import Malformed
from chancery.protocols._common import pem_or_base64_der
from chancery.protocols.rest.deps import BEARER_SECURITY, PrincipalDep, RestServices, ServicesDep, authenticate
from chancery.protocols.rest.problems import parse_body
from chancery.protocols.rest.representations import JSON, binary, negotiate
from chancery.protocols.rest.schemas import (
    CertificateCreate,
    CertificateGenerate,
    CertificatePage,
    CertificatePublic,
    CertificateQuery,
    GeneratedPublic,
    IssuedPublic,
    RekeyCreate,
    RenewalCreate,
    RevocationCreate,
    issued_json,
)
from chancery.services.authority.cycle import Issued
from chancery.services.authority.issuance import IssueFromCsr, IssueWithNewKey
from chancery.services.certificates import ExportRequest, RevokeRequest

router = APIRouter(tags=["certificates"])


def _issued(issued: Issued, services: ServicesDep) -> IssuedPublic:
    return IssuedPublic.of(issued, services.clock.now())


@router.post(
    "/cas/{ca}/certificates",
    status_code=201,
    response_model=IssuedPublic,
    openapi_extra={
        **BEARER_SECURITY,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CertificateCreate.model_json_schema()}},
        },
    },
)
async def issue_certificate(ca: str, request: Request) -> Response:
    """Issue a certificate from a CSR under a profile (body: ``CertificateCreate``).

    The response is sent only after the certificate is durably stored (DESIGN.md
    invariant 1). This is the hot path: it authenticates and parses by hand
    instead of through dependencies, with the same rules and errors, and is
    served by a plain Starlette route (:func:`hot_routes`).
    """
    services: RestServices = request.app.state.services
    principal = authenticate(request, services)
    body = parse_body(CertificateCreate, await request.body())
    issue = IssueFromCsr(
        ca=ca,
        profile=body.profile,
        csr=pem_or_base64_der(body.csr, "csr"),
        validity_days=body.validity_days,
        path_length=body.path_length,
    )
    issued = await services.issuance.issue_from_csr_async(principal, issue)
    return Response(issued_json(issued, services.clock.now()), status_code=201, media_type="application/json")


async def _serve_issue(request: Request) -> Response:
    return await issue_certificate(request.path_params["ca"], request)


def hot_routes(prefix: str) -> list[Route]:
    """Plain Starlette routes for the hottest endpoints, mounted ahead of FastAPI's.

    FastAPI's own routing and dependency machinery costs about as much CPU as
    signing the certificate. The FastAPI registration above stays: it documents
    the endpoint in the OpenAPI document, and both registrations call the same
    function, so there is one implementation.
    """
    return [Route(f"{prefix}/cas/{{ca}}/certificates", _serve_issue, methods=["POST"])]


@router.post("/cas/{ca}/certificates/generate", status_code=201, response_model=GeneratedPublic)
def generate_certificate(
    ca: str, body: CertificateGenerate, principal: PrincipalDep, services: ServicesDep
) -> GeneratedPublic:
    """Generate the key on the CA side; the PKCS#12 (key, certificate, chain) comes back once."""
    request = IssueWithNewKey(
        ca=ca,
        profile=body.profile,
        subject=body.subject,
        key_type=body.key_type,
        password=body.password,
        sans=tuple(body.sans),
        validity_days=body.validity_days,
    )
    result = services.issuance.issue_with_new_key(principal, request)
    issued = _issued(result.issued, services)
    return GeneratedPublic(**issued.model_dump(), pkcs12=base64.b64encode(result.pkcs12).decode("ascii"))


@router.get("/cas/{ca}/certificates", response_model=CertificatePage)
def list_certificates(
    ca: str, query: Annotated[CertificateQuery, Query()], principal: PrincipalDep, services: ServicesDep
) -> CertificatePage:
    """Certificates of a CA, filtered, ``limit`` at a time; follow ``next_cursor`` for more."""
    return _search(services, principal, query.model_copy(update={"ca": ca}))


@router.get("/certificates", response_model=CertificatePage)
def search_certificates(
    query: Annotated[CertificateQuery, Query()], principal: PrincipalDep, services: ServicesDep
) -> CertificatePage:
    """Certificates of every CA (or of ``ca``), filtered, with cursor pagination."""
    return _search(services, principal, query)


def _search(services: ServicesDep, principal: PrincipalDep, query: CertificateQuery) -> CertificatePage:
    days = query.expiring_within_days
    search = CertificateFilter(
        ca_name=CAName(query.ca) if query.ca else None,
        status=query.status,
        subject_contains=query.subject,
        san_contains=query.san,
        profile=query.profile,
        expiring_within=dt.timedelta(days=days) if days is not None else None,
    )
    page = services.certificates.search(principal, search, PageRequest(limit=query.limit, cursor=query.cursor))
    now = services.clock.now()
    return CertificatePage(items=[CertificatePublic.of(r, now) for r in page.items], next_cursor=page.next_cursor)


@router.get(
    "/cas/{ca}/certificates/{serial}",
    response_model=CertificatePublic,
    responses={200: {"content": {m: {} for m in ("application/pem-certificate-chain", "application/pkix-cert")}}},
)
def get_certificate(
    ca: str,
    serial: str,
    principal: PrincipalDep,
    services: ServicesDep,
    format: Annotated[str | None, Query(max_length=8)] = None,  # noqa: A002 - the wire name
    chain: bool = False,
    accept: Annotated[str | None, Header()] = None,
) -> Response | CertificatePublic:
    """The certificate as JSON (default), PEM, DER or PKCS#7, by ``?format=`` or ``Accept``."""
    number = SerialNumber.from_hex(serial)
    choice = negotiate(format, accept, default=JSON)
    if choice == JSON:
        return CertificatePublic.of(services.certificates.get(principal, ca, number), services.clock.now())
    fmt = ExportFormat(choice)
    if fmt is ExportFormat.P12:
        raise Malformed("PKCS#12 is not downloadable here")
    content = services.certificates.export(
        principal, ExportRequest(ca=ca, serial=number, format=fmt, include_chain=chain and fmt is ExportFormat.PEM)
    )
    return binary(content, fmt, number.hex)


@router.post("/cas/{ca}/certificates/{serial}/revoke", response_model=CertificatePublic)
def revoke_certificate(
    ca: str, serial: str, principal: PrincipalDep, services: ServicesDep, body: RevocationCreate | None = None
) -> CertificatePublic:
    """Revoke with an RFC 5280 reason (default ``unspecified``); ``certificateHold`` can be released."""
    body = body or RevocationCreate()
    request = RevokeRequest(
        ca=ca,
        serial=SerialNumber.from_hex(serial),
        reason=RevocationReason.parse(body.reason),
        invalidity_date=body.invalidity_date,
    )
    return CertificatePublic.of(services.certificates.revoke(principal, request), services.clock.now())


@router.post("/cas/{ca}/certificates/{serial}/release-hold", response_model=CertificatePublic)
def release_hold(ca: str, serial: str, principal: PrincipalDep, services: ServicesDep) -> CertificatePublic:
    """Take a certificate off hold."""
    record = services.certificates.release_hold(principal, ca, SerialNumber.from_hex(serial))
    return CertificatePublic.of(record, services.clock.now())


@router.post("/cas/{ca}/certificates/{serial}/renew", status_code=201, response_model=IssuedPublic)
def renew_certificate(
    ca: str, serial: str, principal: PrincipalDep, services: ServicesDep, body: RenewalCreate | None = None
) -> IssuedPublic:
    """A new certificate for the same key and names."""
    days = body.validity_days if body else None
    return _issued(services.issuance.renew(principal, ca, SerialNumber.from_hex(serial), days), services)


@router.post("/cas/{ca}/certificates/{serial}/rekey", status_code=201, response_model=IssuedPublic)
def rekey_certificate(
    ca: str, serial: str, body: RekeyCreate, principal: PrincipalDep, services: ServicesDep
) -> IssuedPublic:
    """A new certificate for a new key (from the CSR), same subject and names."""
    issued = services.issuance.rekey(
        principal, ca, SerialNumber.from_hex(serial), pem_or_base64_der(body.csr, "csr"), body.validity_days
    )
    return _issued(issued, services)
