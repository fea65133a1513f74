"""CRLs over HTTP (RFC 5280 §4.2.1.13 distribution points): public, cacheable, DER or PEM.

``/crl/{ca}.crl`` (full), ``/crl/{ca}-delta.crl`` (delta), ``/crl/{ca}/{partition}.crl``.
"""

from __future__ import annotations

import base64
import hashlib
from email.utils import format_datetime
from typing import Annotated, Protocol

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from chancery.clock import Clock
from chancery.domain.revocation_records import CrlRecord, CrlScope
from chancery.errors import Malformed, NotFound
from chancery.services.revocation.crls import CrlPublisher

router = APIRouter(tags=["crl"])
DER_TYPE = "application/pkix-crl"


class CrlServices(Protocol):
    clock: Clock
    crls: CrlPublisher


@router.get("/crl/{name}", response_class=Response, responses={200: {"content": {DER_TYPE: {}}}})
def full_or_delta(
    name: str,
    request: Request,
    format: Annotated[str, Query(pattern="^(der|pem)$")] = "der",  # noqa: A002 - the wire name
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """``{ca}.crl``: the full CRL; ``{ca}-delta.crl``: the newest delta CRL (RFC 5280 §5.2.4)."""
    if not name.endswith(".crl"):
        raise NotFound("CRLs are named {ca}.crl or {ca}-delta.crl")
    stem = name.removesuffix(".crl")
    scope = CrlScope.DELTA if stem.endswith("-delta") else CrlScope.FULL
    ca = stem.removesuffix("-delta")
    services: CrlServices = request.app.state.services
    return _respond(services.crls.current(ca, scope), services.clock, format, if_none_match)


@router.get("/crl/{ca}/{partition}.crl", response_class=Response, responses={200: {"content": {DER_TYPE: {}}}})
def partition(
    ca: str,
    partition: str,
    request: Request,
    format: Annotated[str, Query(pattern="^(der|pem)$")] = "der",  # noqa: A002
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """One partition of a partitioned CA's CRL (its issuingDistributionPoint names this URL)."""
    if not partition.isdigit() or len(partition) > 4:
        raise Malformed("the partition is a number")
    services: CrlServices = request.app.state.services
    record = services.crls.current(ca, CrlScope.PARTITION, int(partition))
    return _respond(record, services.clock, format, if_none_match)


def _respond(record: CrlRecord, clock: Clock, fmt: str, if_none_match: str | None) -> Response:
    body = record.der if fmt == "der" else _pem(record.der)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    max_age = max(0, int((record.next_update - clock.now()).total_seconds()))
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(record.this_update, usegmt=True),
        "Expires": format_datetime(record.next_update, usegmt=True),
        "Cache-Control": f"public, max-age={max_age}, no-transform",
    }
    if if_none_match is not None and etag in [tag.strip() for tag in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    media_type = DER_TYPE if fmt == "der" else "application/x-pem-file"
    return Response(body, media_type=media_type, headers=headers)


def _pem(der: bytes) -> bytes:
    text = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return ("-----BEGIN X509 CRL-----\n" + "\n".join(lines) + "\n-----END X509 CRL-----\n").encode("ascii")
