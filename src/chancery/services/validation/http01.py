"""http-01 (RFC 8555 §8.3): fetch ``http://{identifier}/.well-known/acme-challenge/{token}`` and compare.

A small HTTP/1.1 client over plain sockets (http.client parses the answer): every read waits at most for
what is left of the validation's deadline (a server that trickles bytes cannot stretch it), no proxy is
ever used, the body is read to its limit and no further, and each redirect target is checked before it
is reached.
"""

from __future__ import annotations

import hmac
import http.client
import io
import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from chancery.services.validation.addresses import (
    Dns,
    Resolved,
    connect,
    literal_address,
    resolve_identifier,
    resolve_redirect,
)
from chancery.services.validation.model import ChallengeCheck, Deadline, Failed, printable
from chancery.services.validation.settings import ValidationSettings

USER_AGENT = "Chancery-ACME-Validation/1"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_URL = 2048
_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?", re.ASCII | re.IGNORECASE)


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str


def validate_http01(
    check: ChallengeCheck, settings: ValidationSettings, resolver: Dns, deadline: Deadline, records: list
) -> None:
    """Returns when the key authorization was served; :class:`Failed` says why it was not."""
    host = f"[{check.identifier}]" if ":" in check.identifier else check.identifier
    port = "" if settings.http01_port == 80 else f":{settings.http01_port}"
    target = _target(f"http://{host}{port}/.well-known/acme-challenge/{check.token}")
    resolved = resolve_identifier(target.host, settings, resolver, deadline)
    seen = {target.url}
    for _ in range(settings.max_redirects + 1):
        status, location, body = _get(target, resolved, settings, deadline, records)
        if status in REDIRECTS and location is not None:
            target = _redirect(target, location, settings)
            if target.url in seen:
                raise Failed("connection", f"redirect loop: {printable(target.url, 200)} was already fetched")
            seen.add(target.url)
            resolved = resolve_redirect(target.host, settings, resolver, deadline)
            continue
        if status != 200:
            raise Failed("unauthorized", f"invalid response from {printable(target.url, 200)}: HTTP {status}")
        _compare(body, check.key_authorization, target.url)
        return
    raise Failed("connection", f"too many redirects (more than {settings.max_redirects})")


def _compare(body: bytes, key_authorization: str, url: str) -> None:
    # RFC 8555 §8.3: whitespace at the end of the body is ignored; the rest must equal the key
    # authorization (compared in constant time).
    served = body.rstrip()
    if not hmac.compare_digest(served, key_authorization.encode("utf-8")):
        raise Failed(
            "unauthorized",
            f"the key authorization served at {printable(url, 200)} does not match the challenge "
            f"(expected {printable(key_authorization, 120)!r}, got {printable(served)!r})",
        )


def _target(url: str) -> _Target:
    if len(url) > MAX_URL:
        raise Failed("connection", f"a URL longer than {MAX_URL} characters is not fetched")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Failed("connection", f"{printable(url, 200)} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise Failed("connection", f"only http and https URLs are followed, not {printable(url, 200)}")
    if parts.username is not None or parts.password is not None:
        raise Failed("connection", "a redirect with user credentials in the URL is not followed")
    if not _HOST.fullmatch(parts.hostname) and literal_address(parts.hostname) is None:
        raise Failed("connection", f"{printable(parts.hostname)!r} is not a host name or an IP address")
    if port is None:
        port = 80 if scheme == "http" else 443
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(ord(c) <= 32 or ord(c) >= 127 for c in path):
        raise Failed("connection", f"the path of {printable(url, 200)} has characters a request line cannot hold")
    host = parts.hostname.lower()
    netloc = f"[{host}]" if ":" in host else host
    netloc += "" if port == (80 if scheme == "http" else 443) else f":{port}"
    return _Target(f"{scheme}://{netloc}{path}", scheme, host, port, path)  # normalised: no fragment


def _redirect(current: _Target, location: str, settings: ValidationSettings) -> _Target:
    """RFC 8555 §8.3 and §10.2: a redirect is followed only to http or https on the allowed ports."""
    if len(location) > MAX_URL:
        raise Failed("connection", f"a redirect longer than {MAX_URL} characters is not followed")
    target = _target(urljoin(current.url, location.strip()))
    if target.port not in settings.allowed_redirect_ports:
        allowed = ", ".join(str(p) for p in sorted(settings.allowed_redirect_ports))
        raise Failed("connection", f"a redirect to port {target.port} is not followed (only {allowed})")
    return target


def _get(
    target: _Target, resolved: Resolved, settings: ValidationSettings, deadline: Deadline, records: list
) -> tuple[int, str | None, bytes]:
    """One GET: the status, the Location header and at most ``max_body_bytes`` of the body."""
    sock, used, tried = connect(resolved, target.port, deadline)
    records.append(
        {
            "url": target.url,
            "hostname": target.host,
            "port": target.port,
            "addressesResolved": list(resolved.addresses),
            "addressUsed": used,
            "addressesTried": list(tried),
        }
    )
    try:
        if target.scheme == "https":
            sock = _tls(sock, target.host, deadline)
        return _exchange(sock, target, settings, deadline)
    except TimeoutError:
        raise Failed("connection", f"timeout reading from {printable(target.url, 200)}") from None
    except (http.client.HTTPException, ValueError):
        raise Failed("connection", f"malformed HTTP response from {printable(target.url, 200)}") from None
    except ssl.SSLError as failure:
        raise Failed("tls", f"TLS failed with {target.host}: {failure.reason or 'handshake failure'}") from None
    except OSError as failure:
        detail = failure.strerror or type(failure).__name__
        raise Failed("connection", f"connection to {printable(target.url, 200)} failed: {detail}") from None
    finally:
        sock.close()


def _exchange(
    sock: socket.socket, target: _Target, settings: ValidationSettings, deadline: Deadline
) -> tuple[int, str | None, bytes]:
    default = 80 if target.scheme == "http" else 443
    host = f"[{target.host}]" if ":" in target.host else target.host
    host_header = host if target.port == default else f"{host}:{target.port}"
    request = (
        f"GET {target.path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Accept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    )
    sock.settimeout(deadline.remaining())
    sock.sendall(request.encode("ascii"))
    response = http.client.HTTPResponse(_DeadlineSocket(sock, deadline), method="GET")  # type: ignore[arg-type]
    try:
        response.begin()
        location = response.getheader("Location") if response.status in REDIRECTS else None
        if location is not None:
            return response.status, location, b""  # a redirect's body is never read
        return response.status, None, _body(response, settings.max_body_bytes, target.url)
    finally:
        response.close()


def _body(response: http.client.HTTPResponse, limit: int, url: str) -> bytes:
    """At most ``limit`` bytes; one byte more is a failure (and nothing further is read)."""
    declared = response.getheader("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise Failed("unauthorized", f"the response from {printable(url, 200)} is larger than {limit} bytes")
    received = bytearray()
    while len(received) <= limit:
        chunk = response.read(limit + 1 - len(received))
        if not chunk:
            break
        received += chunk
    if len(received) > limit:
        raise Failed("unauthorized", f"the response from {printable(url, 200)} is larger than {limit} bytes")
    return bytes(received)


def _tls(sock: socket.socket, host: str, deadline: Deadline) -> ssl.SSLSocket:
    # Following a redirect to https, the certificate is not verified: what proves control of the
    # identifier is the key authorization in the body, not the server's certificate.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    sock.settimeout(deadline.remaining())
    sni = None if literal_address(host) is not None else host  # RFC 6066 §3: no IP addresses in SNI
    return context.wrap_socket(sock, server_hostname=sni)


class _DeadlineSocket:
    """What http.client needs of a socket (``makefile``), each read bounded by the deadline."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self._sock.settimeout(self._deadline.remaining())
        return self._sock.recv_into(buffer)
