"""``create_app``: the FastAPI application serving every HTTP protocol."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from chancery import __version__
from chancery.errors import CAError
from chancery.portal import create_portal
from chancery.protocols import aia, crl
from chancery.protocols.acme.router import PREFIX as ACME_PREFIX
from chancery.protocols.acme.router import create_acme_app
from chancery.protocols.ocsp import PREFIX as OCSP_PREFIX
from chancery.protocols.ocsp import OcspEndpoint
from chancery.protocols.rest import problems
from chancery.protocols.rest.deps import RestServices
from chancery.protocols.rest.routes import (
    acme_admin,
    audit,
    cas,
    certificates,
    emv,
    emv_brands,
    identity,
    operations,
    profiles,
    revocation,
    scep_admin,
)
from chancery.protocols.rest.routes import registration as ra_routes
from chancery.protocols.scep import endpoint as scep
from chancery.services.health import HealthService
from chancery.services.revocation.crls import CrlPublisher
from chancery.services.revocation.ocsp import OcspService
from chancery.web.limits import BodySizeLimit

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
PORTAL_PREFIX = "/portal"


class WebServices(RestServices, Protocol):
    health: HealthService
    crls: CrlPublisher
    ocsp: OcspService


class ChanceryApp:
    """The ASGI application: OCSP answered first by its own bare endpoint, ``/acme`` by its own
    application (the mount FastAPI also has, without FastAPI's route scan), everything else by FastAPI."""

    def __init__(self, api: FastAPI, ocsp_endpoint: OcspEndpoint, acme: tuple[Mount, ASGIApp] | None = None) -> None:
        self.fastapi = api
        self._ocsp = ocsp_endpoint
        self._acme = acme  # (the mount, to match and enter it; the mount's handler behind the body-size limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == OCSP_PREFIX or path.startswith(OCSP_PREFIX + "/"):
                await self._ocsp(scope, receive, send)
                return
            if self._acme is not None and path.startswith(ACME_PREFIX + "/"):
                mount, handler = self._acme
                match, child = mount.matches(scope)
                if match is Match.FULL:  # what FastAPI's router would do on reaching the mount
                    await handler({**scope, **child}, receive, send)
                    return
        await self.fastapi(scope, receive, send)


def create_app(
    services: WebServices,
    *,
    max_body_bytes: int = 1024 * 1024,
    on_startup: Callable[[], None] | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> ChanceryApp:
    """Build the application around already-wired services; the hooks run when the server starts and stops."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if on_startup is not None:
            on_startup()
        yield
        if on_shutdown is not None:
            on_shutdown()

    app = FastAPI(
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="Chancery",
        version=__version__,
        description="Enterprise certificate authority. Authenticate with `Authorization: Bearer <token>`.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.services = services
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(cas.router)
    api.include_router(certificates.router)
    api.include_router(revocation.router)
    api.include_router(profiles.router)
    api.include_router(identity.router)
    api.include_router(operations.router)
    api.include_router(audit.router)
    api.include_router(emv.router)
    api.include_router(emv_brands.router)
    api.include_router(ra_routes.router)
    api.include_router(acme_admin.router)
    api.include_router(scep_admin.router)
    app.include_router(api)
    app.include_router(aia.router)
    app.include_router(crl.router)
    app.include_router(scep.router)
    acme = Mount(ACME_PREFIX, app=create_acme_app(services))  # type: ignore[arg-type]  # wiring.Application is both
    app.router.routes.append(acme)
    app.mount(PORTAL_PREFIX, create_portal(services))  # type: ignore[arg-type]  # wiring.Application is both
    app.router.routes[:0] = certificates.hot_routes(API_PREFIX)

    @app.get("/health", tags=["health"])
    def health(request: Request) -> JSONResponse:
        """200 when this node can serve (its database answers), 503 otherwise."""
        ok = request.app.state.services.health.database_ok()
        return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)

    app.add_exception_handler(CAError, problems.on_ca_error)
    app.add_exception_handler(RequestValidationError, problems.on_validation_error)
    app.add_exception_handler(StarletteHTTPException, problems.on_http_error)
    app.add_exception_handler(Exception, problems.on_unexpected)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=max_body_bytes,
        on_too_large=problems.ca_error_response,
        delegated=(PORTAL_PREFIX + "/",),  # the portal's forms have their own, smaller limit and an HTML 413
    )
    acme_handler = BodySizeLimit(acme.handle, max_bytes=max_body_bytes, on_too_large=problems.ca_error_response)
    return ChanceryApp(app, OcspEndpoint(services.ocsp, services.clock), (acme, acme_handler))
