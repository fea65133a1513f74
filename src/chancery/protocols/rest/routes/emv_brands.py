"""The payment brands' issuer key request and response files over REST (hex in JSON)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from chancery.emv.brands import MAX_FILE_BYTES
from chancery.emv.capk import parse_capk_json
from chancery.emv.fields import parse_hex
from chancery.protocols.rest.deps import PrincipalDep, ServicesDep
from chancery.services.emv.requests import BrandFiles, NewIssuerRequest

router = APIRouter(prefix="/emv", tags=["emv"])
_STRICT = ConfigDict(extra="forbid")
_FileHex = Annotated[str, Field(max_length=2 * MAX_FILE_BYTES, pattern=r"^[0-9A-Fa-f]*$")]


class IssuerRequestCreate(BaseModel):
    model_config = _STRICT
    brand: str = Field(max_length=20, description="visa, mastercard, amex or jcb")
    expiry: str = Field(min_length=4, max_length=4, description="MMYY")
    serial: str = Field(default="000001", pattern=r"^[0-9A-Fa-f]{6}$")
    key_index: str = Field(default="", pattern=r"^([0-9A-Fa-f]{6})?$", description="Mastercard: 3 bytes, hex")
    service_identifier: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{8}$", description="Visa: 4 bytes")


class RequestAnswer(BaseModel):
    model_config = _STRICT
    brand: str = Field(max_length=20)
    request: _FileHex


class ResponseImport(BaseModel):
    model_config = _STRICT
    brand: str = Field(max_length=20)
    response: _FileHex
    ca_key: dict[str, str] = Field(description='The scheme CA public key: {"rid", "index", "modulus", "exponent"}')


class FilesPublic(BaseModel):
    files: dict[str, str]  # file name -> content, upper-case hex
    digest: str = ""


def _public(files: BrandFiles) -> FilesPublic:
    return FilesPublic(files={name: data.hex().upper() for name, data in files.files.items()}, digest=files.digest)


@router.post("/issuers/{name}/requests", status_code=201, response_model=FilesPublic)
def create_request(name: str, body: IssuerRequestCreate, principal: PrincipalDep, services: ServicesDep) -> FilesPublic:
    """The issuer's self-signed key request in the brand's layout, and its digest for the out-of-band check."""
    new = NewIssuerRequest(
        issuer=name,
        brand=body.brand,
        expiry=body.expiry,
        serial=bytes.fromhex(body.serial),
        key_index=bytes.fromhex(body.key_index),
        service_identifier=None if body.service_identifier is None else bytes.fromhex(body.service_identifier),
    )
    return _public(services.emv_requests.issuer_request(principal, new))


@router.post("/cas/{name}/answers", response_model=FilesPublic)
def answer_request(name: str, body: RequestAnswer, principal: PrincipalDep, services: ServicesDep) -> FilesPublic:
    """As scheme CA: check an issuer's request and answer it with a certificate in the brand's layout."""
    data = parse_hex(body.request, "request", max_bytes=MAX_FILE_BYTES)
    return _public(services.emv_requests.answer_request(principal, name, body.brand, data))


@router.post("/issuers/{name}/responses", response_model=dict[str, str])
def import_response(name: str, body: ResponseImport, principal: PrincipalDep, services: ServicesDep) -> dict[str, str]:
    """Keep the certificate in a brand's response file once it verifies against the scheme CA key."""
    capk = parse_capk_json(json.dumps(body.ca_key).encode())
    data = parse_hex(body.response, "response", max_bytes=MAX_FILE_BYTES)
    kept = services.emv_requests.import_response(principal, name, body.brand, data, capk)
    return {"rid": kept.ca_rid, "ca_index_8F": f"{kept.ca_index:02X}", "expiry": kept.expiry}
