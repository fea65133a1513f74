"""Who is looking at a page: a staff session (or nobody), and the CSRF token their forms carry."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Protocol

from fastapi import Depends, Form, Request
from fastapi.concurrency import run_in_threadpool

from chancery.clock import Clock
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.errors import CAError, PermissionDenied, Unauthorized
from chancery.portal.security import (
    CSRF_COOKIE,
    FORM_COOKIE,
    SESSION_COOKIE,
    check_form,
    form_token,
    new_form_cookie,
)
from chancery.services.acme.service import AcmeService
from chancery.services.audit.service import AuditService
from chancery.services.authority.hierarchy import HierarchyService
from chancery.services.authorization import ROLE_PERMISSIONS
from chancery.services.certificates import CertificateService
from chancery.services.identity.authentication import Authenticator
from chancery.services.identity.sessions import ActiveSession, SessionService
from chancery.services.registration.authorities import RaDirectory
from chancery.services.registration.decisions import RequestDecisions
from chancery.services.registration.delivery import RequestDelivery
from chancery.services.registration.intake import RequestIntake

log = logging.getLogger(__name__)


class PortalServices(Protocol):
    """What the portal uses; ``wiring.Application`` satisfies it."""

    clock: Clock
    ras: RaDirectory
    ra_intake: RequestIntake
    ra_decisions: RequestDecisions
    ra_delivery: RequestDelivery
    authenticator: Authenticator
    sessions: SessionService
    hierarchy: HierarchyService
    certificates: CertificateService
    audit: AuditService
    acme: AcmeService


class LoginRequired(Exception):  # noqa: N818 - a signal to the handler, not a CAError
    """A staff page was asked for without a session: the handler sends the browser to the login page."""


@dataclass
class Viewer:
    """The session behind a request (``None``: anonymous) and the token its forms carry.

    ``new_form_cookie`` is set when an anonymous browser had no form cookie yet: the page
    that renders a form sets it.
    """

    session: ActiveSession | None
    csrf_token: str = field(repr=False)
    new_form_cookie: str | None = field(default=None, repr=False)
    stale_session: bool = False  # a session cookie that no longer opens a session: clear it

    @property
    def principal(self) -> Principal | None:
        return self.session.principal if self.session is not None else None

    def may(self, permission: Permission) -> bool:
        return self.principal is not None and holds(self.principal, permission)

    @property
    def reviews(self) -> bool:
        return self.may(Permission.REQUEST_READ)

    @property
    def browses(self) -> bool:
        return self.may(Permission.CERT_READ)

    @property
    def audits(self) -> bool:
        return self.may(Permission.AUDIT_READ)

    @property
    def acme(self) -> bool:
        return self.may(Permission.REQUEST_READ) or self.may(Permission.ACME_MANAGE)


def holds(principal: Principal, permission: Permission) -> bool:
    """Whether some grant of ``principal`` gives ``permission`` somewhere: for choosing which menu
    entries to show, never for deciding (the services decide)."""
    return any(permission in ROLE_PERMISSIONS.get(grant.role, ()) for grant in principal.all_grants)


def landing(principal: Principal) -> str:
    """Where a staff member starts: the queue, else the certificates, else the audit log."""
    if holds(principal, Permission.REQUEST_READ):
        return "/queue"
    return "/certificates" if holds(principal, Permission.CERT_READ) else "/audit"


def services_of(request: Request) -> PortalServices:
    services: PortalServices = request.app.state.services
    return services


async def identify(request: Request) -> Viewer:
    """Resume the session of the session cookie, if any; otherwise an anonymous viewer."""
    cached = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    viewer = await run_in_threadpool(_identify, request)
    request.state.viewer = viewer
    return viewer


def _identify(request: Request) -> Viewer:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            session = services_of(request).sessions.resume(cookie)
        except Unauthorized:
            session = None
        if session is not None:
            return Viewer(session, request.cookies.get(CSRF_COOKIE, ""))
    form_cookie = request.cookies.get(FORM_COOKIE)
    fresh = None if form_cookie else new_form_cookie()
    return Viewer(None, form_token(form_cookie or fresh or ""), new_form_cookie=fresh, stale_session=bool(cookie))


ViewerDep = Annotated[Viewer, Depends(identify)]


async def checked_form(request: Request, viewer: ViewerDep, csrf_token: Annotated[str, Form()] = "") -> Viewer:
    """The viewer of a form post whose CSRF token is right; :class:`Forbidden` (403) otherwise,
    before the route runs, so a refused post changes nothing."""
    check_form(request, viewer.session, csrf_token)
    return viewer


CheckedDep = Annotated[Viewer, Depends(checked_form)]


def staff(viewer: Viewer) -> Principal:
    """The logged-in principal; :class:`LoginRequired` for an anonymous viewer."""
    if viewer.principal is None:
        raise LoginRequired()
    return viewer.principal


def source_of(request: Request) -> str:
    return request.client.host if request.client else ""


def record_if_denied(request: Request, error: CAError) -> None:
    """Audit a refused authorisation check (``access.denied``), as the REST edge does."""
    if isinstance(error, PermissionDenied):
        try:
            services_of(request).audit.record_denial(error, source_of(request))
        except CAError as failure:
            log.error("could not audit a refused request: %s", failure.detail)
