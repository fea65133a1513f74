"""The portal's staff pages on both databases, through the ASGI application over https (so the
browser-like client keeps the ``Secure`` cookies): login and logout, the approval queue with a
denial that needs a reason, the CA and certificate browser with filters, revocation with a
reason, the audit view for auditors, refusals as friendly 403 pages (audited), HSTS over TLS."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7
from fastapi.testclient import TestClient

from chancery import wiring
from chancery.domain.principals import Principal, Role
from chancery.domain.queries import AuditFilter
from chancery.domain.records import CertificateAuthorityRecord
from chancery.domain.registration import ProfilePolicy, RequestState
from chancery.errors import ErrorKind
from chancery.portal.rendering import STATUS_BY_KIND
from chancery.portal.security import CSRF_COOKIE, HSTS, SESSION_COOKIE
from chancery.services.authority.issuance import IssueFromCsr
from chancery.services.identity.accounts import NewGrant
from chancery.services.registration.authorities import NewRa
from chancery.services.registration.intake import CsrSubmission
from chancery.web.app import create_app
from tests.support.csrs import make_csr

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
AUDITOR = Principal("audit-reader", frozenset({Role.AUDITOR}))
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture
def staffed(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord) -> wiring.Application:
    """RA web (tls-server, one approval, anonymous allowed); olga an officer of it, audrey an auditor,
    carl a CA operator."""
    app.ras.create(admin, NewRa("web", "issuing", ("tls-server",), ProfilePolicy(approvals=1, allow_anonymous=True)))
    for name, role, scope in (
        ("olga", Role.RA_OFFICER, {"ra": "web"}),
        ("audrey", Role.AUDITOR, {}),
        ("carl", Role.CA_OPERATOR, {}),
    ):
        app.accounts.add_user(admin, name, PASSWORD)
        app.accounts.grant(admin, NewGrant(role, user=name, **scope))
    return app


@pytest.fixture
def browser(staffed: wiring.Application) -> Iterator[TestClient]:
    with TestClient(create_app(staffed), base_url="https://portal.example", follow_redirects=False) as client:
        yield client


def token(client: TestClient, path: str) -> str:
    found = CSRF.search(client.get(f"/portal{path}").text)
    assert found is not None, path
    return found.group(1)


def log_in(client: TestClient, user: str) -> None:
    form = {"csrf_token": token(client, "/login"), "username": user, "password": PASSWORD}
    response = client.post("/portal/login", data=form)
    assert response.status_code == 303, response.text


def anonymous_request(app: wiring.Application, cn: str = "www.example.com") -> str:
    _, csr = make_csr(cn, (f"DNS:{cn}",))
    return app.ra_intake.submit_csr(None, CsrSubmission("web", "tls-server", csr)).request.request_id


def issue(app: wiring.Application, admin: Principal, cn: str) -> str:
    _, csr = make_csr(cn, (f"DNS:{cn}",))
    return app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-server", csr)).record.serial.hex


def test_the_portal_error_table_is_exhaustive() -> None:
    assert set(STATUS_BY_KIND) == set(ErrorKind)


@pytest.mark.parametrize(
    ("user", "landing"),
    [
        pytest.param("olga", "/portal/queue", id="ok/officer-to-queue"),
        pytest.param("carl", "/portal/queue", id="ok/operator-to-queue"),
        pytest.param("audrey", "/portal/queue", id="ok/auditor-to-queue"),
    ],
)
def test_login_starts_a_session_and_logout_ends_it(browser: TestClient, user: str, landing: str) -> None:
    assert browser.get("/portal/queue").headers["location"] == "/portal/login"
    form = {"csrf_token": token(browser, "/login"), "username": user, "password": PASSWORD}
    response = browser.post("/portal/login", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == f"{landing}?notice=logged-in"
    assert {SESSION_COOKIE, CSRF_COOKIE} <= set(browser.cookies)
    assert f"Logged in as <strong>{user}</strong>" in browser.get("/portal/").text
    session_cookie = browser.cookies[SESSION_COOKIE]

    out = browser.post("/portal/logout", data={"csrf_token": token(browser, "/")})
    assert out.status_code == 303
    assert SESSION_COOKIE not in browser.cookies
    browser.cookies.set(SESSION_COOKIE, session_cookie, domain="portal.example")  # a stolen copy is dead too
    assert browser.get("/portal/queue").headers["location"] == "/portal/login"


def test_a_wrong_password_says_login_failed_and_is_audited(staffed: wiring.Application, browser: TestClient) -> None:
    form = {"csrf_token": token(browser, "/login"), "username": "olga", "password": "not it at all"}
    response = browser.post("/portal/login", data=form)
    assert response.status_code == 401
    assert "login failed" in response.text
    assert SESSION_COOKIE not in browser.cookies
    failed = staffed.audit.search(AUDITOR, AuditFilter(action="login.failed"))
    assert [(e.target, e.details["reason"]) for e in failed] == [("olga", "wrong password")]


def test_a_denial_needs_a_reason_and_the_requester_sees_it(staffed: wiring.Application, browser: TestClient) -> None:
    request_id = anonymous_request(staffed)
    log_in(browser, "olga")
    queue = browser.get("/portal/queue")
    assert request_id in queue.text and "CN=www.example.com" in queue.text
    page = browser.get(f"/portal/queue/{request_id}")
    assert "Lint preview" in page.text and "No blocking findings" in page.text

    bare = browser.post(f"/portal/queue/{request_id}/deny", data={"csrf_token": token(browser, "/"), "comment": ""})
    assert bare.status_code == 400
    assert "RA web needs a reason to deny a request" in bare.text
    assert staffed.ra_delivery.status(request_id).state is RequestState.PENDING

    form = {"csrf_token": token(browser, "/"), "comment": "not our host"}
    denied = browser.post(f"/portal/queue/{request_id}/deny", data=form)
    assert denied.status_code == 303
    assert staffed.ra_delivery.status(request_id).state is RequestState.DENIED
    seen = browser.get(f"/portal/requests/{request_id}").text
    assert "The request was denied by olga" in seen and "not our host" in seen


def test_the_certificate_browser_filters_and_revokes_with_a_reason(
    staffed: wiring.Application, admin: Principal, browser: TestClient
) -> None:
    kept = issue(staffed, admin, "kept.example.com")
    doomed = issue(staffed, admin, "doomed.example.com")
    log_in(browser, "carl")
    cas = browser.get("/portal/cas").text
    assert "CN=Test Issuing CA,O=Chancery Tests" in cas and "CN=Test Root CA,O=Chancery Tests" in cas

    found = browser.get("/portal/certificates", params={"subject": "doomed", "ca": "issuing"}).text
    assert doomed in found and kept not in found
    form = {"csrf_token": token(browser, f"/certificates/issuing/{doomed}"), "reason": "keyCompromise"}
    revoked = browser.post(f"/portal/certificates/issuing/{doomed}/revoke", data=form)
    assert revoked.status_code == 303
    page = browser.get(revoked.headers["location"]).text
    assert "The certificate was revoked." in page and "keyCompromise" in page

    only_revoked = browser.get("/portal/certificates", params={"status": "revoked"}).text
    assert doomed in only_revoked and kept not in only_revoked
    bad = browser.get("/portal/certificates", params={"status": "sideways"})
    assert bad.status_code == 400 and "unknown status" in bad.text


def test_the_audit_view_is_for_auditors_and_a_refusal_is_a_friendly_audited_403(
    staffed: wiring.Application, browser: TestClient
) -> None:
    request_id = anonymous_request(staffed)
    log_in(browser, "olga")
    refused = browser.get("/portal/audit")
    assert refused.status_code == 403
    assert "Not allowed" in refused.text and "olga may not audit:read" in refused.text
    denials = staffed.audit.search(AUDITOR, AuditFilter(action="access.denied"))
    assert [(e.actor, e.details["permission"]) for e in denials] == [("olga", "audit:read")]

    browser.post("/portal/logout", data={"csrf_token": token(browser, "/")})
    log_in(browser, "audrey")
    entries = browser.get("/portal/audit", params={"action": "request."}).text
    assert "request.submitted" in entries and request_id in entries
    assert "login.succeeded" not in entries  # filtered out


def test_hsts_is_sent_over_tls(browser: TestClient) -> None:
    assert browser.get("/portal/").headers["strict-transport-security"] == HSTS


def test_the_issued_certificate_downloads_as_pem_der_and_p7b(staffed: wiring.Application, browser: TestClient) -> None:
    request_id = anonymous_request(staffed, "dl.example.com")
    assert browser.get(f"/portal/requests/{request_id}/certificate.pem").status_code == 409  # not issued yet
    log_in(browser, "olga")
    approved = browser.post(f"/portal/queue/{request_id}/approve", data={"csrf_token": token(browser, "/")})
    assert approved.headers["location"] == f"/portal/queue/{request_id}?notice=issued"

    pem = browser.get(f"/portal/requests/{request_id}/certificate.pem")
    assert pem.headers["content-type"] == "application/pem-certificate-chain"
    assert pem.headers["content-disposition"] == f'attachment; filename="{request_id}.pem"'
    leaf, *chain = x509.load_pem_x509_certificates(pem.content)
    assert leaf.subject.rfc4514_string() == "CN=dl.example.com" and len(chain) == 2
    der = browser.get(f"/portal/requests/{request_id}/certificate.der")
    assert x509.load_der_x509_certificate(der.content) == leaf
    p7b = browser.get(f"/portal/requests/{request_id}/certificate.p7b")
    assert set(pkcs7.load_der_pkcs7_certificates(p7b.content)) == {leaf, *chain}  # a SET OF: DER-sorted
    assert browser.get(f"/portal/requests/{request_id}/certificate.p12").status_code == 400
