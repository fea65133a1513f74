"""RFC 9457 problem documents: the REST edge's one translation of :class:`CAError`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from chancery.errors import CAError, ErrorKind, Malformed, PermissionDenied
from chancery.protocols._common import HIDDEN_KINDS, STATUS_BY_KIND  # the portal and tests read them here too

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:chancery:problem:"
OPERATIONS_PATH = "/api/v1/operations"


def problem(status: int, kind: str, detail: str, **extra: object) -> JSONResponse:
    body: dict[str, object] = {
        "type": PROBLEM_TYPE_PREFIX + kind,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def ca_error_response(error: CAError) -> JSONResponse:
    status = STATUS_BY_KIND[error.kind]
    detail = error.detail
    if error.kind in HIDDEN_KINDS:
        log.error("%s: %s", error.kind.value, error.detail)
        detail = "the CA cannot complete this request now" if status == 503 else "internal error"
    extra: dict[str, object] = {}
    if error.sub_errors:
        extra["subproblems"] = [{"identifier": s.identifier, "detail": s.detail} for s in error.sub_errors]
    operation = _pending_operation(error)
    if operation is not None:
        extra["operation"] = operation
    response = problem(status, error.kind.value, detail, **extra)
    if operation is not None:
        response.headers["Location"] = f"{OPERATIONS_PATH}/{operation}"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="chancery"'
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _pending_operation(error: CAError) -> str | None:
    """The id of the operation an :class:`ApprovalRequired` recorded (202: where to follow it)."""
    if error.kind is not ErrorKind.APPROVAL_REQUIRED:
        return None
    return next((s.detail for s in error.sub_errors if s.identifier == "operation"), None)


async def on_ca_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, CAError)
    if isinstance(error, PermissionDenied):
        await _record_denial(request, error)
    return ca_error_response(error)


async def _record_denial(request: Request, denial: PermissionDenied) -> None:
    """Audit a refused authorisation check; the answer is 403 whether or not that works."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return
    source = request.client.host if request.client else ""
    try:
        await run_in_threadpool(services.audit.record_denial, denial, source)
    except CAError as failure:
        log.error("could not audit a refused request: %s", failure.detail)


async def on_validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return problem(400, ErrorKind.MALFORMED.value, "invalid request: " + _describe(error.errors()))


def parse_body(model: type[M], body: bytes) -> M:
    """Validate a JSON body by hand, with the same problem document FastAPI's validation gives."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise Malformed("invalid request: " + _describe(exc.errors())) from None


def _describe(errors: Sequence[Any]) -> str:
    problems = []
    for err in list(errors)[:20]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        problems.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(problems)


async def on_http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    kind = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
    response = problem(error.status_code, kind, str(error.detail))
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


async def on_unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=error)
    return problem(500, ErrorKind.INTERNAL.value, "internal error")
