"""Dependencies: the services the REST edge uses, and the authenticated principal."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer

from chancery.clock import Clock
from chancery.domain.principals import Principal
from chancery.errors import Unauthorized
from chancery.protocols._tls_client import client_certificate
from chancery.services.approvals import DualControl
from chancery.services.audit.service import AuditService
from chancery.services.authority.hierarchy import HierarchyService
from chancery.services.authority.issuance import IssuanceService
from chancery.services.certificates import CertificateService
from chancery.services.emv.requests import EmvRequests
from chancery.services.emv.service import EmvService
from chancery.services.identity.accounts import AccountService
from chancery.services.identity.authentication import Authenticator
from chancery.services.identity.directory_settings import DirectorySettingsService
from chancery.services.policies import PolicyService
from chancery.services.profiles.preview import ProfilePreviews
from chancery.services.profiles.service import ProfileService
from chancery.services.registration.authorities import RaDirectory
from chancery.services.registration.decisions import RequestDecisions
from chancery.services.registration.delivery import RequestDelivery
from chancery.services.registration.intake import RequestIntake
from chancery.services.revocation.bulk import BulkRevocation
from chancery.services.revocation.crls import CrlPublisher
from chancery.services.revocation.settings import RevocationSettingsService
from chancery.services.scep.challenges import ScepChallenges
from chancery.services.scep.directory import ScepDirectory
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
    accounts: AccountService
    authenticator: Authenticator
    directory: DirectorySettingsService
    policies: PolicyService
    dual_control: DualControl
    audit: AuditService
    emv: EmvService
    emv_requests: EmvRequests
    ras: RaDirectory
    ra_intake: RequestIntake
    ra_decisions: RequestDecisions
    ra_delivery: RequestDelivery
    scep: ScepDirectory
    scep_challenges: ScepChallenges


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
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>) or client certificate")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must use the Bearer scheme")
    return services.tokens.authenticate(token)


async def get_principal(
    request: Request, services: ServicesDep, _: Annotated[object, Depends(bearer_scheme)] = None
) -> Principal:
    """A bearer token when the request has one; otherwise the TLS client certificate the
    handshake verified (``chancery serve --client-ca``), mapped to a user by subject or SAN."""
    certificate = None if request.headers.get("authorization") else client_certificate(request.scope)
    if certificate is None:
        return authenticate(request, services)
    source = request.client.host if request.client else ""
    return await run_in_threadpool(services.authenticator.certificate_principal, certificate, source)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
# For routes that authenticate by hand (the issuance hot path): same scheme in the OpenAPI document.
BEARER_SECURITY = {"security": [{"HTTPBearer": []}]}


async def get_optional_principal(
    request: Request, services: ServicesDep, _: Annotated[object, Depends(bearer_scheme)] = None
) -> Principal | None:
    """``None`` for a caller who presents no credentials (anonymous RA requests); otherwise
    exactly :func:`get_principal`: a bad token is 401, never silently anonymous."""
    if "authorization" not in request.headers and client_certificate(request.scope) is None:
        return None
    return await get_principal(request, services)


OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]
