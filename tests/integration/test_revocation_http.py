"""Revocation over HTTP: /crl and /ocsp endpoints, bulk revocation and CRL publication over REST."""

import base64
import urllib.parse
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.x509 import ocsp as pyca_ocsp
from fastapi.testclient import TestClient

from chancery import wiring
from chancery.domain.principals import Principal, Role
from chancery.domain.records import CertificateAuthorityRecord
from chancery.pki.encoding import public_key_sha256
from chancery.pki.ocsp import make_cert_id
from chancery.protocols.ocsp import OcspEndpoint
from chancery.web.app import create_app
from tests.support.csrs import make_csr
from tests.unit.pki.test_ocsp import request_der

pytestmark = pytest.mark.integration


@pytest.fixture
def client(app: wiring.Application, issuing: CertificateAuthorityRecord) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as http:
        yield http


@pytest.fixture
def auth(app: wiring.Application, admin: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.tokens.create(admin, 'rev', frozenset({Role.ADMINISTRATOR})).token}"}


@pytest.fixture
def ca_cert(issuing: CertificateAuthorityRecord) -> x509.Certificate:
    return x509.load_der_x509_certificate(issuing.certificate)  # type: ignore[arg-type]


def issue(client: TestClient, auth: dict[str, str], profile: str = "tls-server", key_type: str = "ec-p256") -> dict:  # type: ignore[type-arg]
    sans = ("DNS:h.example.com",) if profile == "tls-server" else ()
    body = {"csr": make_csr(sans=sans, key_type=key_type)[1].decode(), "profile": profile}
    response = client.post("/api/v1/cas/issuing/certificates", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_crl_endpoints(client: TestClient, auth: dict[str, str]) -> None:
    serial = issue(client, auth)["serial_number"]
    client.post(f"/api/v1/cas/issuing/certificates/{serial}/revoke", json={"reason": "keyCompromise"}, headers=auth)
    full = client.get("/crl/issuing.crl")
    assert full.status_code == 200 and full.headers["content-type"] == "application/pkix-crl"
    assert {r.serial_number for r in x509.load_der_x509_crl(full.content)} == {int(serial, 16)}
    for header in ("etag", "last-modified", "expires", "cache-control"):
        assert header in full.headers
    assert "max-age=" in full.headers["cache-control"]
    assert client.get("/crl/issuing.crl", headers={"If-None-Match": full.headers["etag"]}).status_code == 304
    pem = client.get("/crl/issuing.crl?format=pem")
    assert x509.load_pem_x509_crl(pem.content) == x509.load_der_x509_crl(full.content)
    delta = x509.load_der_x509_crl(client.get("/crl/issuing-delta.crl").content)
    assert delta.extensions.get_extension_for_class(x509.DeltaCRLIndicator).value.crl_number > 0
    root_crl = client.get("/crl/root.crl")
    assert root_crl.status_code == 200


@pytest.mark.parametrize(
    ("path", "status"),
    [
        pytest.param("/crl/nope.crl", 404, id="fail/unknown-ca"),
        pytest.param("/crl/nope-delta.crl", 404, id="fail/unknown-ca-delta"),
        pytest.param("/crl/issuing/7.crl", 404, id="fail/unknown-partition"),
        pytest.param("/crl/issuing/x.crl", 400, id="fail/bad-partition"),
        pytest.param("/crl/issuing.pem", 404, id="fail/not-a-crl-name"),
        pytest.param("/crl/issuing.crl?format=xml", 400, id="fail/bad-format"),
    ],
)
def test_crl_errors(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_ocsp_post_and_get(client: TestClient, auth: dict[str, str], ca_cert: x509.Certificate) -> None:
    serial = int(issue(client, auth)["serial_number"], 16)
    request = request_der([make_cert_id(ca_cert, serial)])
    post = client.post("/ocsp", content=request, headers={"Content-Type": "application/ocsp-request"})
    assert post.status_code == 200 and post.headers["content-type"] == "application/ocsp-response"
    assert pyca_ocsp.load_der_ocsp_response(post.content).certificate_status is pyca_ocsp.OCSPCertStatus.GOOD
    encoded = urllib.parse.quote(base64.b64encode(request).decode(), safe="")
    get = client.get(f"/ocsp/{encoded}")
    assert get.status_code == 200
    assert get.content == post.content  # the same pre-signed response
    assert "max-age=" in get.headers["cache-control"] and "expires" in get.headers and "etag" in get.headers
    urlsafe = base64.urlsafe_b64encode(request).decode().rstrip("=")
    assert client.get(f"/ocsp/{urlsafe}").content == post.content


@pytest.mark.parametrize(
    ("method", "path", "body", "http_status", "ocsp_status"),
    [
        pytest.param("get", "/ocsp/!!!not-base64!!!", None, 400, 1, id="fail/get-invalid-base64"),
        pytest.param("get", "/ocsp/", None, 400, 1, id="fail/get-empty"),
        pytest.param("post", "/ocsp", b"garbage", 200, 1, id="fail/post-garbage"),
        pytest.param("post", "/ocsp", b"\x30" * 20_000, 413, 1, id="fail/post-oversized"),
        pytest.param("put", "/ocsp", b"", 405, 1, id="fail/method"),
    ],
)
def test_ocsp_errors(
    client: TestClient, method: str, path: str, body: bytes | None, http_status: int, ocsp_status: int
) -> None:
    response = getattr(client, method)(path, **({"content": body} if body is not None else {}))
    assert response.status_code == http_status
    assert pyca_ocsp.load_der_ocsp_response(response.content).response_status.value == ocsp_status


def test_bulk_revocation_over_rest(
    client: TestClient, auth: dict[str, str], app: wiring.Application, ca_cert: x509.Certificate
) -> None:
    clients = [issue(client, auth, "tls-client") for _ in range(4)]
    servers = [issue(client, auth) for _ in range(3)]
    dry = client.post(
        "/api/v1/cas/issuing/revocations",
        json={"profile": "tls-client", "dry_run": True, "reason": "superseded"},
        headers=auth,
    )
    assert dry.json() == {"matched": 4, "revoked": 0}
    done = client.post(
        "/api/v1/cas/issuing/revocations", json={"profile": "tls-client", "reason": "superseded"}, headers=auth
    )
    assert done.json() == {"matched": 4, "revoked": 4}
    crl = x509.load_der_x509_crl(client.get("/crl/issuing.crl").content)
    assert {r.serial_number for r in crl} == {int(c["serial_number"], 16) for c in clients}
    for certificate in servers:
        assert (
            client.get(f"/api/v1/cas/issuing/certificates/{certificate['serial_number']}", headers=auth).json()[
                "status"
            ]
            == "valid"
        )
    # by key: every certificate with this key, whichever profile
    leaf = x509.load_pem_x509_certificate(servers[0]["certificate"].encode())
    by_key = client.post(
        "/api/v1/cas/issuing/revocations",
        json={"public_key_sha256": public_key_sha256(leaf.public_key()), "reason": "keyCompromise"},
        headers=auth,
    )
    assert by_key.json() == {"matched": 1, "revoked": 1}
    request = request_der([make_cert_id(ca_cert, leaf.serial_number)])
    answer = pyca_ocsp.load_der_ocsp_response(client.post("/ocsp", content=request).content)
    assert answer.certificate_status is pyca_ocsp.OCSPCertStatus.REVOKED
    bad = client.post("/api/v1/cas/issuing/revocations", json={"reason": "certificateHold"}, headers=auth)
    assert bad.status_code == 400


def test_publish_and_settings_over_rest(client: TestClient, auth: dict[str, str]) -> None:
    settings = client.get("/api/v1/cas/issuing/revocation-settings", headers=auth).json()
    assert settings["partitions"] == 0 and settings["ocsp_signing"] == "responder"
    changed = client.put(
        "/api/v1/cas/issuing/revocation-settings",
        json={**settings, "partitions": 2, "crl_validity": 3 * 86400},
        headers=auth,
    )
    assert changed.status_code == 200
    published = client.post("/api/v1/cas/issuing/crls", headers=auth)
    assert published.status_code == 201 and len(published.json()["partitions"]) == 2
    assert client.get("/crl/issuing/1.crl").status_code == 200
    shrink = client.put("/api/v1/cas/issuing/revocation-settings", json={**settings, "partitions": 1}, headers=auth)
    assert shrink.status_code == 409
    invalid = client.put(
        "/api/v1/cas/issuing/revocation-settings", json={**settings, "ocsp_validity": 60}, headers=auth
    )
    assert invalid.status_code == 400


def test_an_ocsp_failure_is_an_internal_error_response(app: wiring.Application) -> None:
    class Broken:
        def answer(self, request: bytes) -> object:
            raise RuntimeError("boom")

    http = TestClient(OcspEndpoint(Broken(), app.clock))  # type: ignore[arg-type]  # HTTP only: no lifespan
    response = http.post("/ocsp", content=b"\x30\x00")
    assert response.status_code == 500
    assert (
        pyca_ocsp.load_der_ocsp_response(response.content).response_status
        is pyca_ocsp.OCSPResponseStatus.INTERNAL_ERROR
    )
    assert b"boom" not in response.content
