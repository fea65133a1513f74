"""Request size limits, enforced before any parser sees the body."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chancery.errors import PayloadTooLarge


class BodySizeLimit:
    """Refuse bodies over ``max_bytes``: by Content-Length up front, or while streaming.

    Paths under ``delegated`` prefixes are left to their application, which enforces a smaller
    limit of its own and answers in its own form (the portal: an HTML page, not a problem document).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, on_too_large: Any, delegated: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_too_large = on_too_large
        self.delegated = delegated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.delegated):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    break  # malformed: count the bytes as they come
                if declared > self.max_bytes:
                    response = self.on_too_large(PayloadTooLarge(self._message()))
                    await response(scope, receive, send)
                    return
                # The HTTP server frames the body by Content-Length (RFC 9112 §6.3):
                # no more than this can arrive, so there is nothing to count.
                await self.app(scope, receive, send)
                return
        seen = 0
        exceeded = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise PayloadTooLarge(self._message())
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the application made of the interrupted body (parsers may turn
            # it into a generic 400), the client is told the real reason once.
            nonlocal replaced
            if not exceeded:
                await send(message)
                return
            if not replaced:
                replaced = True
                response = self.on_too_large(PayloadTooLarge(self._message()))
                await response(scope, receive, send)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except PayloadTooLarge:
            if not replaced:
                replaced = True
                response = self.on_too_large(PayloadTooLarge(self._message()))
                await response(scope, receive, send)

    def _message(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"
