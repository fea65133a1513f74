"""OCSP over HTTP (RFC 6960 Appendix A, RFC 5019 §5-6): ``POST /ocsp`` and ``GET /ocsp/{base64}``.

A bare ASGI application, mounted in front of the rest of the web app: an OCSP
answer from the pre-signed cache is a few dictionary lookups, and the generic
framework would cost more than that. Answers are OCSP responses even for bad
requests (``malformedRequest``); only what is not an OCSP request at all gets
an HTTP error (400 for undecodable GET paths, 405, 413).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import logging
from email.utils import format_datetime
from typing import Protocol
from urllib.parse import unquote

from starlette.types import Receive, Scope, Send

from chancery.clock import Clock
from chancery.pki.ocsp import MAX_REQUEST_BYTES, ResponseStatus, error_response
from chancery.services.revocation.ocsp import OcspAnswer

MEDIA_TYPE = b"application/ocsp-response"
PREFIX = "/ocsp"
_MALFORMED = error_response(ResponseStatus.MALFORMED_REQUEST)
_INTERNAL_ERROR = error_response(ResponseStatus.INTERNAL_ERROR)
log = logging.getLogger(__name__)


class OcspAnswering(Protocol):
    def answer(self, request: bytes) -> OcspAnswer: ...


class OcspEndpoint:
    """The ASGI application serving ``/ocsp``."""

    def __init__(self, service: OcspAnswering, clock: Clock) -> None:
        self._service = service
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._handle(scope, receive, send)
        except Exception:  # a bug must still get an OCSP answer, and never a stack trace
            log.exception("OCSP request failed")
            await _send(send, 500, _INTERNAL_ERROR)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "POST":
            body = await _read_body(receive, MAX_REQUEST_BYTES)
            if body is None:
                await _send(send, 413, _MALFORMED)
                return
            await _send(send, 200, self._service.answer(body).der)
            return
        if method in ("GET", "HEAD"):
            request = _decode_get(scope)
            if request is None:
                await _send(send, 400, _MALFORMED)
                return
            answer = self._service.answer(request)
            await _send(send, 200, answer.der, _cache_headers(answer, self._clock.now()), head=method == "HEAD")
            return
        await _send(send, 405, _MALFORMED, [(b"allow", b"GET, HEAD, POST")])


def _decode_get(scope: Scope) -> bytes | None:
    """The DER request in a GET path: URL-encoded base64 (RFC 6960 A.1), standard or URL-safe alphabet."""
    raw = scope.get("raw_path") or scope["path"].encode()
    path = unquote(raw.decode("latin-1"))
    encoded = path[len(PREFIX) + 1 :] if path.startswith(PREFIX + "/") else ""
    if not encoded or len(encoded) > MAX_REQUEST_BYTES * 2:
        return None
    encoded = encoded.replace(" ", "+").replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _cache_headers(answer: OcspAnswer, now: dt.datetime) -> list[tuple[bytes, bytes]]:
    """RFC 5019 §6.2: let HTTP caches keep a pre-signed response until its nextUpdate."""
    if answer.this_update is None or answer.next_update is None:
        return [(b"cache-control", b"no-cache")]
    max_age = max(0, int((answer.next_update - now).total_seconds()))
    return [
        (b"cache-control", f"max-age={max_age}, public, no-transform, must-revalidate".encode()),
        (b"last-modified", format_datetime(answer.this_update, usegmt=True).encode()),
        (b"expires", format_datetime(answer.next_update, usegmt=True).encode()),
        (b"etag", b'"' + hashlib.sha256(answer.der).hexdigest()[:32].encode() + b'"'),
    ]


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None, head: bool = False
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", MEDIA_TYPE), (b"content-length", str(len(body)).encode()), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})
