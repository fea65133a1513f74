"""``create_portal``: the portal's ASGI application (mounted at ``/portal`` by ``chancery.web``)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Scope

from chancery.errors import CAError, InternalError, Malformed, NotFound, PayloadTooLarge
from chancery.portal.forms import MAX_FORM_BYTES
from chancery.portal.rendering import Pages
from chancery.portal.routes import acme, audit, browse, public, queue, requests, staff
from chancery.portal.security import FormSizeLimit, SecurityHeaders
from chancery.portal.viewer import LoginRequired, PortalServices, Viewer, identify, record_if_denied

log = logging.getLogger(__name__)


def create_portal(services: PortalServices, max_form_bytes: int = MAX_FORM_BYTES) -> ASGIApp:
    """The portal around already-wired services; every response it sends has the security headers."""
    portal = FastAPI(
        telemetry={"tracing": False, "metrics": False, "logs": False},
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    portal.state.services = services
    pages = Pages()
    portal.state.pages = pages
    for module in (public, requests, staff, queue, browse, audit, acme):
        portal.include_router(module.router)
    portal.mount("/static", StaticFiles(packages=[("chancery.portal", "static")]), name="static")

    async def on_ca_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, CAError)
        await _identified(request)
        await run_in_threadpool(record_if_denied, request, error)
        return pages.error(request, error)

    async def on_login_required(request: Request, _error: Exception) -> Response:
        return RedirectResponse(request.scope.get("root_path", "") + "/login", status_code=303)

    async def on_validation_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        await _identified(request)
        fields = ", ".join(str(e.get("loc", ("",))[-1]) for e in error.errors()[:5])
        return pages.error(request, Malformed(f"the form was not filled in as expected ({fields}): try again"))

    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        await _identified(request)
        if error.status_code == 404:
            return pages.error(request, NotFound("there is no such page"))
        response = pages.render(request, "error.html", error.status_code, title="That did not work", error=None)
        return response

    async def on_unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error in the portal", exc_info=error)
        return pages.error(request, InternalError("unhandled error"))

    def refuse(scope: Scope, error: PayloadTooLarge) -> Response:
        return pages.error(Request(scope), error)

    portal.add_exception_handler(CAError, on_ca_error)
    portal.add_exception_handler(LoginRequired, on_login_required)
    portal.add_exception_handler(RequestValidationError, on_validation_error)
    portal.add_exception_handler(StarletteHTTPException, on_http_error)
    portal.add_exception_handler(Exception, on_unexpected)
    portal.add_middleware(FormSizeLimit, max_bytes=max_form_bytes, refuse=refuse)
    return SecurityHeaders(portal)


async def _identified(request: Request) -> None:
    """Who is asking, for an error page; anonymous when even that fails (the database is down)."""
    try:
        await identify(request)
    except CAError:
        request.state.viewer = Viewer(None, "")
