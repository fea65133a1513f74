"""Pages: the Jinja2 environment (autoescaping on), rendering, and the portal's error pages.

Every value reaches HTML through Jinja2's autoescaping; no template marks anything
``safe``. Error pages translate :class:`CAError` kinds through :data:`STATUS_BY_KIND`
(exhaustive, like every edge's table: STYLE.md §8.4); internal details go to the log.
"""

from __future__ import annotations

import datetime as dt
import logging
from http import HTTPStatus
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from chancery.errors import CAError
from chancery.portal.security import CSRF_COOKIE, FORM_COOKIE, SESSION_COOKIE, clear_cookie, set_cookie
from chancery.portal.viewer import Viewer
from chancery.protocols.rest.problems import HIDDEN_KINDS, STATUS_BY_KIND  # one table for every edge

log = logging.getLogger(__name__)

TITLES = {
    400: "That did not work",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    413: "Too large",
    422: "The linter refused it",
    202: "Waiting for approval",
}

# Fixed notices a redirect may name (?notice=...): no text from the query string reaches a page.
NOTICES = {
    "submitted": "Your request was recorded. Keep its ID: it is all you need to follow it.",
    "approved": "Your approval was recorded.",
    "issued": "Your approval completed the request: the certificate was issued.",
    "denied": "The request was denied.",
    "revoked": "The certificate was revoked.",
    "account-deactivated": "The ACME account was deactivated.",
    "account-revoked": "Every certificate of the ACME account was revoked.",
    "eab-revoked": "The external account key was revoked.",
    "logged-in": "You are logged in.",
    "logged-out": "You are logged out.",
}


def _when(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("chancery.portal", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    return env


class Pages:
    """Renders templates for one request, with what every page needs (viewer, CSRF token, notices)."""

    def __init__(self) -> None:
        self._env = environment()

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        viewer: Viewer = getattr(request.state, "viewer", None) or Viewer(None, "")
        notice = NOTICES.get(request.query_params.get("notice", ""))
        context.setdefault("error", None)
        context.setdefault("findings", ())
        html = self._env.get_template(template).render(
            base=request.scope.get("root_path", ""),
            viewer=viewer,
            csrf_token=viewer.csrf_token,
            notice=notice,
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        if viewer.new_form_cookie is not None:
            set_cookie(response, FORM_COOKIE, viewer.new_form_cookie)
        if viewer.stale_session:
            clear_cookie(response, SESSION_COOKIE)
            clear_cookie(response, CSRF_COOKIE)
        return response

    def error(self, request: Request, error: CAError, template: str = "error.html", **context: Any) -> HTMLResponse:
        """The page for a refused action: ``template`` (a form shown again) with the error on it."""
        status = STATUS_BY_KIND[error.kind]
        detail = error.detail
        if error.kind in HIDDEN_KINDS:
            log.error("%s: %s", error.kind.value, error.detail)
            detail = "The CA cannot complete this now. Try again later." if status == 503 else "Internal error."
        context.setdefault("title", TITLES.get(status, HTTPStatus(status).phrase))
        findings = [f"{s.identifier}: {s.detail}" for s in error.sub_errors]
        return self.render(request, template, status, error=detail, findings=findings, **context)
