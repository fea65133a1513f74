"""Real servers an ACME validator talks to in tests, all on 127.0.0.1 at free ports, each in a thread of the
test process (or, for DNS, Pebble's ``pebble-challtestsrv`` in its own process):

- :class:`HttpChallengeServer`: answers each path from a table (a body, a redirect, a status, a huge or
  never-ending body, a trickle), and keeps the requests it got;
- :class:`SilentServer`: accepts connections and never says a word;
- :class:`TlsServer`: a TLS server presenting a given certificate, with or without ALPN, optionally
  answering HTTP (for https redirects); keeps the SNI and ALPN offers it saw;
- :func:`alpn_certificate`: tls-alpn-01 certificates, right and wrong (RFC 8737 §3);
- :class:`ChallTestSrv`: a DNS server whose TXT, CNAME, A and CAA records are set over HTTP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dns.resolver
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.receivers import free_port

ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")


@dataclass(frozen=True)
class Answer:
    """What :class:`HttpChallengeServer` sends for one path."""

    status: int = 200
    body: bytes = b""
    location: str | None = None
    # "fixed" (Content-Length), "chunked", "close" (no length: the body ends when the connection does),
    # "stall" (no length; the body is sent, then nothing more, and the connection stays open),
    # "trickle" (the status line, then a header line now and then, forever), "garbage" (not HTTP)
    mode: str = "fixed"
    repeat: int = 1  # the body is sent this many times (a 10 MB body without holding 10 MB)


@dataclass
class HttpChallengeServer:
    """``answers`` maps a path to what is sent; any other path is a 404."""

    answers: dict[str, Answer] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    sent: dict[str, int] = field(default_factory=dict)  # path -> body bytes written

    def __post_init__(self) -> None:
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append((self.path, self.headers.get("Host", "")))
                server._answer(self, server.answers.get(self.path, Answer(404, b"not found")))

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def _answer(self, handler: BaseHTTPRequestHandler, answer: Answer) -> None:
        out = handler.wfile
        if answer.mode == "garbage":
            out.write(b"this is not HTTP at all\r\n\r\n")
            return
        if answer.mode == "trickle":
            out.write(b"HTTP/1.1 200 OK\r\n")
            while not self._release.wait(0.05):
                out.write(b"X-Slow: 1\r\n")
                out.flush()
            return
        head = [f"HTTP/1.1 {answer.status} Whatever", "Content-Type: text/plain"]
        if answer.location is not None:
            head.append(f"Location: {answer.location}")
        size = len(answer.body) * answer.repeat
        head.append(
            {"fixed": f"Content-Length: {size}", "chunked": "Transfer-Encoding: chunked"}.get(
                answer.mode, "Connection: close"
            )
        )
        out.write(("\r\n".join(head) + "\r\n\r\n").encode())
        written = 0
        for _ in range(answer.repeat):
            piece = answer.body
            out.write(b"%x\r\n%s\r\n" % (len(piece), piece) if answer.mode == "chunked" else piece)
            written += len(piece)
            self.sent[handler.path] = written
        if answer.mode == "chunked":
            out.write(b"0\r\n\r\n")
        out.flush()
        if answer.mode == "stall":
            self._release.wait(30)
        handler.close_connection = True

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (until closed)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for conn in self._held:
            conn.close()


@dataclass(frozen=True)
class Credential:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def pem_files(self, directory: Path) -> tuple[Path, Path]:
        cert, key = directory / "cert.pem", directory / "key.pem"
        cert.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert, key


def alpn_certificate(
    names: list[x509.GeneralName] | None,
    key_authorization: str,
    *,
    critical: bool = True,
    extension: bool = True,
    digest: bytes | None = None,
) -> Credential:
    """A self-signed tls-alpn-01 certificate (RFC 8737 §3): ``names`` as its subjectAltName (``None``: none),
    the acmeIdentifier extension holding SHA-256(key authorization) (or ``digest``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme tls-alpn-01 test")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))  # the validator checks no dates
        .not_valid_after(dt.datetime(2035, 1, 1, tzinfo=dt.timezone.utc))
    )
    if names is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if extension:
        value = digest if digest is not None else hashlib.sha256(key_authorization.encode()).digest()
        der = bytes([0x04, len(value)]) + value  # Authorization ::= OCTET STRING (SIZE (32))
        builder = builder.add_extension(x509.UnrecognizedExtension(ACME_IDENTIFIER, der), critical=critical)
    return Credential(builder.sign(key, hashes.SHA256()), key)


def dns_names(*names: str) -> list[x509.GeneralName]:
    return [x509.DNSName(n) for n in names]


def ip_names(*addresses: str) -> list[x509.GeneralName]:
    return [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]


class TlsServer:
    """Presents ``credential`` to every client; ``alpn`` lists the protocols it will pick from (none: no
    ALPN). With ``http_body`` set it answers one HTTP request per connection with that body."""

    def __init__(self, credential: Credential, alpn: tuple[str, ...] = ("acme-tls/1",), http_body: bytes | None = None):
        self.server_names: list[str | None] = []
        self.offered: list[list[str]] = []
        self._http_body = http_body
        with tempfile.TemporaryDirectory() as directory:
            cert, key = credential.pem_files(Path(directory))
            self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._context.load_cert_chain(cert, key)
        if alpn:
            self._context.set_alpn_protocols(list(alpn))
        self._context.sni_callback = self._sni
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._serve, daemon=True).start()

    def _sni(self, sock: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext) -> None:
        self.server_names.append(server_name)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            with self._context.wrap_socket(conn, server_side=True) as tls:
                if self._http_body is not None:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        request += tls.recv(4096) or b"\r\n\r\n"
                    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(self._http_body)}\r\nConnection: close\r\n\r\n"
                    tls.sendall(head.encode() + self._http_body)
                else:
                    tls.recv(1)  # the client hangs up once it has seen the certificate
        except (OSError, ssl.SSLError):
            return

    def close(self) -> None:
        self._listener.close()


class ChallTestSrv:
    """``pebble-challtestsrv`` as a DNS server on 127.0.0.1 (A queries: 127.0.0.1 unless told otherwise; no
    AAAA), its records set over its management API."""

    def __init__(self) -> None:
        binary = shutil.which("pebble-challtestsrv")
        if binary is None:
            raise FileNotFoundError("pebble-challtestsrv")
        self.dns_port, self.management_port = free_port(), free_port()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for the process; closed in close()
        self._process = subprocess.Popen(
            [binary, "-defaultIPv6", "", "-http01", "", "-https01", "", "-tlsalpn01", "",
             "-dns01", f"127.0.0.1:{self.dns_port}", "-management", f"127.0.0.1:{self.management_port}"],
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._wait_until_ready()

    @property
    def resolver(self) -> tuple[str, int]:
        return ("127.0.0.1", self.dns_port)

    def _wait_until_ready(self) -> None:
        probe = dns.resolver.Resolver(configure=False)
        probe.nameservers, probe.port = ["127.0.0.1"], self.dns_port
        for _ in range(100):
            if self._process.poll() is not None:
                self._log.seek(0)
                raise RuntimeError(f"pebble-challtestsrv stopped: {self._log.read().decode(errors='replace')}")
            try:
                self.post("set-default-ipv4", {"ip": "127.0.0.1"})
                probe.resolve("ready.example.", "A", lifetime=0.5)
                return
            except (OSError, dns.exception.DNSException):
                time.sleep(0.05)
        raise RuntimeError("pebble-challtestsrv did not start")

    def post(self, endpoint: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.management_port}/{endpoint}", data=json.dumps(body).encode(), method="POST"
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an environment proxy
        with opener.open(request, timeout=5) as response:
            assert response.status == 200, (endpoint, response.status)

    def set_txt(self, host: str, value: str) -> None:
        self.post("set-txt", {"host": _fqdn(host), "value": value})

    def set_cname(self, host: str, target: str) -> None:
        self.post("set-cname", {"host": _fqdn(host), "target": _fqdn(target)})

    def add_a(self, host: str, *addresses: str) -> None:
        self.post("add-a", {"host": _fqdn(host), "addresses": list(addresses)})

    def add_caa(self, host: str, *policies: tuple[str, str]) -> None:
        self.post("add-caa", {"host": _fqdn(host), "policies": [{"tag": t, "value": v} for t, v in policies]})

    def servfail(self, host: str) -> None:
        self.post("set-servfail", {"host": _fqdn(host)})

    def close(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def serving(factory: Callable[[], Any]) -> Iterator[Any]:
    """A fixture body: the server ``factory`` makes, closed afterwards."""
    server = factory()
    try:
        yield server
    finally:
        server.close()
