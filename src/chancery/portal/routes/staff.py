"""Staff login (local or directory password, with a one-time code when the user has one, or
the TLS client certificate of the connection) and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from chancery.errors import CAError, Unauthorized
from chancery.portal.forms import pages_of, see_other
from chancery.portal.security import CSRF_COOKIE, SESSION_COOKIE, clear_cookie, set_cookie
from chancery.portal.viewer import CheckedDep, ViewerDep, landing, services_of, source_of
from chancery.protocols._tls_client import client_certificate
from chancery.services.identity.authentication import Login, SecondFactorRequired

router = APIRouter()
Field = Annotated[str, Form(max_length=1024)]


@router.get("/login")
def login_form(request: Request, viewer: ViewerDep) -> Response:
    return _login_page(request, "")


@router.post("/login")
def login(
    request: Request, viewer: CheckedDep, username: Field = "", password: Field = "", code: Field = ""
) -> Response:
    """Every attempt is audited by the authenticator; the page only ever says "login failed"."""
    services = services_of(request)
    try:
        done = services.authenticator.password_login(
            username.strip(), password, code.strip() or None, source_of(request)
        )
    except SecondFactorRequired as error:
        return _login_page(request, username, error, needs_code=True)
    except CAError as error:
        return _login_page(request, username, error)
    return _start(request, done)


@router.post("/login/certificate")
def certificate_login(request: Request, viewer: CheckedDep) -> Response:
    """Log in as the user the connection's client certificate maps to (verified in the TLS handshake)."""
    certificate = client_certificate(request.scope)
    try:
        if certificate is None:
            raise Unauthorized("this connection presented no client certificate")
        done = services_of(request).authenticator.certificate_login(certificate, source_of(request))
    except CAError as error:
        return _login_page(request, "", error)
    return _start(request, done)


@router.post("/logout")
def logout(request: Request, viewer: CheckedDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        services_of(request).sessions.end(cookie)
    response = see_other(request, "/", "logged-out")
    clear_cookie(response, SESSION_COOKIE)
    clear_cookie(response, CSRF_COOKIE)
    return response


def _start(request: Request, done: Login) -> Response:
    """A new session (a fresh cookie: no session fixation); the one this browser had ends."""
    services = services_of(request)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        services.sessions.end(previous, reason="new login")
    session = services.sessions.start(done)
    response = see_other(request, landing(done.principal), "logged-in")
    set_cookie(response, SESSION_COOKIE, session.cookie)
    set_cookie(response, CSRF_COOKIE, session.csrf_token)
    return response


def _login_page(request: Request, username: str, error: CAError | None = None, needs_code: bool = False) -> Response:
    context = {
        "title": "Staff login",
        "username": username[:128],
        "needs_code": needs_code,
        "has_certificate": client_certificate(request.scope) is not None,
    }
    if error is None:
        return pages_of(request).render(request, "login.html", **context)
    return pages_of(request).error(request, error, "login.html", **context)
