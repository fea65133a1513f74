"""The ACME HTTP application, mounted at ``/acme`` (RFC 8555 §7.1): ``/acme/{name}/directory``,
nonces, the signed resources, and renewal information (RFC 9773). Every answer carries a fresh
Replay-Nonce and the directory's index link; errors are problem documents."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chancery.clock import Clock
from chancery.errors import CAError, InternalError, PayloadTooLarge
from chancery.protocols.acme import handlers, messages, problems
from chancery.protocols.acme.handlers import Reply
from chancery.protocols.acme.messages import Urls
from chancery.protocols.acme.signed import MAX_BODY, Incoming
from chancery.services.acme.service import AcmeService

log = logging.getLogger(__name__)
PREFIX = "/acme"


class AcmeServices(Protocol):
    acme: AcmeService
    clock: Clock


def create_acme_app(services: AcmeServices) -> Starlette:
    acme = services.acme

    def urls(request: Request) -> Urls:
        return Urls(f"{request.url.scheme}://{request.url.netloc}{PREFIX}/{request.path_params['name']}")

    def respond(request: Request, reply: Reply) -> Response:
        headers = dict(reply.headers)
        headers["Replay-Nonce"] = acme.nonces.new()  # RFC 8555 §6.5: on every response
        headers["Link"] = ", ".join(
            filter(None, (headers.get("Link"), f'<{urls(request).of("directory")}>;rel="index"'))
        )
        document = reply.document
        body = document if isinstance(document, bytes) else json.dumps(document).encode() if document else b""
        return Response(body, reply.status, headers, media_type=reply.media_type)

    def failure(request: Request, error: CAError) -> Response:
        status, document = problems.problem(error)
        try:
            details = {"type": document["type"], "detail": error.detail[:300], "path": request.url.path[:200]}
            acme.refusals.record(
                "acme.request.refused", f"acme:{request.path_params.get('name', '')}"[:64], None, details
            )
        except CAError:
            log.exception("could not audit a refused ACME request")
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
        return respond(request, Reply(status, document, problems.CONTENT_TYPE, headers))

    async def guarded(request: Request, work: Any) -> Response:
        try:
            reply = await run_in_threadpool(work)
        except CAError as error:
            return await run_in_threadpool(failure, request, error)
        except Exception:
            log.exception("ACME request %s failed", request.url.path)
            return await run_in_threadpool(failure, request, InternalError("internal error"))
        return await run_in_threadpool(respond, request, reply)

    async def directory(request: Request) -> Response:
        def work() -> Reply:
            record = acme.directories.get(request.path_params["name"])
            return Reply(200, messages.directory(urls(request), record, record.policy.caa_identities))

        return await guarded(request, work)

    async def new_nonce(request: Request) -> Response:
        def work() -> Reply:
            acme.directories.get(request.path_params["name"])
            status = 204 if request.method == "GET" else 200  # RFC 8555 §7.2
            return Reply(status, b"", "application/octet-stream", {"Cache-Control": "no-store"})

        return await guarded(request, work)

    async def renewal_info(request: Request) -> Response:
        def work() -> Reply:
            window = acme.renewal_info.window(request.path_params["name"], request.path_params["cert_id"])
            document = {
                "suggestedWindow": {"start": messages.timestamp(window.start), "end": messages.timestamp(window.end)}
            }
            return Reply(200, document, headers={"Retry-After": str(window.retry_after)})

        return await guarded(request, work)

    async def signed(request: Request) -> Response:
        body = await _read(request)

        def work() -> Reply:
            if body is None:
                raise PayloadTooLarge(f"the request is larger than {MAX_BODY // 1024} KiB")
            incoming = Incoming(
                url=f"{request.url.scheme}://{request.url.netloc}{request.url.path}",
                urls=urls(request),
                content_type=request.headers.get("content-type", ""),
                body=body,
            )
            return handlers.dispatch(acme, request.path_params["name"], request.path_params["path"], incoming)

        return await guarded(request, work)

    routes = [
        Route("/{name}/directory", directory, methods=["GET"]),
        Route("/{name}/new-nonce", new_nonce, methods=["GET", "HEAD"]),
        Route("/{name}/renewal-info/{cert_id}", renewal_info, methods=["GET"]),
        Route("/{name}/{path:path}", signed, methods=["POST"]),
    ]
    return Starlette(routes=routes)


async def _read(request: Request) -> bytes | None:
    """The body, or None past the limit (read no further than that)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
