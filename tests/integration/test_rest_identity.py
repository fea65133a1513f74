"""Identity and dual control over REST: login, tokens, users, grants, pending operations (TestClient)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from chancery import wiring
from chancery.domain.principals import Principal, Role
from chancery.domain.queries import AuditFilter
from chancery.domain.records import CertificateAuthorityRecord
from chancery.errors import Unauthorized
from chancery.services.approvals import APPROVALS_POLICY
from chancery.services.identity.accounts import NewGrant
from chancery.web.app import create_app
from tests.support.csrs import make_csr

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"
PASSWORDS = {"alice": "first long passphrase", "bob": "second long passphrase", "rita": "third long passphrase"}


@pytest.fixture
def client(app: wiring.Application, issuing: CertificateAuthorityRecord) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as http:
        yield http


@pytest.fixture
def people(app: wiring.Application, admin: Principal) -> None:
    for name, password in PASSWORDS.items():
        app.accounts.add_user(admin, name, password)
    app.accounts.grant(admin, NewGrant(Role.ADMINISTRATOR, user="alice"))
    app.accounts.grant(admin, NewGrant(Role.ADMINISTRATOR, user="bob"))
    app.accounts.grant(admin, NewGrant(Role.REQUESTER, user="rita", ca="issuing"))


def login(client: TestClient, name: str, password: str | None = None) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": name, "password": password or PASSWORDS[name]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_login_returns_a_token_that_acts_as_the_user(client: TestClient, people: None) -> None:
    response = client.post("/api/v1/auth/login", json={"username": "rita", "password": PASSWORDS["rita"]})
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == "rita" and body["expires_at"] is not None and len(body["token"]) > 30
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"}).json()
    assert me["name"] == "rita"
    assert me["grants"] == [{"role": "requester", "ca": "issuing", "profile": None, "ra": None}]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "rita", "password": "wrong password entirely"},
        {"username": "nobody", "password": "any password at all"},
        {"username": "*)(uid=*", "password": "any password at all"},
    ],
)
def test_a_failed_login_is_one_answer_and_audited(
    client: TestClient, people: None, app: wiring.Application, admin: Principal, body: dict[str, str]
) -> None:
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"].startswith("login failed")
    assert "token" not in response.json()
    failed = app.audit.search(admin, AuditFilter(action="login.failed"), 10)
    assert [e.target for e in failed] == [body["username"]]
    assert body["password"] not in failed[0].details_json


@pytest.mark.parametrize(
    "body",
    [
        {"username": "rita"},
        {"username": "", "password": "x"},
        {"username": "rita", "password": "x" * 5000},
        {"username": "u" * 500, "password": "x"},
        {"username": "rita", "password": "x", "admin": True},
        [],
    ],
)
def test_malformed_logins_are_refused_before_any_check(
    client: TestClient, people: None, app: wiring.Application, admin: Principal, body: object
) -> None:
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert app.audit.search(admin, AuditFilter(action="login"), 10) == []


def test_lockout_over_rest(client: TestClient, people: None, app: wiring.Application, admin: Principal) -> None:
    for _ in range(5):
        assert (
            client.post("/api/v1/auth/login", json={"username": "rita", "password": "guess guess"}).status_code == 401
        )
    right = client.post("/api/v1/auth/login", json={"username": "rita", "password": PASSWORDS["rita"]})
    assert right.status_code == 401  # locked: the right password does not help now
    assert [e.target for e in app.audit.search(admin, AuditFilter(action="account.locked"), 10)] == ["rita"]


def test_requests_without_credentials_are_refused(client: TestClient) -> None:
    for method, url in [("GET", "/api/v1/users"), ("GET", "/api/v1/audit"), ("GET", "/api/v1/operations")]:
        response = client.request(method, url)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_requester_is_refused_administration(client: TestClient, people: None) -> None:
    rita = login(client, "rita")
    assert client.get("/api/v1/users", headers=rita).status_code == 403
    assert client.post("/api/v1/users", json={"name": "mallory"}, headers=rita).status_code == 403
    grant = {"role": "administrator", "user": "rita"}
    assert client.post("/api/v1/grants", json=grant, headers=rita).status_code == 403
    assert client.get("/api/v1/audit", headers=rita).status_code == 403
    assert client.post("/api/v1/tokens", json={"user": "alice"}, headers=rita).status_code == 403


def test_a_scoped_token_acts_only_on_its_ca(client: TestClient, people: None) -> None:
    alice = login(client, "alice")
    created = client.post("/api/v1/tokens", json={"user": "alice", "ca": "root", "name": "root-only"}, headers=alice)
    assert created.status_code == 201, created.text
    scoped = {"Authorization": f"Bearer {created.json()['token']}"}
    body = {"csr": make_csr()[1].decode(), "profile": "tls-server"}
    refused = client.post("/api/v1/cas/issuing/certificates", json=body, headers=scoped)
    assert refused.status_code == 403
    assert client.post("/api/v1/cas/issuing/certificates", json=body, headers=alice).status_code == 201


def test_a_revoked_token_stops_working(client: TestClient, people: None) -> None:
    alice = login(client, "alice")
    created = client.post("/api/v1/tokens", json={"user": "alice", "expires_in_days": 30}, headers=alice).json()
    token = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/auth/me", headers=token).status_code == 200
    listed = client.get("/api/v1/tokens", headers=alice).json()
    assert created["token_id"] in {t["token_id"] for t in listed}
    assert all("token" not in t for t in listed)  # the secret is shown once
    assert client.delete(f"/api/v1/tokens/{created['token_id']}", headers=alice).status_code == 204
    assert client.get("/api/v1/auth/me", headers=token).status_code == 401


def test_users_groups_and_grants(client: TestClient, people: None) -> None:
    alice = login(client, "alice")
    made = client.post("/api/v1/users", json={"name": "olga", "password": "fourth long passphrase"}, headers=alice)
    assert made.status_code == 201 and made.json()["source"] == "local"
    assert "password" not in made.text
    assert client.post("/api/v1/groups", json={"name": "ops"}, headers=alice).status_code == 201
    assert client.post("/api/v1/groups/ops/members", json={"user": "olga"}, headers=alice).status_code == 204
    grant = {"role": "ca-operator", "group": "ops", "ca": "issuing"}
    granted = client.post("/api/v1/grants", json=grant, headers=alice)
    assert granted.status_code == 201, granted.text
    olga = login(client, "olga", "fourth long passphrase")
    me = client.get("/api/v1/auth/me", headers=olga).json()
    assert {"role": "ca-operator", "ca": "issuing", "profile": None, "ra": None} in me["grants"]
    assert client.post("/api/v1/users/olga/disable", headers=alice).json()["disabled"] is True
    assert client.get("/api/v1/auth/me", headers=olga).status_code == 401
    assert client.post("/api/v1/users/olga/explode", headers=alice).status_code == 404
    assert client.post("/api/v1/users", json={"name": "bad name!"}, headers=alice).status_code == 400
    weak = client.post("/api/v1/users", json={"name": "weak", "password": "short"}, headers=alice)
    assert weak.status_code == 400 and "characters" in weak.json()["detail"]


def test_dual_control_over_rest(client: TestClient, people: None, app: wiring.Application, admin: Principal) -> None:
    alice, bob = login(client, "alice"), login(client, "bob")
    assert client.put(f"/api/v1/policies/{APPROVALS_POLICY}", json={"value": 1}, headers=alice).status_code == 200

    body = {"name": "issuing-2", "subject": "CN=Issuing 2,O=Chancery Tests", "key_type": "ec-p256", "parent": "root"}
    asked = client.post("/api/v1/cas", json=body, headers=alice)
    assert asked.status_code == 202, asked.text
    operation = asked.json()["operation"]
    assert asked.headers["location"] == f"/api/v1/operations/{operation}"
    assert client.get("/api/v1/cas/issuing-2", headers=alice).status_code == 404

    own = client.post(f"/api/v1/operations/{operation}/approval", headers=alice)
    assert own.status_code == 403
    pending = client.get(asked.headers["location"], headers=bob).json()
    assert pending["state"] == "pending" and pending["requested_by"] == "alice" and pending["approvals"] == []

    approved = client.post(f"/api/v1/operations/{operation}/approval", headers=bob)
    assert approved.status_code == 200
    assert approved.json()["state"] == "executed"
    assert client.get("/api/v1/cas/issuing-2", headers=alice).json()["status"] == "active"
    again = client.post(f"/api/v1/operations/{operation}/approval", headers=bob)
    assert again.status_code == 409
    assert client.get("/api/v1/operations?state=pending", headers=bob).json() == []
    assert client.get("/api/v1/operations?state=bogus", headers=bob).status_code == 400


def test_refused_requests_are_audited_once_a_minute(
    client: TestClient, people: None, app: wiring.Application, admin: Principal
) -> None:
    rita = login(client, "rita")
    body = {"csr": make_csr()[1].decode(), "profile": "tls-server"}
    for _ in range(3):
        assert client.post("/api/v1/cas/root/certificates", json=body, headers=rita).status_code == 403
    assert client.get("/api/v1/audit", headers=rita).status_code == 403
    denied = app.audit.search(admin, AuditFilter(action="access.denied"), 10)
    assert [(e.actor, e.outcome, e.ca, e.details["permission"]) for e in denied] == [
        ("rita", "denied", None, "audit:read"),
        ("rita", "denied", "root", "certificate:issue"),
    ]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ('{"username": "al\\ud800ice", "password": "any password at all"}', 400),
        ('{"username": "alice", "password": "pass\\udfffword long"}', 400),
        ('{"username": "al\\u0000ice", "password": "any password at all"}', 401),
    ],
    ids=["surrogate-in-name", "surrogate-in-password", "nul-in-name"],
)
def test_unstorable_characters_are_a_refused_login_not_a_crash(
    client: TestClient, people: None, body: str, status: int
) -> None:
    response = client.post("/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("username", "password"),
    [("al\ud800ice", "any password at all"), ("alice", "pass\udfffword long"), ("al\x00ice", "any password")],
)
def test_the_service_refuses_unstorable_logins_and_audits_them(
    app: wiring.Application, admin: Principal, people: None, username: str, password: str
) -> None:
    with pytest.raises(Unauthorized):
        app.authenticator.password_login(username, password)
    (failed,) = app.audit.search(admin, AuditFilter(action="login.failed"), 10)
    assert failed.details["reason"].startswith("unstorable")
