"""Authority Information Access caIssuers (RFC 5280 §4.2.2.1): CA certificates over plain HTTP, DER."""

from __future__ import annotations

from typing import Protocol

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chancery.services.authority.hierarchy import HierarchyService

router = APIRouter(tags=["aia"])


class AiaServices(Protocol):
    hierarchy: HierarchyService


@router.get("/ca/{name}.crt", response_class=Response, responses={200: {"content": {"application/pkix-cert": {}}}})
def ca_certificate(name: str, request: Request) -> Response:
    """The DER certificate named in the caIssuers URL of every certificate the CA issued."""
    services: AiaServices = request.app.state.services
    return Response(
        services.hierarchy.certificate_der(name),
        media_type="application/pkix-cert",
        headers={"Cache-Control": "public, max-age=3600"},
    )
