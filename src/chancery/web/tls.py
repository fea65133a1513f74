"""HTTPS for ``chancery serve``: the server's SSL context and the ASGI TLS extension.

Uvicorn terminates TLS but does not tell the application who the client is. The
protocol classes here add ``scope["extensions"]["tls"]`` (the ASGI TLS extension,
https://asgi.readthedocs.io/en/latest/specs/tls.html) to every request made over
TLS, read from the connection itself: the client certificate that OpenSSL verified
during the handshake against the ``--client-ca`` bundle. Request headers never
play a part, so a client cannot claim a certificate it did not present. Plain
HTTP connections get no ``tls`` extension, as the specification requires.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from os import PathLike
from typing import Any, TypedDict

from cryptography import x509
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "H11TLSProtocol",
    "HttpToolsTLSProtocol",
    "TLSExtension",
    "connection_tls",
    "server_context",
    "ssl_options",
]

StrPath = str | PathLike[str]
TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


class TLSExtension(TypedDict):
    """``scope["extensions"]["tls"]`` as the ASGI TLS extension defines it."""

    server_cert: str | None
    client_cert_chain: list[str]
    client_cert_name: str | None
    client_cert_error: str | None
    tls_version: int | None
    cipher_suite: int | None


def _encrypted_key(*_: object) -> bytes:
    raise ValueError("the TLS private key is encrypted: give an unencrypted PEM key")


def server_context(cert: StrPath, key: StrPath, client_ca: StrPath | None = None) -> ssl.SSLContext:
    """TLS 1.2 or newer; with ``client_ca``, a client certificate is asked for, not required.

    A certificate the client presents must chain to one of the CAs in ``client_ca``
    (and nothing else: no system trust store), or the handshake fails.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # A TLS 1.2 renegotiation could change the client certificate after the connection's requests were told it
    context.options |= ssl.OP_NO_RENEGOTIATION
    context.load_cert_chain(cert, key, password=_encrypted_key)
    if client_ca is not None:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def _context_factory(config: Config, _default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """Uvicorn's ``ssl_context_factory``: :func:`server_context` from the ``ssl_*`` settings."""
    assert config.ssl_certfile is not None and config.ssl_keyfile is not None
    return server_context(config.ssl_certfile, config.ssl_keyfile, config.ssl_ca_certs)


def ssl_options(cert: StrPath, key: StrPath, client_ca: StrPath | None = None) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` serving HTTPS with :func:`server_context`.

    Plain values and a module-level factory only, so the configuration survives the
    trip to ``--workers`` processes.
    """
    return {
        "ssl_certfile": str(cert),
        "ssl_keyfile": str(key),
        "ssl_ca_certs": None if client_ca is None else str(client_ca),
        "ssl_cert_reqs": ssl.CERT_NONE if client_ca is None else ssl.CERT_OPTIONAL,
        "ssl_context_factory": _context_factory,
    }


def connection_tls(transport: asyncio.BaseTransport) -> TLSExtension | None:
    """The TLS extension of a connection (None when it is not TLS), from its handshake."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der: bytes | None = ssl_object.getpeercert(binary_form=True)
    chain: list[str] = []
    name: str | None = None
    if der:
        chain.append(ssl.DER_cert_to_PEM_cert(der))
        try:
            name = x509.load_der_x509_certificate(der).subject.rfc4514_string()
        except ValueError:  # accepted by OpenSSL, too malformed for cryptography to parse
            name = None
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": name,
        "client_cert_error": None,  # a certificate that fails verification ends the handshake
        "tls_version": TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


def _fresh(tls: TLSExtension) -> dict[object, object]:
    """A copy for one request, so that an application changing its scope affects no other request."""
    fresh: dict[object, object] = dict(tls.items())
    fresh["client_cert_chain"] = list(tls["client_cert_chain"])
    return fresh


class HttpToolsTLSProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol, adding the ASGI TLS extension to each request's scope."""

    _tls: TLSExtension | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._tls = connection_tls(transport)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._tls is not None:
            self.scope["extensions"] = {"tls": _fresh(self._tls)}


class _WithTLS:
    """The application, called with the connection's TLS extension in each scope."""

    def __init__(self, app: ASGIApp, tls: TLSExtension) -> None:
        self._app = app
        self._tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("extensions", {})["tls"] = _fresh(self._tls)
        await self._app(scope, receive, send)


class H11TLSProtocol(H11Protocol):
    """Uvicorn's h11 protocol, adding the ASGI TLS extension to each request's scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        tls = connection_tls(transport)
        if tls is not None:
            self.app = _WithTLS(self.app, tls)
