"""Dependencies: the services the REST edge uses, and the authenticated principal."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from chancery.clock import Clock
from chancery.domain.principals import Principal
from chancery.errors import Unauthorized
from chancery.services.authority.hierarchy import HierarchyService
from chancery.services.authority.issuance import IssuanceService
from chancery.services.certificates import CertificateService
from chancery.services.profiles.preview import ProfilePreviews
from chancery.services.profiles.service import ProfileService
from chancery.services.revocation.bulk import BulkRevocation
from chancery.services.revocation.crls import CrlPublisher
from chancery.services.revocation.settings import RevocationSettingsService
from chancery.services.tokens import TokenService


class RestServices(Protocol):
    """What the REST edge needs; ``wiring.Application`` satisfies it."""

    clock: Clock
    hierarchy: HierarchyService
    issuance: IssuanceService
    certificates: CertificateService
    tokens: TokenService
    bulk_revocation: BulkRevocation
    crls: CrlPublisher
    revocation_settings: RevocationSettingsService
    profiles: ProfileService
    previews: ProfilePreviews


async def get_services(request: Request) -> RestServices:
    services: RestServices = request.app.state.services
    return services


ServicesDep = Annotated[RestServices, Depends(get_services)]


bearer_scheme = HTTPBearer(auto_error=False, description="An API token from `chancery init` or `chancery token create`")


def authenticate(request: Request, services: RestServices) -> Principal:
    """The principal behind ``Authorization: Bearer <token>`` (RFC 6750 §2.1).

    Runs on the event loop: the token service answers from its cache almost always.
    """
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must use the Bearer scheme")
    return services.tokens.authenticate(token)


async def get_principal(
    request: Request, services: ServicesDep, _: Annotated[object, Depends(bearer_scheme)] = None
) -> Principal:
    return authenticate(request, services)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
# For routes that authenticate by hand (the issuance hot path): same scheme in the OpenAPI document.
BEARER_SECURITY = {"security": [{"HTTPBearer": []}]}
