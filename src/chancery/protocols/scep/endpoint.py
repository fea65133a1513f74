"""The SCEP HTTP binding (RFC 8894 §4.1): ``GET|POST /scep[/{ra}]?operation=...``.

GetCACaps, GetCACert, GetNextCACert and PKIOperation (by POST with the DER body, or by
GET with the base64 message in the query). A message that can be answered in CMS gets a
CertRep (FAILURE with a failInfo when refused); one too broken for that gets HTTP 400 with a
one-line plain-text reason, as SCEP has no other error form.
"""

from __future__ import annotations

import base64
import binascii
from typing import Protocol

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from chancery.errors import CAError, Malformed
from chancery.protocols._common import HIDDEN_KINDS, STATUS_BY_KIND
from chancery.services.scep.enrollment import ScepEnrollment
from chancery.services.scep.publication import ScepPublication

router = APIRouter(tags=["scep"], include_in_schema=False)
PKI_MESSAGE = "application/x-pki-message"
MAX_GET_MESSAGE = 512 * 1024  # base64 characters in a GET PKIOperation's query


class ScepServices(Protocol):
    scep_publication: ScepPublication
    scep_enrollment: ScepEnrollment


@router.api_route("/scep", methods=["GET", "POST"])
async def default_ra(request: Request) -> Response:
    return await _answer(request, None)


@router.api_route("/scep/{ra}", methods=["GET", "POST"])
async def named_ra(ra: str, request: Request) -> Response:
    return await _answer(request, ra)


async def _answer(request: Request, ra: str | None) -> Response:
    services: ScepServices = request.app.state.services
    operation = request.query_params.get("operation", "")
    try:
        if operation == "PKIOperation":
            body = await _message(request)
            source = request.client.host if request.client else ""
            answer = await run_in_threadpool(services.scep_enrollment.operation, ra, body, source)
            return Response(answer, media_type=PKI_MESSAGE)
        if request.method != "GET":
            return _plain(405, f"{operation or 'this operation'} is a GET")
        return await run_in_threadpool(_publication, services.scep_publication, operation, ra)
    except CAError as error:
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        detail = "the server cannot answer now" if error.kind in HIDDEN_KINDS else error.detail
        return _plain(STATUS_BY_KIND[error.kind], detail, headers)


def _publication(publication: ScepPublication, operation: str, ra: str | None) -> Response:
    if operation == "GetCACaps":
        return Response(publication.capabilities(ra), media_type="text/plain")
    if operation == "GetCACert":
        published = publication.ca_certificates(ra)
        return Response(published.body, media_type=published.content_type)
    if operation == "GetNextCACert":
        published = publication.next_ca_certificates(ra)
        return Response(published.body, media_type=published.content_type)
    return _plain(400, "unknown operation: use GetCACaps, GetCACert, GetNextCACert or PKIOperation")


async def _message(request: Request) -> bytes:
    if request.method == "POST":
        return await request.body()
    encoded = request.query_params.get("message", "")
    if not encoded or len(encoded) > MAX_GET_MESSAGE:
        raise Malformed("PKIOperation by GET carries the base64 message in ?message=")
    try:
        return base64.b64decode(encoded.replace(" ", "+").replace("\n", ""), validate=False)
    except (binascii.Error, ValueError):
        raise Malformed("the message is not base64") from None


def _plain(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(text.replace("\n", " ")[:500] + "\n", status_code=status, media_type="text/plain", headers=headers)
