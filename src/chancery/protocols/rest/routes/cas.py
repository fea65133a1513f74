"""CAs: list, show, create an intermediate under a local parent, export the chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from chancery.domain.exports import ExportFormat
from chancery.domain.keystores import KeyLocation
from chancery.errors import Malformed
from chancery.protocols.rest.deps import PrincipalDep, ServicesDep
from chancery.protocols.rest.representations import JSON, binary, negotiate
from chancery.protocols.rest.schemas import CACreate, CAList, CAPublic
from chancery.services.authority.hierarchy import NewCA

router = APIRouter(tags=["cas"])


@router.get("/cas", response_model=CAList)
def list_cas(principal: PrincipalDep, services: ServicesDep) -> CAList:
    return CAList(items=[CAPublic.of(r) for r in services.hierarchy.list(principal)])


@router.post("/cas", status_code=201, response_model=CAPublic)
def create_intermediate(body: CACreate, principal: PrincipalDep, services: ServicesDep) -> CAPublic:
    """Create an intermediate CA signed by a CA of this installation (roots are made with the CLI)."""
    new = NewCA(
        name=body.name,
        subject=body.subject,
        key_type=body.key_type,
        validity_days=body.validity_days,
        path_length=body.path_length,
        parent=body.parent,
        key_store=(KeyLocation.PKCS11 if body.existing_key_label else body.key_store).value,
        existing_key_label=body.existing_key_label,
    )
    return CAPublic.of(services.hierarchy.create_intermediate(principal, new))


@router.get("/cas/{ca}", response_model=CAPublic)
def get_ca(ca: str, principal: PrincipalDep, services: ServicesDep) -> CAPublic:
    return CAPublic.of(services.hierarchy.get(principal, ca))


class Retirement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


@router.post("/cas/{ca}/retirement", response_model=CAPublic)
def retire_ca(ca: str, body: Retirement, principal: PrincipalDep, services: ServicesDep) -> CAPublic:
    """Stop the CA from issuing, for good (CRLs and OCSP continue). A sensitive operation:
    202 and an operation to approve under dual control."""
    return CAPublic.of(services.hierarchy.retire(principal, ca, body.reason))


@router.get("/cas/{ca}/chain", responses={200: {"content": {"application/pem-certificate-chain": {}}}})
def export_chain(
    ca: str,
    principal: PrincipalDep,
    services: ServicesDep,
    format: Annotated[str | None, Query(max_length=8)] = None,  # noqa: A002 - the wire name
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """The CA certificate and its parents up to the root: PEM (default), PKCS#7, or DER (CA only)."""
    choice = negotiate(format, accept, default=ExportFormat.PEM)
    if choice == JSON:
        raise Malformed("the chain is served as pem, der or p7b")
    fmt = ExportFormat(choice)
    content = services.hierarchy.export(principal, ca, fmt, include_chain=fmt is not ExportFormat.DER)
    return binary(content, fmt, f"{ca}-chain")
