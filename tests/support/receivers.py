"""Real receivers for notification tests: an HTTP(S) server and an SMTP server (aiosmtpd), each on
127.0.0.1 at a free port, running in a thread of the test process."""

from __future__ import annotations

import queue
import socket
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    """A port nothing listens on (just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class WebhookReceiver:
    """Answers each POST with the next of ``statuses`` (then 200) and keeps what it received."""

    def __init__(self, statuses: Iterable[int] = (), tls: ssl.SSLContext | None = None) -> None:
        self.posts: queue.Queue[Post] = queue.Queue()
        self.received: list[Post] = []
        script = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                post = Post(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                receiver.received.append(post)
                receiver.posts.put(post)
                status = script.pop(0) if script else 200
                answer = b"thanks" if status < 300 else b"try again later"
                self.send_response(status)
                if 300 <= status < 400:  # back to itself: a follower would POST again
                    self.send_header("Location", receiver.url)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}/hooks/chancery"

    def next(self, timeout: float = 10) -> Post:
        """The next POST to arrive (waits for it: the delivery thread sends on its own)."""
        return self.posts.get(timeout=timeout)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


class _Sink:
    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.mails.append(Mail(envelope.mail_from, tuple(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1; with ``tls`` it offers STARTTLS, requires it, and takes logins
    (``username``/``password``) only over TLS."""

    def __init__(self, tls: ssl.SSLContext | None = None, username: str = "", password: str = "") -> None:
        self._sink = _Sink()
        self.logins: list[str] = []
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs = {
                "tls_context": tls,
                "require_starttls": True,
                "auth_require_tls": True,
                "authenticator": self._authenticate(username, password),
            }
        self._controller = Controller(self._sink, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()

    @property
    def mails(self) -> list[Mail]:
        return self._sink.mails

    def _authenticate(self, username: str, password: str) -> Any:
        def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                username.encode(),
                password.encode(),
            )
            if ok:
                self.logins.append(username)
            return AuthResult(success=ok, handled=False)

        return check

    def close(self) -> None:
        self._controller.stop()
