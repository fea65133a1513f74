"""The REST contract over HTTP (TestClient), with the real services behind it."""

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from fastapi.testclient import TestClient

from chancery import wiring
from chancery.domain.principals import Principal, Role
from chancery.domain.records import CertificateAuthorityRecord
from chancery.pki.encoding import load_certificates
from chancery.web.app import create_app
from tests.support.csrs import der, make_csr

pytestmark = pytest.mark.integration
VECTORS = Path(__file__).parents[1] / "vectors" / "csr"
PROBLEM = "application/problem+json"


@pytest.fixture
def client(app: wiring.Application, issuing: CertificateAuthorityRecord) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as http:
        yield http


@pytest.fixture
def auth(app: wiring.Application, admin: Principal) -> dict[str, str]:
    token = app.tokens.create(admin, "rest-tests", frozenset({Role.ADMINISTRATOR})).token
    return {"Authorization": f"Bearer {token}"}


def issue(client: TestClient, auth: dict[str, str], csr: bytes | None = None, **extra: object) -> dict:  # type: ignore[type-arg]
    body = {"csr": (csr or make_csr()[1]).decode(), "profile": "tls-server", **extra}
    response = client.post("/api/v1/cas/issuing/certificates", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def all_serials(client: TestClient, auth: dict[str, str]) -> list[str]:
    return [c["serial_number"] for c in client.get("/api/v1/certificates?limit=500", headers=auth).json()["items"]]


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/cas/{ca}/certificates" in spec["paths"]


def test_issue_show_download_revoke(client: TestClient, auth: dict[str, str]) -> None:
    body = issue(client, auth)
    serial = body["serial_number"]
    assert serial == serial.lower() and ":" not in serial
    leaf = x509.load_pem_x509_certificate(body["certificate"].encode())
    assert format(leaf.serial_number, "x") == serial
    assert [x509.load_pem_x509_certificate(p.encode()).subject.rfc4514_string() for p in body["chain"]] == [
        "CN=Test Issuing CA,O=Chancery Tests",
        "CN=Test Root CA,O=Chancery Tests",
    ]

    url = f"/api/v1/cas/issuing/certificates/{serial}"
    assert client.get(url, headers=auth).json()["status"] == "valid"
    pem = client.get(url + "?format=pem", headers=auth)
    assert pem.headers["content-type"] == "application/pem-certificate-chain"
    assert x509.load_pem_x509_certificate(pem.content) == leaf
    der_response = client.get(url, headers={**auth, "Accept": "application/pkix-cert"})
    assert der_response.headers["content-type"] == "application/pkix-cert"
    assert x509.load_der_x509_certificate(der_response.content) == leaf
    assert x509.load_der_x509_certificate(client.get(url + "?format=der", headers=auth).content) == leaf
    p7b = client.get(url + "?format=p7b", headers=auth)
    assert set(load_certificates(p7b.content)) >= {leaf}
    assert len(load_certificates(client.get(url + "?format=pem&chain=true", headers=auth).content)) == 3

    revoked = client.post(url + "/revoke", json={"reason": "keyCompromise"}, headers=auth)
    assert revoked.status_code == 200
    assert (revoked.json()["status"], revoked.json()["revocation_reason"]) == ("revoked", "keyCompromise")
    again = client.post(url + "/revoke", json={"reason": "keyCompromise"}, headers=auth)
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert again.json()["type"] == "urn:chancery:problem:already-revoked"


def test_der_csr_as_base64_and_renew_rekey_hold(client: TestClient, auth: dict[str, str]) -> None:
    key, pem = make_csr()
    body = issue(client, auth, csr=base64.b64encode(der(pem)))
    url = f"/api/v1/cas/issuing/certificates/{body['serial_number']}"
    renewed = client.post(url + "/renew", json={"validity_days": 30}, headers=auth)
    assert renewed.status_code == 201 and renewed.json()["renewal_of"] == body["serial_number"]
    rekeyed = client.post(url + "/rekey", json={"csr": make_csr()[1].decode()}, headers=auth)
    assert rekeyed.status_code == 201
    held = client.post(url + "/revoke", json={"reason": "certificateHold"}, headers=auth)
    assert held.json()["status"] == "on-hold"
    released = client.post(url + "/release-hold", headers=auth)
    assert released.json()["status"] == "valid"


def test_generate_returns_pkcs12(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/cas/issuing/certificates/generate",
        headers=auth,
        json={
            "subject": "CN=device-1",
            "sans": ["DNS:device-1.example.com"],
            "profile": "tls-client",
            "key_type": "ec-p256",
            "password": "device password",
        },
    )
    assert response.status_code == 201, response.text
    loaded = pkcs12.load_pkcs12(base64.b64decode(response.json()["pkcs12"]), b"device password")
    assert loaded.cert is not None and loaded.cert.certificate == x509.load_pem_x509_certificate(
        response.json()["certificate"].encode()
    )


def test_cas_and_chain(client: TestClient, auth: dict[str, str]) -> None:
    names = [c["name"] for c in client.get("/api/v1/cas", headers=auth).json()["items"]]
    assert names == ["root", "issuing"]
    created = client.post(
        "/api/v1/cas", headers=auth, json={"name": "team-a", "parent": "issuing", "subject": "CN=Team A CA"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["crl_url"].endswith("/crl/team-a.crl")
    chain = client.get("/api/v1/cas/team-a/chain", headers=auth)
    assert len(load_certificates(chain.content)) == 3
    assert (
        client.get("/api/v1/cas/team-a/chain?format=der", headers=auth).headers["content-type"]
        == "application/pkix-cert"
    )
    aia = client.get("/ca/issuing.crt")  # public, no token
    assert aia.status_code == 200 and aia.headers["content-type"] == "application/pkix-cert"
    x509.load_der_x509_certificate(aia.content)
    assert client.get("/ca/nope.crt").status_code == 404


def test_list_with_filters_and_cursor(client: TestClient, auth: dict[str, str]) -> None:
    for i in range(5):
        issue(client, auth, csr=make_csr(cn=f"h{i}.example.com", sans=(f"DNS:h{i}.example.com",))[1])
    first = client.get("/api/v1/cas/issuing/certificates?limit=2&san=example.com", headers=auth).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(
        f"/api/v1/cas/issuing/certificates?limit=10&san=example.com&cursor={first['next_cursor']}", headers=auth
    ).json()
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None
    expiring = client.get(
        "/api/v1/cas/issuing/certificates?expiring_within_days=3000&status=valid", headers=auth
    ).json()
    assert len(expiring["items"]) == 5


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        pytest.param(
            {"csr": "-----BEGIN CERTIFICATE REQUEST-----\nzzz\n-----END CERTIFICATE REQUEST-----"},
            400,
            "malformed",
            id="fail/malformed-pem",
        ),
        pytest.param(
            {"csr": base64.b64encode(b"\x30\x03\x02\x01\x01garbage").decode()}, 400, "malformed", id="fail/der-garbage"
        ),
        pytest.param({"csr": "%%% not base64 %%%"}, 400, "malformed", id="fail/not-base64"),
        pytest.param(
            {"csr": base64.b64encode((VECTORS / "bad_signature.der.csr").read_bytes()).decode()},
            400,
            "bad-csr",
            id="fail/bad-signature",
        ),
        pytest.param(
            {"csr": base64.b64encode((VECTORS / "short_rsa_key.der.csr").read_bytes()).decode()},
            400,
            "bad-public-key",
            id="fail/rsa-1024",
        ),
        pytest.param(
            {"csr": base64.b64encode((VECTORS / "secp256k1_key.der.csr").read_bytes()).decode()},
            400,
            "bad-public-key",
            id="fail/bad-curve",
        ),
        pytest.param({"csr": make_csr()[1].decode(), "profile": "nope"}, 404, "not-found", id="fail/unknown-profile"),
        pytest.param({"csr": make_csr()[1].decode(), "unexpected": 1}, 400, "malformed", id="fail/unknown-field"),
        pytest.param({"profile": "tls-server"}, 400, "malformed", id="fail/missing-csr"),
        pytest.param(
            {"csr": make_csr()[1].decode(), "validity_days": -5}, 400, "malformed", id="fail/negative-validity"
        ),
    ],
)
def test_bad_issuance_requests(client: TestClient, auth: dict[str, str], body: dict, status: int, kind: str) -> None:  # type: ignore[type-arg]
    before = all_serials(client, auth)
    response = client.post("/api/v1/cas/issuing/certificates", json={"profile": "tls-server", **body}, headers=auth)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == f"urn:chancery:problem:{kind}" and problem["status"] == status and problem["detail"]
    assert all_serials(client, auth) == before


def test_10000_sans_and_5mb_body(client: TestClient, auth: dict[str, str]) -> None:
    before = all_serials(client, auth)
    _, huge = make_csr(sans=tuple(f"DNS:h{i}.example.com" for i in range(10_000)))
    response = client.post("/api/v1/cas/issuing/certificates", json={"csr": huge.decode()}, headers=auth)
    assert response.status_code in (400, 413) and response.headers["content-type"] == PROBLEM
    body = b'{"csr": "' + b"A" * (5 * 1024 * 1024) + b'"}'
    response = client.post(
        "/api/v1/cas/issuing/certificates", content=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["type"] == "urn:chancery:problem:payload-too-large"
    chunks = (b"A" * 65536 for _ in range(100))  # streamed, no Content-Length
    response = client.post(
        "/api/v1/cas/issuing/certificates", content=chunks, headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert all_serials(client, auth) == before


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        pytest.param(
            "post", "/api/v1/cas/nope/certificates", {"csr": make_csr()[1].decode()}, 404, id="fail/unknown-ca"
        ),
        pytest.param("get", "/api/v1/cas/issuing/certificates/zz", None, 400, id="fail/bad-serial"),
        pytest.param("get", "/api/v1/cas/issuing/certificates/abc123", None, 404, id="fail/unknown-serial"),
        pytest.param("get", "/api/v1/cas/issuing/certificates/abc123?format=xml", None, 406, id="fail/unknown-format"),
        pytest.param("get", "/api/v1/cas/issuing/certificates?limit=9999", None, 400, id="fail/limit"),
        pytest.param("get", "/api/v1/cas/issuing/certificates?cursor=%21%21", None, 400, id="fail/cursor"),
        pytest.param("get", "/api/v1/nothing-here", None, 404, id="fail/unknown-route"),
    ],
)
def test_errors_are_problem_documents(
    client: TestClient, auth: dict[str, str], method: str, url: str, body: dict | None, status: int
) -> None:  # type: ignore[type-arg]
    response = getattr(client, method)(url, headers=auth, **({"json": body} if body is not None else {}))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"]


def test_bad_revocation_reason(client: TestClient, auth: dict[str, str]) -> None:
    serial = issue(client, auth)["serial_number"]
    response = client.post(f"/api/v1/cas/issuing/certificates/{serial}/revoke", json={"reason": "stolen"}, headers=auth)
    assert response.status_code == 400 and response.json()["type"] == "urn:chancery:problem:bad-revocation-reason"
    assert client.get(f"/api/v1/cas/issuing/certificates/{serial}", headers=auth).json()["status"] == "valid"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="fail/missing"),
        pytest.param("Basic dXNlcjpwYXNz", id="fail/wrong-scheme"),
        pytest.param("Bearer chy_0000000000000000_" + "A" * 43, id="fail/unknown-token"),
        pytest.param("Bearer garbage", id="fail/garbage"),
    ],
)
def test_authentication_is_required(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/cas", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == PROBLEM


def test_revoked_and_expired_tokens(client: TestClient, app: wiring.Application, admin: Principal) -> None:
    import datetime as dt

    created = app.tokens.create(admin, "short-lived", frozenset({Role.ADMINISTRATOR}), expires_in=dt.timedelta(hours=1))
    headers = {"Authorization": f"Bearer {created.token}"}
    assert client.get("/api/v1/cas", headers=headers).status_code == 200
    app.clock.advance(dt.timedelta(hours=2))  # type: ignore[attr-defined]
    assert client.get("/api/v1/cas", headers=headers).status_code == 401
    other = app.tokens.create(admin, "revoked", frozenset({Role.ADMINISTRATOR}))
    app.tokens.revoke(admin, other.record.token_id)
    assert client.get("/api/v1/cas", headers={"Authorization": f"Bearer {other.token}"}).status_code == 401


def test_auditor_token_reads_but_cannot_issue(client: TestClient, app: wiring.Application, admin: Principal) -> None:
    token = app.tokens.create(admin, "auditor", frozenset({Role.AUDITOR})).token
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/cas", headers=headers).status_code == 200
    response = client.post("/api/v1/cas/issuing/certificates", json={"csr": make_csr()[1].decode()}, headers=headers)
    assert response.status_code == 403 and response.json()["type"] == "urn:chancery:problem:forbidden"
