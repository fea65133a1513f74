"""SCEP administration over REST: which RAs answer SCEP, and one-time challenges for MDM systems.

An MDM server holding a token with ``ra-officer`` on the RA asks for a challenge per device and
puts it in the device's SCEP payload; the challenge is shown once and works once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from chancery.domain.scep import ScepService, parse_ttl
from chancery.protocols.rest.deps import PrincipalDep, ServicesDep
from chancery.services.scep.challenges import NewChallenges

router = APIRouter(tags=["scep"])
_Ra = Annotated[str, Path(max_length=64)]


class ScepServicePublic(BaseModel):
    ra: str
    profile: str
    default: bool
    url: str
    ra_certificate_sha256: str
    ra_certificate_not_after: dt.datetime
    accepts_3des: bool
    accepts_des: bool
    next_ca: str | None = None

    @classmethod
    def of(cls, service: ScepService) -> ScepServicePublic:
        certificate = x509.load_der_x509_certificate(service.certificate)
        return cls(
            ra=service.ra,
            profile=service.profile,
            default=service.is_default,
            url=f"/scep/{service.ra}",
            ra_certificate_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
            ra_certificate_not_after=certificate.not_valid_after_utc,
            accepts_3des=service.allow_3des,
            accepts_des=service.allow_des,
            next_ca=service.next_ca,
        )


class ScepServiceList(BaseModel):
    items: list[ScepServicePublic]


class ChallengeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl: str = Field("1h", max_length=8, description="Lifetime: 90s, 15m, 1h, 7d (at most 30d).")
    count: int = Field(1, ge=1, le=10_000)
    subject: str | None = Field(None, max_length=256, description="A pattern the subject must match: CN=printer-*")


class ChallengesIssued(BaseModel):
    challenges: list[str]
    expires_at: dt.datetime


@router.get("/scep", response_model=ScepServiceList)
def list_services(principal: PrincipalDep, services: ServicesDep) -> ScepServiceList:
    """The RAs that answer SCEP (any authenticated caller; the RA certificates are public anyway)."""
    del principal
    return ScepServiceList(items=[ScepServicePublic.of(s) for s in services.scep.list()])


@router.post("/scep/{ra}/challenges", status_code=201, response_model=ChallengesIssued)
def create_challenges(
    ra: _Ra, body: ChallengeCreate, principal: PrincipalDep, services: ServicesDep
) -> ChallengesIssued:
    """One-time challenges for SCEP enrollment at RA ``ra`` (for ``ra-officer`` of the RA: a challenge
    pre-authorises one device). Shown once; stored as SHA-256 digests."""
    new = NewChallenges(ra=ra, ttl=parse_ttl(body.ttl), count=body.count, subject=body.subject)
    issued = services.scep_challenges.create(principal, new)
    return ChallengesIssued(challenges=list(issued.challenges), expires_at=issued.expires_at)
