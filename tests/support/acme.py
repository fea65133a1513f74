"""ACME test helpers: Chancery served by uvicorn in a thread, an http-01 responder, hand-built
JWS requests (for the bad-input tests) and ``acme`` library clients."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import josepy as jose
import pytest
import uvicorn
from acme import client as acme_client
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from chancery import wiring
from chancery.domain.acme import DirectoryPolicy
from chancery.domain.principals import Principal
from chancery.domain.records import CertificateAuthorityRecord
from chancery.domain.registration import ProfilePolicy
from chancery.services.acme.directories import NewDirectory
from chancery.services.registration.authorities import NewRa
from chancery.settings import Settings, load_settings
from chancery.web.app import create_app
from tests.support.receivers import free_port

JOSE = "application/jose+json"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Http01Responder:
    """Answers /.well-known/acme-challenge/TOKEN with the key authorization it was given."""

    def __init__(self) -> None:
        self.port = free_port()
        self.tokens: dict[str, str] = {}
        tokens = self.tokens

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook
                token = self.path.rsplit("/", 1)[-1]
                body = tokens.get(token, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def served(asgi_app: Any) -> Iterator[str]:
    """``asgi_app`` on 127.0.0.1 (uvicorn in a thread); yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(asgi_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def client_for(directory_url: str, key: ec.EllipticCurvePrivateKey | None = None) -> acme_client.ClientV2:
    key = key or ec.generate_private_key(ec.SECP256R1())
    network = acme_client.ClientNetwork(jose.JWKEC(key=key), alg=jose.ES256, user_agent="chancery-tests")
    directory = acme_client.ClientV2.get_directory(directory_url, network)
    return acme_client.ClientV2(directory, network)


class RawJson(jose.JSONDeSerializable):
    """A plain JSON object the ``acme`` library can sign and post."""

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value

    def to_partial_json(self) -> dict[str, Any]:
        return self.value

    @classmethod
    def from_json(cls, jobj: Any) -> RawJson:
        return cls(jobj)


def library_post(client: acme_client.ClientV2, url: str, payload: dict[str, Any] | None) -> Any:
    """A signed POST (POST-as-GET with ``None``) through the library's network layer."""
    body = None if payload is None else RawJson(payload)
    return client.net.post(url, body, new_nonce_url=client.directory["newNonce"])


def ec_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }


def thumbprint(jwk: dict[str, str]) -> str:
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    return b64(hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest())


def es256(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@dataclass
class RawClient:
    """Builds and posts JWS by hand, so tests can break any part of it."""

    http: httpx.Client
    directory: dict[str, Any]
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    kid: str | None = None

    def nonce(self) -> str:
        return self.http.head(self.directory["newNonce"]).headers["Replay-Nonce"]

    def body(self, url: str, payload: Any, **overrides: Any) -> bytes:
        header: dict[str, Any] = {"alg": "ES256", "nonce": self.nonce(), "url": url}
        if self.kid:
            header["kid"] = self.kid
        else:
            header["jwk"] = ec_jwk(self.key)
        for name, value in overrides.items():
            if value is None:
                header.pop(name, None)
            else:
                header[name] = value
        protected = b64(json.dumps(header).encode())
        encoded = (
            "" if payload is None else b64(payload if isinstance(payload, bytes) else json.dumps(payload).encode())
        )
        signature = es256(self.key, f"{protected}.{encoded}".encode())
        return json.dumps({"protected": protected, "payload": encoded, "signature": b64(signature)}).encode()

    def post(self, url: str, payload: Any, **overrides: Any) -> httpx.Response:
        return self.http.post(url, content=self.body(url, payload, **overrides), headers={"Content-Type": JOSE})

    def post_body(self, url: str, body: bytes, content_type: str = JOSE) -> httpx.Response:
        return self.http.post(url, content=body, headers={"Content-Type": content_type})

    def register(self, payload: dict[str, Any] | None = None) -> httpx.Response:
        response = self.post(self.directory["newAccount"], payload or {"termsOfServiceAgreed": True})
        if response.status_code in (200, 201):
            self.kid = response.headers["Location"]
        return response


# -- fixtures (imported by the ACME test modules) ---------------------------------------------


@pytest.fixture
def responder() -> Iterator[Http01Responder]:
    server = Http01Responder()
    yield server
    server.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, responder: Http01Responder) -> Settings:
    return load_settings(
        {},
        data_dir=str(tmp_path / "data"),
        database_url=database_url,
        kdf_scrypt_n=2**14,
        acme_validation_host="127.0.0.1",
        acme_http01_port=responder.port,
    )


@pytest.fixture
def base(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord) -> Iterator[str]:
    """RA ``acme`` (tls-server, no approval), ``held`` (2 approvals); directories ``main``, ``eab``
    (external account binding required) and ``held``."""
    app.ras.create(admin, NewRa("acme", "issuing", ("tls-server",), ProfilePolicy(approvals=0)))
    app.ras.create(admin, NewRa("held", "issuing", ("tls-server",), ProfilePolicy(approvals=2)))
    app.acme.directories.create(admin, NewDirectory("main", "acme", policy=DirectoryPolicy(challenges=("http-01",))))
    app.acme.directories.create(admin, NewDirectory("eab", "acme", policy=DirectoryPolicy(require_eab=True)))
    app.acme.directories.create(admin, NewDirectory("held", "held"))
    with served(create_app(app)) as url:
        yield url
