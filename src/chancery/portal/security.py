"""Cookies, CSRF tokens, security headers and the body limit of the portal.

Cookies. Every portal cookie is ``Secure; HttpOnly; SameSite=Strict; Path=/``
(:data:`~chancery.services.identity.sessions.COOKIE_ATTRIBUTES`) and carries the
``__Host-`` prefix (RFC 6265bis §4.1.3.2), so neither a sibling sub-domain nor a
network attacker on plain HTTP can set or overwrite one. ``Secure`` is kept even
when the portal is served over plain ``http://127.0.0.1``: browsers treat loopback
as a potentially trustworthy origin (W3C Secure Contexts §3.2) and Chromium and
Firefox store and return ``Secure`` and ``__Host-`` cookies there (the portal tests
check it in Chromium). Dropping the flag "when the client is loopback" would also
drop it behind a TLS-terminating reverse proxy on the same host, whose requests
arrive over plain HTTP from 127.0.0.1, so the portal never does.

CSRF (OWASP CSRF Prevention Cheat Sheet). Every form carries ``csrf_token``:

* a staff session's synchronizer token (:meth:`SessionService.check_csrf` compares its
  hash in constant time). The server stores only its hash, so the browser keeps the
  token in a second cookie for the pages that render forms; a cross-site page can
  neither read that cookie nor make the browser send it (SameSite=Strict);
* without a session, a token bound to a random anonymous cookie: the HMAC-SHA256 of a
  fixed label under the cookie's 256-bit value. It needs no server secret, so any
  number of nodes agree on it, and the page never shows the cookie itself. A server
  secret would add nothing here: an attacker can always fetch a valid (cookie, token)
  pair of their own; what stops them planting it in a victim's browser is the
  ``__Host-`` prefix.

Browsers also say where a request comes from (``Sec-Fetch-Site``, Fetch Metadata):
a form posted from another site is refused before the token is looked at.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chancery.errors import Forbidden, PayloadTooLarge
from chancery.services.identity.sessions import COOKIE_ATTRIBUTES, COOKIE_NAME, ActiveSession, SessionService

SESSION_COOKIE = f"__Host-{COOKIE_NAME}"
CSRF_COOKIE = "__Host-chancery_csrf"
FORM_COOKIE = "__Host-chancery_form"
CSRF_FIELD = "csrf_token"
_FORM_LABEL = b"chancery portal anonymous form v1"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
HSTS = "max-age=31536000"  # RFC 6797 §6.1; sent only over TLS (§7.2)
_CROSS_SITE = ("cross-site", "same-site")


def set_cookie(response: Response, name: str, value: str) -> None:
    """A session-lifetime cookie with the attributes every portal cookie has."""
    response.set_cookie(name, value, **COOKIE_ATTRIBUTES)  # type: ignore[arg-type]


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, **COOKIE_ATTRIBUTES)  # type: ignore[arg-type]


def new_form_cookie() -> str:
    return secrets.token_urlsafe(32)


def form_token(form_cookie: str) -> str:
    """The CSRF token of anonymous forms for the browser holding ``form_cookie``."""
    digest = hmac.new(form_cookie.encode("utf-8"), _FORM_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def check_form(request: Request, session: ActiveSession | None, token: str) -> None:
    """Raise :class:`Forbidden` unless ``token`` is this browser's CSRF token (constant time)."""
    if request.headers.get("sec-fetch-site", "").lower() in _CROSS_SITE:
        raise Forbidden("a form posted from another site is refused")
    if session is not None:
        SessionService.check_csrf(session, token)
        return
    cookie = request.cookies.get(FORM_COOKIE, "")
    if not cookie or not token or not hmac.compare_digest(form_token(cookie), token):
        raise Forbidden("missing or wrong form token: reload the page and send the form again")


class SecurityHeaders:
    """Adds the portal's security headers to every response it sends (pages, files, errors)."""

    def __init__(self, app: ASGIApp, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_tls = scope.get("scheme") == "https"
        static = scope["path"].removeprefix(scope.get("root_path", "")).startswith(self.static_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                # Pages show request IDs, pickup tokens and session data: no cache keeps them.
                headers["Cache-Control"] = "max-age=3600" if static else "no-store"
                if over_tls:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class FormSizeLimit:
    """Refuse request bodies over ``max_bytes`` before a form parser reads them (413, an HTML page).

    Browsers send a Content-Length with every form; a body without one is counted as it
    arrives. The server-wide limit of ``chancery.web`` still applies first.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, refuse: Callable[[Scope, PayloadTooLarge], Response]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = PayloadTooLarge(f"the form is larger than {self.max_bytes // 1024} KiB; nothing was recorded")
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self.refuse(scope, error)(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise error
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except PayloadTooLarge:
            if not started:
                await self.refuse(scope, error)(scope, receive, send)
