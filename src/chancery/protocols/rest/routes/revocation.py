"""Revocation administration over REST: bulk revocation, CRL publication, per-CA settings."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from chancery.domain.names import CAName
from chancery.domain.queries import RevocationFilter
from chancery.domain.revocation import RevocationReason
from chancery.domain.revocation_records import CrlRecord, OcspSigning, RevocationSettings
from chancery.protocols.rest.deps import PrincipalDep, ServicesDep

router = APIRouter(tags=["revocation"])
_STRICT = ConfigDict(extra="forbid")


class BulkRevocationCreate(BaseModel):
    """Revoke every valid or held certificate of the CA that matches all filters given."""

    model_config = _STRICT
    reason: str = Field(default="unspecified", max_length=40)
    profile: str | None = Field(default=None, max_length=64)
    issued_after: dt.datetime | None = None
    issued_before: dt.datetime | None = None
    public_key_sha256: str | None = Field(default=None, min_length=64, max_length=64)
    dry_run: bool = False


class BulkRevocationPublic(BaseModel):
    matched: int
    revoked: int


class CrlPublic(BaseModel):
    scope: str
    partition: int | None
    crl_number: str
    this_update: dt.datetime
    next_update: dt.datetime

    @classmethod
    def of(cls, record: CrlRecord) -> CrlPublic:
        return cls(
            scope=record.scope.value,
            partition=record.partition if record.partition >= 0 else None,
            crl_number=str(record.crl_number),
            this_update=record.this_update,
            next_update=record.next_update,
        )


class PublishedPublic(BaseModel):
    full: CrlPublic
    delta: CrlPublic
    partitions: list[CrlPublic]


class RevocationSettingsBody(BaseModel):
    """Seconds; see the README's revocation section."""

    model_config = _STRICT
    crl_validity: int = 7 * 86400
    delta_validity: int = 86400
    partitions: int = 0
    ocsp_validity: int = 86400
    ocsp_signing: OcspSigning = OcspSigning.RESPONDER


@router.post("/cas/{ca}/revocations", response_model=BulkRevocationPublic)
def revoke_bulk(
    ca: str, body: BulkRevocationCreate, principal: PrincipalDep, services: ServicesDep
) -> BulkRevocationPublic:
    """Bulk revocation (after a key compromise, a retired profile...); ``dry_run`` only counts."""
    query = RevocationFilter(
        ca_name=CAName(ca),
        profile=body.profile,
        issued_after=body.issued_after,
        issued_before=body.issued_before,
        public_key_sha256=body.public_key_sha256.lower() if body.public_key_sha256 else None,
    )
    result = services.bulk_revocation.revoke(
        principal, query, RevocationReason.parse(body.reason), dry_run=body.dry_run
    )
    return BulkRevocationPublic(matched=result.matched, revoked=result.revoked)


@router.post("/cas/{ca}/crls", response_model=PublishedPublic, status_code=201)
def publish_crls(ca: str, principal: PrincipalDep, services: ServicesDep) -> PublishedPublic:
    """Publish a new full CRL, its partitions and a delta CRL now."""
    published = services.crls.publish(principal, ca)
    return PublishedPublic(
        full=CrlPublic.of(published.full),
        delta=CrlPublic.of(published.delta),
        partitions=[CrlPublic.of(p) for p in published.partitions],
    )


@router.get("/cas/{ca}/revocation-settings", response_model=RevocationSettingsBody)
def get_settings(ca: str, principal: PrincipalDep, services: ServicesDep) -> RevocationSettingsBody:
    settings = services.revocation_settings.get(principal, ca)
    return RevocationSettingsBody(**{k: v for k, v in vars(settings).items() if k != "ca_name"})


@router.put("/cas/{ca}/revocation-settings", response_model=RevocationSettingsBody)
def put_settings(
    ca: str, body: RevocationSettingsBody, principal: PrincipalDep, services: ServicesDep
) -> RevocationSettingsBody:
    """Partitions can grow but never shrink (certificates name their partition)."""
    services.revocation_settings.configure(principal, RevocationSettings(ca_name=ca, **body.model_dump()))
    return body
