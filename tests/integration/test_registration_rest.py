"""The registration authority over REST (TestClient and httpx against the in-process app), on both
databases: anonymous submission, two-person approval, download by request ID, key pickup,
renewal and revocation requests, the officers' queue, RA management, and what attackers try."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from fastapi.testclient import TestClient

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.principals import Principal, Role
from chancery.domain.queries import AuditFilter
from chancery.domain.records import CertificateAuthorityRecord
from chancery.domain.registration import ProfilePolicy, new_request_id
from chancery.pki.encoding import load_certificates
from chancery.services.approvals import APPROVALS_POLICY
from chancery.services.identity.accounts import NewGrant
from chancery.services.registration.authorities import NewRa
from chancery.web.app import create_app
from tests.support.csrs import make_csr

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"
OFFICERS = ("olga", "oscar", "otto")
Headers = dict[str, str]
ANONYMOUS: Headers = {}


@pytest.fixture
def client(app: wiring.Application, issuing: CertificateAuthorityRecord) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as http:
        yield http


@pytest.fixture
def people(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord) -> dict[str, Headers]:
    """RA ``web`` on CA issuing: tls-server needs 2 approvals and takes anonymous requests, tls-client
    needs none and no anonymous ones; a revocation needs 1. olga, oscar and otto are its officers,
    rita may submit, vera is an officer of another RA only. Each maps to a bearer token."""
    policy = ProfilePolicy(approvals=2, allow_anonymous=True)
    app.ras.create(admin, NewRa("web", "issuing", ("tls-server",), policy, revocation_approvals=1))
    app.ras.set_policy(admin, "web", "tls-client", ProfilePolicy(approvals=0))
    for name in (*OFFICERS, "rita", "vera"):
        app.accounts.add_user(admin, name)
    for name in OFFICERS:
        app.accounts.grant(admin, NewGrant(Role.RA_OFFICER, user=name, ra="web"))
    app.accounts.grant(admin, NewGrant(Role.REQUESTER, user="rita", ra="web"))
    app.accounts.grant(admin, NewGrant(Role.RA_OFFICER, user="vera", ra="elsewhere"))
    tokens = {name: app.tokens.create_for_user(admin, name).token for name in (*OFFICERS, "rita", "vera")}
    tokens["admin"] = app.tokens.create(admin, "rest-admin", frozenset({Role.ADMINISTRATOR})).token
    return {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}


def submit(
    client: TestClient, headers: Headers = ANONYMOUS, profile: str = "tls-server", cn: str = "www.example.com"
) -> httpx.Response:
    _, csr = make_csr(cn, ("DNS:www.example.com",))
    return client.post("/api/v1/ras/web/requests", json={"csr": csr.decode(), "profile": profile}, headers=headers)


def submitted(client: TestClient, headers: Headers = ANONYMOUS, profile: str = "tls-server") -> str:
    response = submit(client, headers, profile)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def decide(client: TestClient, request_id: str, verb: str, headers: Headers, **body: str) -> httpx.Response:
    return client.post(f"/api/v1/requests/{request_id}/{verb}", json=body, headers=headers)


def assert_problem(response: httpx.Response, status: int, detail: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert detail in response.json()["detail"]


def queue(client: TestClient, people: dict[str, Headers], state: str = "pending") -> list[dict[str, object]]:
    response = client.get(f"/api/v1/requests?ra=web&state={state}", headers=people["olga"])
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_two_officers_approve_and_anyone_with_the_id_downloads_the_chain(
    client: TestClient, people: dict[str, Headers], tmp_path: Path
) -> None:
    response = submit(client)
    assert response.status_code == 201, response.text
    body = response.json()
    request_id = body["id"]
    assert (body["status"], body["approvals_required"], body["approvals"]) == ("pending", 2, [])
    assert response.headers["location"] == f"/api/v1/requests/{request_id}"

    first = decide(client, request_id, "approve", people["olga"], comment="checked the hostname")
    assert first.status_code == 200 and first.json()["status"] == "pending"
    assert_problem(decide(client, request_id, "approve", people["olga"]), 409, "already approved")
    public = client.get(f"/api/v1/requests/{request_id.lower().replace('-', '')}").json()
    assert public["id"] == request_id and public["status"] == "pending"
    assert [set(a) for a in public["approvals"]] == [{"approved_at"}]  # no names for anonymous callers
    assert "requester" not in public
    officer_view = client.get(f"/api/v1/requests/{request_id}", headers=people["otto"]).json()
    assert [(a["approver"], a["comment"]) for a in officer_view["approvals"]] == [("olga", "checked the hostname")]
    assert officer_view["requester"] == "anonymous"

    second = decide(client, request_id, "approve", people["oscar"])
    assert second.status_code == 200 and second.json()["status"] == "issued"
    status = client.get(f"/api/v1/requests/{request_id}").json()
    assert status["certificate_url"] == f"/api/v1/requests/{request_id}/certificate"

    pem = client.get(status["certificate_url"] + "?format=pem")
    assert pem.headers["content-type"] == "application/pem-certificate-chain"
    leaf, issuing_ca, root = x509.load_pem_x509_certificates(pem.content)
    assert format(leaf.serial_number, "x") == status["serial"]
    (tmp_path / "cert.pem").write_bytes(leaf.public_bytes(Encoding.PEM))
    for name in ("root", "issuing"):  # the trust anchors from the CA's public AIA URLs, not from the download
        der = client.get(f"/ca/{name}.crt").content
        (tmp_path / f"{name}.pem").write_text(x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode())
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "cert.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0 and "cert.pem: OK" in verified.stdout, verified.stdout + verified.stderr

    der = client.get(status["certificate_url"], params={"format": "der"})
    assert der.headers["content-type"] == "application/pkix-cert"
    assert x509.load_der_x509_certificate(der.content) == leaf
    p7b = client.get(status["certificate_url"], headers={"Accept": "application/pkcs7-mime"})
    assert p7b.headers["content-type"] == "application/pkcs7-mime"
    assert set(load_certificates(p7b.content)) == {leaf, issuing_ca, root}


def test_racing_final_approvals_issue_exactly_one_certificate(
    client: TestClient, people: dict[str, Headers], app: wiring.Application, admin: Principal
) -> None:
    transport = httpx.ASGITransport(app=client.app)  # type: ignore[arg-type]

    async def race(url: str) -> list[httpx.Response]:
        """oscar and otto, each with their own client, send the last approval needed at once."""
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://ra") as oscar,
            httpx.AsyncClient(transport=transport, base_url="http://ra") as otto,
        ):
            both = (oscar.post(url, json={}, headers=people["oscar"]), otto.post(url, json={}, headers=people["otto"]))
            return list(await asyncio.gather(*both))

    serials = []
    for _ in range(3):
        request_id = submitted(client)
        assert decide(client, request_id, "approve", people["olga"]).json()["status"] == "pending"
        outcomes = sorted(asyncio.run(race(f"/api/v1/requests/{request_id}/approve")), key=lambda r: r.status_code)
        assert [r.status_code for r in outcomes] == [200, 409]
        assert outcomes[0].json()["status"] == "issued"
        serials.append(client.get(f"/api/v1/requests/{request_id}").json()["serial"])
    listed = client.get("/api/v1/certificates?ca=issuing", headers=people["admin"]).json()["items"]
    assert sorted(c["serial_number"] for c in listed) == sorted(serials)
    issued = app.audit.search(admin, AuditFilter(action="certificate.issued"), 100)
    assert len([e for e in issued if e.actor == "ra:web"]) == 3


def _truncated_csr() -> str:
    text = make_csr()[1].decode()
    return text[: len(text) // 2] + "\n-----END CERTIFICATE REQUEST-----\n"


_EMPTY_DER = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"


@pytest.mark.parametrize(
    ("changes", "headers", "status", "detail"),
    [
        ({"profile": "tls-client"}, {}, 401, "does not take anonymous requests"),
        ({}, {"Authorization": "Bearer chy_0123456789abcdef_guess"}, 401, "invalid bearer token"),
        ({}, {"Authorization": ""}, 401, "missing bearer token"),
        ({}, {"Authorization": "Basic b2xnYTpvbGdh"}, 401, "Bearer scheme"),
        ({"csr": "garbage!"}, {}, 400, "neither PEM nor base64"),
        ({"csr": _truncated_csr()}, {}, 400, "not a valid CSR"),
        ({"csr": _EMPTY_DER}, {}, 400, ""),
        ({"subject": "CN=x"}, {}, 400, 'either "csr"'),
        ({"key_type": "ec-p256"}, {}, 400, "go with"),
        ({"csr": None}, {}, 400, 'either "csr"'),
        ({"admin": True}, {}, 400, "admin"),
        ({"profile": "code-signing"}, {}, 404, "does not take profile"),
        ({"email": "not an address"}, {}, 400, "not an e-mail address"),
        ({"note": "n" * 1001}, {}, 400, "note"),
        ({"csr": "A" * 70_000}, {}, 400, "csr"),
    ],
    ids=[
        "fail/anonymous-where-the-policy-forbids",
        "fail/unknown-token-is-never-anonymous",
        "fail/empty-authorization-header",
        "fail/basic-auth",
        "fail/not-pem-nor-base64",
        "fail/truncated-csr",
        "fail/empty-der",
        "fail/csr-and-subject",
        "fail/csr-with-key-type",
        "fail/neither-csr-nor-subject",
        "fail/unknown-field",
        "fail/profile-not-taken-by-the-ra",
        "fail/bad-contact-address",
        "fail/long-note",
        "fail/oversized-csr-field",
    ],
)
def test_bad_submissions_are_problems_that_record_nothing(
    client: TestClient,
    people: dict[str, Headers],
    changes: dict[str, object],
    headers: Headers,
    status: int,
    detail: str,
) -> None:
    body = {"csr": make_csr()[1].decode(), "profile": "tls-server", **changes}
    assert_problem(client.post("/api/v1/ras/web/requests", json=body, headers=headers), status, detail)
    assert queue(client, people) == []
    assert queue(client, people, "issued") == []


@pytest.mark.parametrize(
    ("content_type", "content", "status", "detail"),
    [
        ("text/plain", b"{}", 415, "application/json"),
        ("application/x-www-form-urlencoded", b"csr=x&profile=tls-server", 415, "application/json"),
        ("application/json", b"{not json", 400, "JSON"),
        ("application/json", b"[]", 400, "dictionary"),
        ("application/json", b"{" + b" " * (10 * 1024 * 1024) + b"}", 413, "larger than"),
    ],
    ids=["fail/text-plain", "fail/form-encoded", "fail/invalid-json", "fail/json-array", "fail/ten-megabytes"],
)
def test_bodies_that_are_not_a_json_object_are_problems(
    client: TestClient, people: dict[str, Headers], content_type: str, content: bytes, status: int, detail: str
) -> None:
    response = client.post("/api/v1/ras/web/requests", content=content, headers={"Content-Type": content_type})
    assert_problem(response, status, detail)
    assert queue(client, people) == []


def test_a_script_in_the_subject_is_kept_as_text_in_json(client: TestClient, people: dict[str, Headers]) -> None:
    response = submit(client, people["rita"], "tls-client", cn="<script>alert(1)</script>")
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["subject"].replace("\\", "") == "CN=<script>alert(1)</script>"
    status = client.get(f"/api/v1/requests/{response.json()['id']}")
    assert status.headers["content-type"] == "application/json"
    leaf = x509.load_pem_x509_certificates(client.get(status.json()["certificate_url"]).content)[0]
    assert leaf.subject.rfc4514_string().replace("\\", "") == "CN=<script>alert(1)</script>"


def test_guessed_request_ids_are_404_then_429_for_that_address(
    client: TestClient, people: dict[str, Headers], clock: FixedClock
) -> None:
    real = submitted(client)
    guesses = [new_request_id() for _ in range(27)] + ["not-an-id", "U" * 16, "1" * 200]
    for guess in guesses:
        response = client.get(f"/api/v1/requests/{guess}")
        assert_problem(response, 404)
        assert response.json()["detail"] == "no such request"
    limited = client.get(f"/api/v1/requests/{new_request_id()}/certificate")
    assert_problem(limited, 429)
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert client.get(f"/api/v1/requests/{real}").status_code == 429  # hits are refused too: no oracle
    assert decide(client, real, "approve", people["olga"]).status_code == 429
    clock.advance(dt.timedelta(seconds=61))
    assert client.get(f"/api/v1/requests/{real}").json()["status"] == "pending"


def test_approving_an_expired_request_is_409_and_it_shows_expired(
    client: TestClient, people: dict[str, Headers], clock: FixedClock
) -> None:
    request_id = submitted(client)
    expires_at = dt.datetime.fromisoformat(client.get(f"/api/v1/requests/{request_id}").json()["expires_at"])
    clock.set(expires_at + dt.timedelta(seconds=1))
    assert_problem(decide(client, request_id, "approve", people["olga"]), 409, "expired")
    assert client.get(f"/api/v1/requests/{request_id}").json()["status"] == "expired"
    assert [r["id"] for r in queue(client, people, "expired")] == [request_id]
    assert_problem(decide(client, request_id, "approve", people["oscar"]), 409, "expired")


@pytest.mark.parametrize(
    ("who", "status", "detail"),
    [
        ("token", 403, "not a user account"),
        ("vera", 403, "may not approve"),
        ("rita", 403, "may not approve"),
        ("nobody", 401, "missing bearer token"),
    ],
    ids=["fail/service-token", "fail/officer-of-another-ra", "fail/requester-role-only", "fail/anonymous"],
)
def test_who_may_not_approve(
    client: TestClient, people: dict[str, Headers], app: wiring.Application, who: str, status: int, detail: str
) -> None:
    request_id = submitted(client)
    headers = {**people, "token": people["admin"], "nobody": ANONYMOUS}[who]
    assert_problem(decide(client, request_id, "approve", headers), status, detail)
    assert_problem(decide(client, request_id, "deny", headers, reason="no"), status)
    body = client.get(f"/api/v1/requests/{request_id}", headers=people["olga"]).json()
    assert (body["status"], body["approvals"]) == ("pending", [])


def test_the_requester_cannot_approve_their_own_request(client: TestClient, people: dict[str, Headers]) -> None:
    request_id = submitted(client, people["olga"])
    assert_problem(decide(client, request_id, "approve", people["olga"]), 403, "cannot approve")
    assert decide(client, request_id, "approve", people["oscar"]).json()["status"] == "pending"
    assert decide(client, request_id, "approve", people["otto"]).json()["status"] == "issued"


def test_an_approval_stops_counting_when_its_approver_loses_the_role(
    client: TestClient, people: dict[str, Headers], app: wiring.Application, admin: Principal
) -> None:
    request_id = submitted(client)
    assert decide(client, request_id, "approve", people["olga"]).json()["status"] == "pending"
    grant = next(g for g in app.accounts.list_grants(admin) if g.grantee == "olga")
    app.accounts.revoke_grant(admin, grant.grant_id)
    after = decide(client, request_id, "approve", people["oscar"]).json()
    assert after["status"] == "pending"
    assert [a["approver"] for a in after["approvals"]] == ["olga", "oscar"]
    assert decide(client, request_id, "approve", people["otto"]).json()["status"] == "issued"


def test_deny_needs_a_reason_and_the_requester_sees_it(client: TestClient, people: dict[str, Headers]) -> None:
    request_id = submitted(client)
    assert_problem(decide(client, request_id, "deny", people["olga"]), 400, "needs a reason")
    assert_problem(client.post(f"/api/v1/requests/{request_id}/deny", headers=people["olga"]), 400, "needs a reason")
    denied = decide(client, request_id, "deny", people["olga"], reason="not our hostname")
    assert denied.status_code == 200 and denied.json()["decided_by"] == "olga"
    public = client.get(f"/api/v1/requests/{request_id}").json()
    assert (public["status"], public["reason"]) == ("denied", "not our hostname")
    assert "decided_by" not in public
    assert_problem(client.get(f"/api/v1/requests/{request_id}/certificate"), 409, "denied")
    assert_problem(decide(client, request_id, "approve", people["oscar"]), 409, "denied")


def test_cancelling(client: TestClient, people: dict[str, Headers]) -> None:
    anonymous = submitted(client)
    cancelled = decide(client, anonymous, "cancel", ANONYMOUS, reason="typo in the name")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_problem(decide(client, anonymous, "cancel", ANONYMOUS), 409, "cancelled")

    ritas = submitted(client, people["rita"])
    assert_problem(decide(client, ritas, "cancel", ANONYMOUS), 403, "only the requester or an officer")
    assert_problem(decide(client, ritas, "cancel", people["vera"]), 403, "only the requester or an officer")
    assert decide(client, ritas, "cancel", people["rita"]).json()["status"] == "cancelled"
    by_officer = submitted(client, people["rita"])
    assert decide(client, by_officer, "cancel", people["otto"]).json()["status"] == "cancelled"
    held_by_a_user = submitted(client)  # an anonymous request: its ID is the credential, logged in or not
    assert decide(client, held_by_a_user, "cancel", people["rita"]).json()["status"] == "cancelled"


def test_server_side_key_generation_and_a_single_pickup(
    client: TestClient, people: dict[str, Headers], app: wiring.Application
) -> None:
    body = {"subject": "CN=device.example.com", "sans": ["DNS:device.example.com"], "profile": "tls-server"}
    response = client.post("/api/v1/ras/web/requests", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    request_id, token = response.json()["id"], response.json()["pickup_token"]
    assert "pickup_token" not in client.get(f"/api/v1/requests/{request_id}").json()
    url = f"/api/v1/requests/{request_id}/pkcs12"
    assert_problem(client.post(url, json={"pickup_token": token, "password": "device password"}), 409, "no key yet")
    for officer in ("olga", "oscar"):
        decide(client, request_id, "approve", people[officer])

    assert_problem(client.post(url, json={"pickup_token": "wrong", "password": "device password"}), 403, "wrong")
    assert_problem(client.post(url, json={"pickup_token": token, "password": "short"}), 400, "password")
    collected = client.post(url, json={"pickup_token": token, "password": "device password"})
    assert collected.status_code == 200
    assert collected.headers["content-type"] == "application/pkcs12"
    assert collected.headers["cache-control"] == "no-store"
    loaded = pkcs12.load_pkcs12(collected.content, b"device password")
    assert loaded.key is not None and loaded.cert is not None
    leaf = x509.load_pem_x509_certificates(client.get(f"/api/v1/requests/{request_id}/certificate").content)[0]
    assert loaded.cert.certificate == leaf
    assert loaded.key.public_key() == leaf.public_key()
    assert_problem(client.post(url, json={"pickup_token": token, "password": "device password"}), 409, "collected")
    assert client.get(f"/api/v1/requests/{request_id}").json()["key_collected"] is True
    assert_problem(client.get(f"/api/v1/requests/{request_id}/certificate?format=p12"), 400, "pickup token")


def test_renewal_and_revocation_requests(client: TestClient, people: dict[str, Headers]) -> None:
    issued = submit(client, people["rita"], "tls-client").json()
    assert issued["status"] == "issued"
    old = issued["serial"]

    renewed = client.post("/api/v1/ras/web/renewals", json={"serial": old}, headers=people["rita"])
    assert renewed.status_code == 201, renewed.text
    assert (renewed.json()["kind"], renewed.json()["status"], renewed.json()["target_serial"]) == (
        "renewal",
        "issued",
        old,
    )
    new = renewed.json()["serial"]
    assert new != old
    leaf = x509.load_pem_x509_certificates(client.get(renewed.json()["certificate_url"]).content)[0]
    assert format(leaf.serial_number, "x") == new

    body = {"serial": new, "reason": "keyCompromise", "note": "laptop stolen"}
    revocation = client.post("/api/v1/ras/web/revocations", json=body, headers=people["rita"])
    assert revocation.status_code == 201, revocation.text
    assert (revocation.json()["status"], revocation.json()["revocation_reason"]) == ("pending", "keyCompromise")
    certificate_url = f"/api/v1/cas/issuing/certificates/{new}"
    assert client.get(certificate_url, headers=people["admin"]).json()["status"] == "valid"
    done = decide(client, revocation.json()["id"], "approve", people["olga"]).json()
    assert (done["status"], done["serial"]) == ("revoked", new)
    shown = client.get(certificate_url, headers=people["admin"]).json()
    assert (shown["status"], shown["revocation_reason"]) == ("revoked", "keyCompromise")


@pytest.mark.parametrize(
    ("path", "body", "who", "status", "detail"),
    [
        ("renewals", {}, "nobody", 401, "missing bearer token"),
        ("revocations", {"reason": "keyCompromise"}, "nobody", 401, "missing bearer token"),
        ("renewals", {}, "vera", 403, "did not request"),
        ("revocations", {"reason": "keyCompromise"}, "vera", 403, "did not request"),
        ("revocations", {"reason": "removeFromCRL"}, "rita", 400, "removeFromCRL"),
        ("revocations", {"reason": "bored"}, "rita", 400, "bored"),
        ("revocations", {}, "rita", 400, "reason"),
        ("renewals", {"serial": "00ff"}, "rita", 404, "no certificate"),
        ("renewals", {"serial": "not hex"}, "rita", 400, ""),
    ],
    ids=[
        "fail/anonymous-renewal",
        "fail/anonymous-revocation",
        "fail/someone-elses-renewal",
        "fail/someone-elses-revocation",
        "fail/remove-from-crl",
        "fail/unknown-reason",
        "fail/no-reason",
        "fail/unknown-serial",
        "fail/malformed-serial",
    ],
)
def test_bad_renewal_and_revocation_requests(
    client: TestClient,
    people: dict[str, Headers],
    path: str,
    body: dict[str, str],
    who: str,
    status: int,
    detail: str,
) -> None:
    serial = submit(client, people["rita"], "tls-client").json()["serial"]
    headers = {**people, "nobody": ANONYMOUS}[who]
    response = client.post(f"/api/v1/ras/web/{path}", json={"serial": serial, **body}, headers=headers)
    assert_problem(response, status, detail)
    assert queue(client, people) == []


def test_the_officers_queue_and_lint_preview(client: TestClient, people: dict[str, Headers], clock: FixedClock) -> None:
    request_id = submitted(client)
    clock.advance(dt.timedelta(minutes=1))
    keygen = client.post("/api/v1/ras/web/requests", json={"subject": "CN=a.example.com", "profile": "tls-server"})
    items = queue(client, people)
    assert [r["id"] for r in items] == [keygen.json()["id"], request_id]  # newest first
    assert items[1]["requester"] == "anonymous"
    assert queue(client, people, "issued") == []

    preview = client.get(f"/api/v1/requests/{request_id}/preview", headers=people["olga"])
    assert preview.status_code == 200, preview.text
    assert preview.json()["lint"]["passed"] is True
    assert preview.json()["profile"] == "tls-server" and preview.json()["ca"] == "issuing"
    assert_problem(client.get(f"/api/v1/requests/{keygen.json()['id']}/preview", headers=people["olga"]), 409)

    assert_problem(client.get("/api/v1/requests", headers=people["rita"]), 403)
    assert_problem(client.get("/api/v1/requests?ra=web", headers=people["vera"]), 403)
    assert_problem(client.get("/api/v1/requests"), 401)
    assert_problem(client.get(f"/api/v1/requests/{request_id}/preview", headers=people["rita"]), 403)
    assert_problem(client.get("/api/v1/requests?state=lost", headers=people["olga"]), 400)
    rita_view = client.get(f"/api/v1/requests/{request_id}", headers=people["rita"]).json()
    assert "requester" not in rita_view  # a requester does not read the RA's queue


def test_ras_are_public_and_managed_by_administrators(
    client: TestClient, people: dict[str, Headers], app: wiring.Application, admin: Principal
) -> None:
    listed = client.get("/api/v1/ras").json()["items"]
    assert [(r["name"], r["ca"], r["allows_anonymous"]) for r in listed] == [("web", "issuing", True)]
    profiles = {p["profile"]: (p["approvals"], p["allow_anonymous"]) for p in listed[0]["profiles"]}
    assert profiles == {"tls-server": (2, True), "tls-client": (0, False)}
    assert "notify_emails" not in listed[0] and "approver_role" not in listed[0]["profiles"][0]

    new = {
        "name": "vpn",
        "ca": "issuing",
        "profiles": ["tls-client"],
        "policy": {"approvals": 1, "allow_anonymous": True},
        "notify_emails": ["pki@example.com"],
    }
    assert_problem(client.post("/api/v1/ras", json=new, headers=people["rita"]), 403)
    created = client.post("/api/v1/ras", json=new, headers=people["admin"])
    assert created.status_code == 201, created.text
    assert created.json()["notify_emails"] == ["pki@example.com"]
    url = "/api/v1/ras/vpn/profiles/tls-server"
    changed = client.put(url, json={"approvals": 3, "approver_role": "ca-operator"}, headers=people["admin"])
    assert changed.status_code == 200, changed.text
    policies = {p["profile"]: (p["approvals"], p["approver_role"]) for p in changed.json()["profiles"]}
    assert policies == {"tls-client": (1, "ra-officer"), "tls-server": (3, "ca-operator")}
    assert_problem(client.put(url, json={"approver_role": "requester"}, headers=people["admin"]), 400)
    assert_problem(client.put(url, json={"approvals": 9}, headers=people["admin"]), 400)
    removed = client.delete("/api/v1/ras/vpn/profiles/tls-client", headers=people["admin"])
    assert [p["profile"] for p in removed.json()["profiles"]] == ["tls-server"]
    assert_problem(client.delete(url, headers=people["admin"]), 400, "last profile")
    assert client.get("/api/v1/ras/vpn").json()["profiles"][0]["approvals"] == 3

    app.policies.set(admin, APPROVALS_POLICY, 1)
    pending = client.post("/api/v1/ras", json={**new, "name": "later"}, headers=people["admin"])
    assert pending.status_code == 202 and pending.json()["type"].endswith("approval-required")
    assert pending.headers["location"] == f"/api/v1/operations/{pending.json()['operation']}"
    assert_problem(client.get("/api/v1/ras/later"), 404)
