"""`chancery serve` over TLS with optional client certificates, and the ASGI TLS extension it gives the app.

The certificates are made here with pyca/cryptography: a server hierarchy (root, intermediate, a leaf
for 127.0.0.1), a bundle of two client CAs, and an unrelated CA whose client certificate must be refused.
"""

from __future__ import annotations

import datetime
import json
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chancery.protocols._tls_client import client_certificate
from chancery.web.tls import H11TLSProtocol, HttpToolsTLSProtocol, ssl_options
from tests.interop.conftest import OPENSSL, Cli
from tests.interop.server import Server

pytestmark = pytest.mark.interop


# --- certificates -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Interop"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def _issue(subject: str, issuer: Issued | None, *, ca: bool, eku: x509.ObjectIdentifier | None = None) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)  # OpenSSL checks validity against the real clock
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(subject) if issuer is None else issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    if eku == ExtendedKeyUsageOID.SERVER_AUTH:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False
        )
    return Issued(builder.sign(key if issuer is None else issuer.key, hashes.SHA256()), key)


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass(frozen=True)
class Pki:
    directory: Path
    server_root: Issued
    client_cas: tuple[Issued, Issued]
    clients: dict[str, Issued]  # alice (first client CA), bob (second), mallory (a CA outside the bundle)

    def path(self, name: str) -> Path:
        return self.directory / name

    def client_context(self, client: str | None = None, **settings: Any) -> ssl.SSLContext:
        """Trusts the server root only; presents ``client``'s certificate if given."""
        context = ssl.create_default_context(cafile=self.path("server-root.pem"))
        if client is not None:
            context.load_cert_chain(self.path(f"{client}.pem"), self.path(f"{client}.key"))
        for name, value in settings.items():
            setattr(context, name, value)
        return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    root = _issue("Server Root", None, ca=True)
    intermediate = _issue("Server Intermediate", root, ca=True)
    server = _issue("127.0.0.1", intermediate, ca=False, eku=ExtendedKeyUsageOID.SERVER_AUTH)
    client_cas = (_issue("Client CA 1", None, ca=True), _issue("Client CA 2", None, ca=True))
    other_ca = _issue("Another CA", None, ca=True)
    clients = {
        "alice": _issue("alice", client_cas[0], ca=False, eku=ExtendedKeyUsageOID.CLIENT_AUTH),
        "bob": _issue("bob", client_cas[1], ca=False, eku=ExtendedKeyUsageOID.CLIENT_AUTH),
        "mallory": _issue("mallory", other_ca, ca=False, eku=ExtendedKeyUsageOID.CLIENT_AUTH),
    }
    files = {
        "server-root.pem": _pem(root.cert),
        "server.pem": _pem(server.cert, intermediate.cert),
        "server.key": _key_pem(server.key),
        "client-cas.pem": _pem(*(ca.cert for ca in client_cas)),
    }
    for name, issued in clients.items():
        files[f"{name}.pem"] = _pem(issued.cert)
        files[f"{name}.key"] = _key_pem(issued.key)
    for name, data in files.items():
        (directory / name).write_bytes(data)
        (directory / name).chmod(0o600)
    return Pki(directory, root, client_cas, clients)


# --- the protocol classes in-process, with an app that echoes the TLS extension -----------------------------------


@dataclass
class EchoServer:
    url: str
    config: uvicorn.Config
    scopes: list[dict[str, Any]]


@contextmanager
def echo_server(protocol: type, loop: str, tls: dict[str, Any]) -> Iterator[EchoServer]:
    """Uvicorn in a thread, with ``protocol`` and an app that answers with its scope's TLS extension."""
    scopes: list[dict[str, Any]] = []

    async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scopes.append(scope)
        extensions = scope.get("extensions") or {}
        certificate = client_certificate(scope)
        body = {
            "scheme": scope["scheme"],
            "tls": extensions.get("tls", "absent"),
            "client_certificate": None if certificate is None else certificate.subject.rfc4514_string(),
        }
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    config = uvicorn.Config(
        echo, host="127.0.0.1", port=0, http=protocol, loop=loop, lifespan="off", log_config=None, **tls
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield EchoServer(f"{'https' if tls else 'http'}://127.0.0.1:{port}", config, scopes)
    finally:
        server.should_exit = True
        thread.join(10)


PROTOCOLS = {"httptools-uvloop": (HttpToolsTLSProtocol, "uvloop"), "h11-asyncio": (H11TLSProtocol, "asyncio")}


@pytest.fixture(params=PROTOCOLS.values(), ids=PROTOCOLS.keys())
def echo(request: pytest.FixtureRequest, pki: Pki) -> Iterator[EchoServer]:
    protocol, loop = request.param
    options = ssl_options(pki.path("server.pem"), pki.path("server.key"), pki.path("client-cas.pem"))
    with echo_server(protocol, loop, options) as server:
        yield server


def test_the_ssl_context_is_tls_1_2_plus_and_trusts_exactly_the_client_ca_bundle(echo: EchoServer, pki: Pki) -> None:
    context = echo.config.ssl
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_OPTIONAL
    assert context.options & ssl.OP_NO_RENEGOTIATION  # the certificate a connection's requests saw stays its own
    trusted = {x509.load_der_x509_certificate(der) for der in context.get_ca_certs(binary_form=True)}
    assert trusted == {ca.cert for ca in pki.client_cas}  # no system trust store


@pytest.mark.parametrize("client", ["alice", "bob"])
def test_a_client_certificate_from_the_bundle_reaches_the_app(echo: EchoServer, pki: Pki, client: str) -> None:
    with httpx.Client(verify=pki.client_context(client)) as http:
        first = http.get(f"{echo.url}/whoami").json()
        second = http.get(f"{echo.url}/again").json()  # same connection, a fresh scope

    expected = pki.clients[client].cert
    assert first == second
    assert first["scheme"] == "https"
    tls = first["tls"]
    assert [x509.load_pem_x509_certificate(pem.encode()) for pem in tls["client_cert_chain"]] == [expected]
    assert tls["client_cert_name"] == expected.subject.rfc4514_string() == f"CN={client},O=Interop"
    assert tls["client_cert_error"] is None
    assert tls["server_cert"] is None and tls["cipher_suite"] is None
    assert tls["tls_version"] == 0x0304
    assert first["client_certificate"] == f"CN={client},O=Interop"  # client_certificate(scope) parses it
    assert len(echo.scopes) == 2 and echo.scopes[0]["extensions"] is not echo.scopes[1]["extensions"]


def test_tls_1_2_is_reported_as_such(echo: EchoServer, pki: Pki) -> None:
    context = pki.client_context("alice", maximum_version=ssl.TLSVersion.TLSv1_2)
    tls = httpx.get(f"{echo.url}/", verify=context).json()["tls"]
    assert tls["tls_version"] == 0x0303 and tls["client_cert_name"] == "CN=alice,O=Interop"


def test_without_a_client_certificate_the_chain_is_empty_whatever_the_headers_say(echo: EchoServer, pki: Pki) -> None:
    alice = _pem(pki.clients["alice"].cert).decode().strip()
    forged = {
        "X-SSL-Client-Cert": alice.replace("\n", " "),
        "X-Client-Cert": alice.replace("\n", ""),
        "SSL-Client-Cert": ":" + alice.replace("\n", "") + ":",
        "X-Forwarded-Client-Cert": 'Subject="CN=alice,O=Interop"',
    }
    answer = httpx.get(f"{echo.url}/", verify=pki.client_context(), headers=forged).json()

    assert answer["scheme"] == "https"
    assert answer["tls"]["client_cert_chain"] == []
    assert answer["tls"]["client_cert_name"] is None
    assert answer["client_certificate"] is None


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2], ids=["tls1.3", "tls1.2"])
def test_a_client_certificate_from_another_ca_fails_the_handshake(
    echo: EchoServer, pki: Pki, version: ssl.TLSVersion
) -> None:
    """The server aborts its handshake. Asyncio and uvloop close the connection without sending OpenSSL's alert,
    so the client sees the connection end: before the handshake completes with TLS 1.2; with TLS 1.3, whose
    client finishes its handshake before the server has checked the certificate, on reading the answer."""
    with pytest.raises(httpx.TransportError) as refused:
        httpx.get(f"{echo.url}/", verify=pki.client_context("mallory", maximum_version=version))
    if version == ssl.TLSVersion.TLSv1_2:
        assert isinstance(refused.value, httpx.ConnectError)
    assert echo.scopes == []  # the app never saw a request
    answer = httpx.get(f"{echo.url}/", verify=pki.client_context(maximum_version=version)).json()
    assert answer["tls"]["client_cert_chain"] == []  # the same client without the certificate is served


@pytest.mark.parametrize(("protocol", "loop"), PROTOCOLS.values(), ids=PROTOCOLS.keys())
def test_plain_http_has_no_tls_extension(protocol: type, loop: str) -> None:
    with echo_server(protocol, loop, {}) as server:
        answer = httpx.get(f"{server.url}/", headers={"X-SSL-Client-Cert": "forged"}).json()
    assert answer == {"scheme": "http", "tls": "absent", "client_certificate": None}
    assert client_certificate({"type": "http"}) is None


# --- the real `chancery serve` ------------------------------------------------------------------------------------


def tls_args(pki: Pki, *, client_ca: bool = True) -> list[str]:
    args = ["--tls-cert", str(pki.path("server.pem")), "--tls-key", str(pki.path("server.key"))]
    return [*args, "--client-ca", str(pki.path("client-cas.pem"))] if client_ca else args


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    cli = Cli(tmp_path_factory.mktemp("serve") / "data")
    cli("init")
    return cli


@pytest.fixture(scope="module")
def served(cli: Cli, pki: Pki) -> Iterator[Server]:
    server = Server(cli, args=tls_args(pki), verify=pki.client_context()).start()
    try:
        yield server
    finally:
        server.stop()


def s_client(port: int, pki: Pki, client: str | None, *extra: str) -> subprocess.CompletedProcess[str]:
    """``openssl s_client`` sending one request; ``-ign_eof`` keeps it reading until the server closes."""
    args = ["s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(pki.path("server-root.pem"))]
    args += ["-verify_return_error", "-ign_eof", *extra]
    if client is not None:
        args += ["-cert", str(pki.path(f"{client}.pem")), "-key", str(pki.path(f"{client}.key"))]
    request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    return subprocess.run([OPENSSL, *args], input=request, capture_output=True, text=True, timeout=30)


def test_chancery_serve_answers_over_https(served: Server, pki: Pki) -> None:
    assert served.url.startswith("https://127.0.0.1:")
    for context in (pki.client_context(), pki.client_context("alice")):
        response = httpx.get(f"{served.url}/health", verify=context)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
    with pytest.raises(httpx.TransportError):  # the server certificate is checked by the client
        httpx.get(f"{served.url}/health", verify=ssl.create_default_context(cafile=pki.path("client-cas.pem")))
    with pytest.raises(httpx.TransportError):  # no plain HTTP on the TLS port
        httpx.get(f"http://127.0.0.1:{served.port}/health")


@pytest.mark.parametrize("version", ["-tls1_3", "-tls1_2"])
def test_openssl_s_client_completes_a_handshake_with_a_client_certificate(
    served: Server, pki: Pki, version: str
) -> None:
    result = s_client(served.port, pki, "alice", version)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verify return code: 0 (ok)" in result.stdout
    assert f"Protocol  : TLSv1.{version[-1]}" in result.stdout or f"TLSv1.{version[-1]}" in result.stdout
    assert "HTTP/1.1 200 OK" in result.stdout and '{"status":"ok"}' in result.stdout


@pytest.mark.parametrize("version", ["-tls1_3", "-tls1_2"])
def test_openssl_s_client_with_a_certificate_from_another_ca_is_refused(served: Server, pki: Pki, version: str) -> None:
    result = s_client(served.port, pki, "mallory", version)
    assert result.returncode != 0
    assert "HTTP/1.1 200" not in result.stdout


def test_tls_1_1_is_refused(served: Server, pki: Pki) -> None:
    result = s_client(served.port, pki, None, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
    assert result.returncode != 0
    assert "HTTP/1.1 200" not in result.stdout


def test_several_workers_serve_https(cli: Cli, pki: Pki) -> None:
    server = Server(cli, args=[*tls_args(pki), "--workers", "2"], verify=pki.client_context("bob")).start()
    try:
        with httpx.Client(verify=pki.client_context("bob")) as http:
            for _ in range(4):
                assert http.get(f"{server.url}/health", headers={"Connection": "close"}).status_code == 200
        assert "HTTP/1.1 200 OK" in s_client(server.port, pki, "alice").stdout
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--tls-cert", "server.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-key", "server.key"], "--tls-cert and --tls-key go together"),
        (["--client-ca", "client-cas.pem"], "--client-ca needs --tls-cert and --tls-key"),
        (["--tls-cert", "server.pem", "--tls-key", "alice.key"], "cannot serve HTTPS with"),
    ],
)
def test_incomplete_or_mismatched_tls_options_are_refused(pki: Pki, tmp_path: Path, args: list[str], says: str) -> None:
    cli = Cli(tmp_path / "data")
    paths = [str(pki.path(arg)) if arg.endswith((".pem", ".key")) else arg for arg in args]
    result = cli("serve", "--port", "1", *paths, check=False)
    assert result.returncode != 0
    assert says in result.stderr
