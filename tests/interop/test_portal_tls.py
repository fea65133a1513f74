"""The portal over HTTPS (``chancery serve --tls-cert --tls-key --client-ca``): staff log in with the
TLS client certificate of the connection, a connection without one cannot, and HSTS is sent.
The server and client certificates are issued by the site's own CA (profiles device and tls-client)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from chancery import wiring
from chancery.portal.security import HSTS, SESSION_COOKIE
from chancery.services.authority.issuance import IssueFromCsr
from tests.support.csrs import make_csr
from tests.support.portal import OPERATOR, FormClient, Site, start_site

pytestmark = pytest.mark.interop


def _issue(app: wiring.Application, directory: Path, name: str, profile: str, sans: tuple[str, ...]) -> None:
    """``name.pem`` (the certificate, then its chain) and ``name.key`` in ``directory``."""
    key, csr = make_csr(name, sans)
    issued = app.issuance.issue_from_csr(OPERATOR, IssueFromCsr("issuing", profile, csr))
    chain = [issued.certificate, *issued.chain[:-1]]
    (directory / f"{name}.pem").write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (directory / f"{name}.key").write_bytes(key_pem)
    if not (directory / "root.pem").exists():
        (directory / "root.pem").write_bytes(issued.chain[-1].public_bytes(serialization.Encoding.PEM))
        bundle = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in issued.chain)
        (directory / "client-cas.pem").write_bytes(bundle)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pki")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, pki: Path) -> Iterator[Site]:
    def prepare(app: wiring.Application) -> Sequence[str]:
        _issue(app, pki, "portal-server", "device", ("IP:127.0.0.1",))
        _issue(app, pki, "carl-laptop", "tls-client", ())
        app.accounts.set_certificate_match(OPERATOR, "carl", "subject:CN=carl-laptop")
        server = ["--tls-cert", str(pki / "portal-server.pem"), "--tls-key", str(pki / "portal-server.key")]
        return [*server, "--client-ca", str(pki / "client-cas.pem")]

    # The readiness probe runs before the tests' trust store exists; the tests verify the server.
    served = start_site(tmp_path_factory.mktemp("portal"), prepare=prepare, verify=False)
    yield served
    served.stop()


def context(pki: Path, client: str | None = None) -> ssl.SSLContext:
    trust = ssl.create_default_context(cafile=str(pki / "root.pem"))
    if client is not None:
        trust.load_cert_chain(pki / f"{client}.pem", pki / f"{client}.key")
    return trust


def test_staff_log_in_with_their_client_certificate(site: Site, pki: Path) -> None:
    carl = FormClient(site.portal, verify=context(pki, "carl-laptop"))
    try:
        page = carl.get("/login")
        assert page.headers["strict-transport-security"] == HSTS
        assert "Log in with my certificate" in page.text
        response = carl.post("/login/certificate", data={"csrf_token": carl.token("/login")})
        assert response.status_code == 303
        assert SESSION_COOKIE in carl.cookies
        assert "Logged in as <strong>carl</strong>" in carl.get("/certificates").text
    finally:
        carl.close()


def test_a_connection_without_a_certificate_cannot_use_that_login(site: Site, pki: Path) -> None:
    nobody = FormClient(site.portal, verify=context(pki))
    try:
        assert "Log in with my certificate" not in nobody.get("/login").text
        refused = nobody.post("/login/certificate", data={"csrf_token": nobody.token("/login")})
        assert refused.status_code == 401
        assert "this connection presented no client certificate" in refused.text
        assert SESSION_COOKIE not in nobody.cookies
    finally:
        nobody.close()
