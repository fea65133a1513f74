"""The EMV payment CA over REST: scheme CA keys, issuer keys and certificates, ICC certificates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from chancery.domain.emv_records import EmvCaRecord, EmvIssuerRecord
from chancery.emv.fields import parse_hex
from chancery.emv.rsa import EmvPublicKey, parse_exponent
from chancery.protocols.rest.deps import PrincipalDep, ServicesDep
from chancery.services.emv.service import IccRequest, NewEmvCa, NewIssuer, certification_document

router = APIRouter(prefix="/emv", tags=["emv"])
_STRICT = ConfigDict(extra="forbid")
_Hex = Annotated[str, Field(max_length=4096, pattern=r"^[0-9A-Fa-f]*$")]
MAX_CARDS = 1000


class EmvCaCreate(BaseModel):
    model_config = _STRICT
    name: str = Field(max_length=64)
    rid: str = Field(min_length=10, max_length=10, description="10 hex digits")
    index: str = Field(min_length=2, max_length=2, description="2 hex digits (tag 8F)")
    bits: int = Field(ge=1024, le=1984)
    exponent: int = 3


class EmvCaPublic(BaseModel):
    name: str
    rid: str
    index: str
    bits: int
    public_key: dict[str, str]  # {"rid", "index", "modulus", "exponent", "check_value"}


class IssuerCreate(BaseModel):
    model_config = _STRICT
    name: str = Field(max_length=64)
    bin: str = Field(min_length=3, max_length=8, pattern=r"^[0-9]+$")
    bits: int = Field(ge=1024, le=1984)
    exponent: int = 3


class Certify(BaseModel):
    model_config = _STRICT
    ca: str = Field(max_length=64)
    expiry: str = Field(min_length=4, max_length=4, description="MMYY")


class IssuerPublic(BaseModel):
    name: str
    bin: str
    bits: int
    modulus: str
    exponent: int
    certification: dict[str, Any] | None


class CardKey(BaseModel):
    model_config = _STRICT
    modulus: _Hex
    exponent: _Hex = "03"


class Card(BaseModel):
    model_config = _STRICT
    pan: str = Field(min_length=12, max_length=19, pattern=r"^[0-9]+$")
    expiry: str = Field(min_length=4, max_length=4)
    icc_public_key: CardKey
    static_data: _Hex = ""

    def request(self) -> IccRequest:
        modulus = parse_hex(self.icc_public_key.modulus, "modulus", max_bytes=248)
        exponent = parse_exponent(parse_hex(self.icc_public_key.exponent, "exponent", max_bytes=3))
        static_data = parse_hex(self.static_data, "static_data", max_bytes=2048)
        return IccRequest(self.pan, self.expiry, EmvPublicKey(modulus, exponent), static_data)


class Cards(BaseModel):
    model_config = _STRICT
    cards: list[Card] = Field(min_length=1, max_length=MAX_CARDS)


def _ca_public(services: Any, principal: Any, record: EmvCaRecord) -> EmvCaPublic:
    capk = services.emv.ca_public_key(principal, record.name)
    return EmvCaPublic(
        name=record.name, rid=record.rid, index=f"{record.index:02X}", bits=record.modulus.bit_length(),
        public_key=capk.to_json(),
    )  # fmt: skip


def _issuer_public(record: EmvIssuerRecord) -> IssuerPublic:
    return IssuerPublic(
        name=record.name,
        bin=record.issuer_identifier,
        bits=record.modulus.bit_length(),
        modulus=format(record.modulus, "X"),
        exponent=record.exponent,
        certification=None if record.certification is None else certification_document(record.certification),
    )


@router.post("/cas", status_code=201, response_model=EmvCaPublic)
def create_ca(body: EmvCaCreate, principal: PrincipalDep, services: ServicesDep) -> EmvCaPublic:
    """A scheme CA key in the key store (dual control: 202 and an operation when on)."""
    index = parse_hex(body.index, "index", max_bytes=1)[0]
    record = services.emv.create_ca(principal, NewEmvCa(body.name, body.rid, index, body.bits, body.exponent))
    return _ca_public(services, principal, record)


@router.get("/cas", response_model=list[EmvCaPublic])
def list_cas(principal: PrincipalDep, services: ServicesDep) -> list[EmvCaPublic]:
    return [_ca_public(services, principal, r) for r in services.emv.list_cas(principal)]


@router.get("/cas/{name}", response_model=EmvCaPublic)
def get_ca(name: str, principal: PrincipalDep, services: ServicesDep) -> EmvCaPublic:
    capk = services.emv.ca_public_key(principal, name[:64])
    document = capk.to_json()
    return EmvCaPublic(
        name=name, rid=document["rid"], index=document["index"], bits=8 * capk.key.length, public_key=document
    )


@router.post("/issuers", status_code=201, response_model=IssuerPublic)
def create_issuer(body: IssuerCreate, principal: PrincipalDep, services: ServicesDep) -> IssuerPublic:
    record = services.emv.create_issuer(principal, NewIssuer(body.name, body.bin, body.bits, body.exponent))
    return _issuer_public(record)


@router.get("/issuers/{name}", response_model=IssuerPublic)
def get_issuer(name: str, principal: PrincipalDep, services: ServicesDep) -> IssuerPublic:
    return _issuer_public(services.emv.issuer(principal, name[:64]))


@router.post("/issuers/{name}/certification", response_model=dict[str, Any])
def certify_issuer(name: str, body: Certify, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    """The scheme CA ``ca`` signs the issuer's key: tags 90, 92, 9F32 and 8F (hex) and their BER-TLV."""
    return certification_document(services.emv.certify_issuer(principal, name[:64], body.ca, body.expiry))


@router.post("/issuers/{name}/icc-certificates", response_model=list[dict[str, str]])
def issue_icc(name: str, body: Cards, principal: PrincipalDep, services: ServicesDep) -> list[dict[str, str]]:
    """ICC public key certificates for up to 1,000 cards, all or none: tags 9F46, 9F48, 9F47 (hex)."""
    requests = [card.request() for card in body.cards]
    issued = services.emv.issue_icc_batch(principal, name[:64], requests)
    return [{"pan_5A": r.pan, **c.to_json()} for r, c in zip(requests, issued, strict=True)]
