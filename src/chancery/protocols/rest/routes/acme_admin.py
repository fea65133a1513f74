"""ACME over the operator's REST API: directories, accounts and their orders, deactivating an
account, revoking every certificate it obtained, and EAB keys (the HMAC key is shown once).
Authorisation is the services' (DESIGN.md invariant 9)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from chancery.domain.acme import (
    CHALLENGE_TYPES,
    AccountRecord,
    DirectoryPolicy,
    DirectoryRecord,
    EabKeyRecord,
    OrderRecord,
)
from chancery.domain.revocation import RevocationReason
from chancery.protocols.rest.deps import PrincipalDep
from chancery.services.acme.directories import NewDirectory
from chancery.services.acme.service import AcmeService

router = APIRouter(prefix="/acme", tags=["acme"])


def _acme(request: Request) -> AcmeService:
    service: AcmeService = request.app.state.services.acme
    return service


AcmeDep = Annotated[AcmeService, Depends(_acme)]


class DirectoryCreate(BaseModel):
    name: str = Field(max_length=32)
    ra: str = Field(max_length=64)
    profile: str | None = Field(default=None, max_length=64)
    require_eab: bool = False
    challenges: list[str] = Field(default_factory=lambda: list(CHALLENGE_TYPES), max_length=3)
    identifier_types: list[str] = Field(default_factory=lambda: ["dns", "ip"], max_length=2)
    allow_domains: list[str] = Field(default_factory=list, max_length=100)
    deny_domains: list[str] = Field(default_factory=list, max_length=100)
    wildcards: bool = True
    validity_days: int | None = None
    caa_identities: list[str] = Field(default_factory=list, max_length=10)
    orders_per_hour: int = 300
    certificates_per_domain_week: int = 500
    authz_reuse_days: int = 30


class RevokeAll(BaseModel):
    reason: str = "unspecified"


def _directory(record: DirectoryRecord) -> dict[str, Any]:
    policy = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(record.policy).items()}
    return {
        "name": record.name,
        "ra": record.ra,
        "profile": record.profile,
        "policy": policy,
        "created_at": record.created_at,
    }


def _account(record: AccountRecord) -> dict[str, Any]:
    return {
        "id": record.account_id,
        "directory": record.directory,
        "status": record.status.value,
        "contact": list(record.contact),
        "thumbprint": record.thumbprint,
        "eab_kid": record.eab_kid,
        "created_at": record.created_at,
    }


def _order(record: OrderRecord) -> dict[str, Any]:
    return {
        "id": record.order_id,
        "status": record.status.value,
        "identifiers": [{"type": i.type, "value": i.value} for i in record.identifiers],
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "request_id": record.request_id,
        "ca": record.ca,
        "serial": record.serial,
        "replaces": record.replaces,
    }


def _eab(record: EabKeyRecord) -> dict[str, Any]:
    return {
        "kid": record.kid,
        "directory": record.directory,
        "created_at": record.created_at,
        "created_by": record.created_by,
        "account": record.account_id,
        "revoked_at": record.revoked_at,
    }


@router.get("/directories")
def list_directories(principal: PrincipalDep, acme: AcmeDep) -> dict[str, Any]:
    return {"items": [_directory(d) for d in acme.directories.list(principal)]}


@router.post("/directories", status_code=201)
def create_directory(body: DirectoryCreate, principal: PrincipalDep, acme: AcmeDep) -> dict[str, Any]:
    values = body.model_dump(exclude={"name", "ra", "profile"})
    policy = DirectoryPolicy(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
    return _directory(acme.directories.create(principal, NewDirectory(body.name, body.ra, body.profile, policy)))


@router.get("/directories/{name}")
def show_directory(name: str, principal: PrincipalDep, acme: AcmeDep) -> dict[str, Any]:
    return _directory(acme.directories.show(principal, name))


@router.get("/directories/{name}/accounts")
def list_accounts(name: str, principal: PrincipalDep, acme: AcmeDep) -> dict[str, Any]:
    return {"items": [_account(a) for a in acme.operators.accounts(principal, name)]}


@router.get("/accounts/{account_id}")
def show_account(account_id: str, principal: PrincipalDep, acme: AcmeDep) -> dict[str, Any]:
    return _account(acme.operators.account(principal, account_id))


@router.get("/accounts/{account_id}/orders")
def list_orders(account_id: str, principal: PrincipalDep, acme: AcmeDep) -> dict[str, Any]:
    return {"items": [_order(o) for o in acme.operators.orders(principal, account_id)]}


@router.post("/accounts/{account_id}/deactivate")
def deactivate_account(account_id: str, principal: PrincipalDep, acme: AcmeDep) -> dict[str, Any]:
    return _account(acme.operators.deactivate(principal, account_id))


@router.post("/accounts/{account_id}/revoke-certificates")
def revoke_certificates(account_id: str, body: RevokeAll, principal: PrincipalDep, acme: AcmeDep) -> dict[str, Any]:
    done = acme.operators.revoke_all(principal, account_id, RevocationReason.parse(body.reason))
    return {"revoked": list(done.revoked), "already_revoked": list(done.already)}


@router.post("/directories/{name}/eab-keys", status_code=201)
def create_eab_key(name: str, principal: PrincipalDep, acme: AcmeDep) -> dict[str, Any]:
    """A new external account binding key; ``hmac_key`` (base64url) is shown only here."""
    key = acme.eab.create(principal, name)
    return {"kid": key.kid, "hmac_key": key.hmac_key}


@router.get("/directories/{name}/eab-keys")
def list_eab_keys(name: str, principal: PrincipalDep, acme: AcmeDep) -> dict[str, Any]:
    return {"items": [_eab(k) for k in acme.eab.list(principal, name)]}


@router.post("/eab-keys/{kid}/revoke")
def revoke_eab_key(kid: str, principal: PrincipalDep, acme: AcmeDep) -> dict[str, Any]:
    return _eab(acme.eab.revoke(principal, kid))
