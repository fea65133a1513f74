"""What attackers and broken clients send to the ACME server, on both databases: each gets the
right ACME problem (with a fresh Replay-Nonce), nothing is issued, and the refusal is audited."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Iterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from chancery import wiring
from chancery.domain.principals import Principal
from chancery.domain.queries import AuditFilter, CertificateFilter, PageRequest
from tests.support.acme import Http01Responder, RawClient, b64, base, responder, settings, thumbprint
from tests.support.csrs import make_csr

pytestmark = pytest.mark.integration
__all__ = ["base", "responder", "settings"]  # fixtures
ERR = "urn:ietf:params:acme:error:"


@pytest.fixture
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=10) as client:
        yield client


@pytest.fixture
def raw(http: httpx.Client) -> RawClient:
    return RawClient(http, http.get("/acme/main/directory").json())


@pytest.fixture
def registered(raw: RawClient) -> RawClient:
    assert raw.register().status_code == 201
    return raw


def problem(response: httpx.Response, kind: str, status: int | None = None) -> dict[str, object]:
    assert response.headers["Content-Type"].startswith("application/problem+json"), response.text
    assert response.headers["Replay-Nonce"]  # RFC 8555 §6.5: on errors too
    document = response.json()
    assert document["type"] == ERR + kind, document
    if status is not None:
        assert response.status_code == status
    return document


def issued(app: wiring.Application, admin: Principal) -> int:
    return len(app.certificates.search(admin, CertificateFilter(ca_name="issuing"), PageRequest(limit=100)).items)


def refusals(app: wiring.Application, admin: Principal, action: str = "acme.") -> list[str]:
    return [e.action for e in app.audit.search(admin, AuditFilter(action=action), limit=1000) if e.outcome == "denied"]


def _flip(raw: RawClient, url: str) -> bytes:
    document = json.loads(raw.body(url, {"termsOfServiceAgreed": True}))
    signature = bytearray(base64.urlsafe_b64decode(document["signature"] + "=="))
    signature[5] ^= 1
    document["signature"] = b64(bytes(signature))
    return json.dumps(document).encode()


def _header_only(raw: RawClient, url: str, **header: object) -> bytes:
    protected = b64(json.dumps({"nonce": raw.nonce(), "url": url, "jwk": {}, **header}).encode())
    return json.dumps({"protected": protected, "payload": b64(b"{}"), "signature": b64(b"x" * 32)}).encode()


BadBody = Callable[[RawClient, str], bytes]
JWS_CASES: list[tuple[str, BadBody, str, int]] = [
    ("fail/bad-signature", _flip, "malformed", 400),
    ("fail/alg-none", lambda r, u: _header_only(r, u, alg="none"), "badSignatureAlgorithm", 400),
    ("fail/alg-hs256", lambda r, u: _header_only(r, u, alg="HS256"), "badSignatureAlgorithm", 400),
    (
        "fail/nonce-from-another-server",
        lambda r, u: r.body(u, {}, nonce=b64(secrets.token_bytes(40))),
        "badNonce",
        400,
    ),
    ("fail/no-nonce", lambda r, u: r.body(u, {}, nonce=None), "badNonce", 400),
    ("fail/both-jwk-and-kid", lambda r, u: r.body(u, {}, kid=u.replace("new-account", "account/x")), "malformed", 400),
    ("fail/neither-jwk-nor-kid", lambda r, u: r.body(u, {}, jwk=None), "malformed", 400),
    ("fail/url-mismatch", lambda r, u: r.body(u.replace("new-account", "new-order"), {}), "unauthorized", 403),
    ("fail/not-json", lambda r, u: b"{not json", "malformed", 400),
    ("fail/general-serialization", lambda r, u: b'{"payload": "", "signatures": []}', "malformed", 400),
    ("fail/truncated", lambda r, u: r.body(u, {})[:-20], "malformed", 400),
]


@pytest.mark.parametrize(("case", "make", "kind", "status"), JWS_CASES, ids=[c[0] for c in JWS_CASES])
def test_broken_jws_is_refused_and_audited(
    app: wiring.Application, admin: Principal, raw: RawClient, case: str, make: BadBody, kind: str, status: int
) -> None:
    url = raw.directory["newAccount"]
    document = problem(raw.post_body(url, make(raw, url)), kind, status)
    if kind == "badSignatureAlgorithm":
        assert document["algorithms"] == ["ES256", "ES384", "RS256", "EdDSA"]
    assert app.acme.operators.accounts(admin, "main") == ()
    assert "acme.request.refused" in refusals(app, admin)


def test_a_nonce_is_used_once(raw: RawClient) -> None:
    url = raw.directory["newAccount"]
    nonce = raw.nonce()
    first = raw.post(url, {"termsOfServiceAgreed": True}, nonce=nonce)
    assert first.status_code == 201
    again = raw.post(url, {"termsOfServiceAgreed": True}, nonce=nonce)
    problem(again, "badNonce", 400)
    assert again.headers["Replay-Nonce"] != nonce


def test_nonces_are_fresh_and_not_cached(http: httpx.Client, raw: RawClient) -> None:
    head, get = http.head(raw.directory["newNonce"]), http.get(raw.directory["newNonce"])
    assert (head.status_code, get.status_code) == (200, 204)
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Replay-Nonce"] != get.headers["Replay-Nonce"]


def test_wrong_content_type_and_oversized_bodies(raw: RawClient) -> None:
    url = raw.directory["newAccount"]
    problem(raw.post_body(url, raw.body(url, {}), "application/json"), "malformed", 415)
    problem(raw.post_body(url, b"{" + b" " * (70 * 1024) + b"}"), "malformed", 413)


def test_unknown_and_deactivated_accounts(app: wiring.Application, admin: Principal, registered: RawClient) -> None:
    order_url = registered.directory["newOrder"]
    identifiers = {"identifiers": [{"type": "dns", "value": "a.example.com"}]}
    account_url = registered.kid
    assert account_url is not None
    registered.kid = account_url.rsplit("/", 1)[0] + "/nosuchaccount"
    problem(registered.post(order_url, identifiers), "accountDoesNotExist", 400)
    registered.kid = account_url
    deactivated = registered.post(account_url, {"status": "deactivated"})
    assert deactivated.json()["status"] == "deactivated"
    problem(registered.post(order_url, identifiers), "unauthorized", 403)
    assert "acme.account.deactivated" in [e.action for e in app.audit.search(admin, AuditFilter(action="acme."))]


def test_another_accounts_authorization_and_order(
    app: wiring.Application, admin: Principal, registered: RawClient, http: httpx.Client
) -> None:
    order = registered.post(
        registered.directory["newOrder"], {"identifiers": [{"type": "dns", "value": "b.example.com"}]}
    )
    assert order.status_code == 201
    authz_url = order.json()["authorizations"][0]
    challenge_url = registered.post(authz_url, None).json()["challenges"][0]["url"]
    intruder = RawClient(http, registered.directory)
    intruder.register()
    problem(intruder.post(challenge_url, {}), "unauthorized", 403)
    problem(intruder.post(authz_url, None), "unauthorized", 403)
    problem(intruder.post(order.headers["Location"], None), "unauthorized", 403)
    assert registered.post(challenge_url, None).json()["status"] == "pending"  # untouched
    assert "acme.authz.refused" in refusals(app, admin)


def test_finalize_with_an_extra_name_is_bad_csr(
    app: wiring.Application, admin: Principal, registered: RawClient, responder: Http01Responder
) -> None:
    order = registered.post(
        registered.directory["newOrder"], {"identifiers": [{"type": "dns", "value": "c.example.com"}]}
    )
    authz = registered.post(order.json()["authorizations"][0], None).json()
    challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")
    responder.tokens[challenge["token"]] = f"{challenge['token']}.{thumbprint(registered_jwk(registered))}"
    registered.post(challenge["url"], {})
    status = "pending"
    for _ in range(500):
        status = registered.post(order.headers["Location"], None).json()["status"]
        if status != "pending":
            break
    assert status == "ready"
    _, csr = make_csr("c.example.com", ("DNS:c.example.com", "DNS:evil.example.net"))
    der = x509.load_pem_x509_csr(csr).public_bytes(Encoding.DER)
    document = problem(registered.post(order.json()["finalize"], {"csr": b64(der)}), "badCSR", 400)
    assert "evil.example.net" in str(document["detail"])
    assert issued(app, admin) == 0
    assert registered.post(order.headers["Location"], None).json()["status"] == "ready"


def registered_jwk(raw: RawClient) -> dict[str, str]:
    from tests.support.acme import ec_jwk

    return ec_jwk(raw.key)


def test_policy_refuses_identifiers_with_subproblems(registered: RawClient) -> None:
    payload = {"identifiers": [{"type": "dns", "value": "*.example.com"}, {"type": "dns", "value": "ok.example.com"}]}
    document = problem(registered.post(registered.directory["newOrder"], payload), "rejectedIdentifier", 400)
    assert document["subproblems"] == [
        {
            "type": ERR + "rejectedIdentifier",
            "detail": "no challenge type this directory offers can prove this identifier",
            "identifier": {"type": "dns", "value": "*.example.com"},
        }
    ]
    problem(
        registered.post(registered.directory["newOrder"], {"identifiers": [{"type": "dns", "value": "no dots"}]}),
        "malformed",
    )
    too_many = {"identifiers": [{"type": "dns", "value": f"h{i}.example.com"} for i in range(101)]}
    problem(registered.post(registered.directory["newOrder"], too_many), "rejectedIdentifier")


def test_eab_with_a_wrong_mac(app: wiring.Application, admin: Principal, http: httpx.Client) -> None:
    raw = RawClient(http, http.get("/acme/eab/directory").json())
    key = app.acme.eab.create(admin, "eab")
    url = raw.directory["newAccount"]
    protected = b64(json.dumps({"alg": "HS256", "kid": key.kid, "url": url}).encode())
    payload = b64(json.dumps(registered_jwk(raw)).encode())
    binding = {"protected": protected, "payload": payload, "signature": b64(secrets.token_bytes(32))}
    problem(raw.post(url, {"termsOfServiceAgreed": True, "externalAccountBinding": binding}), "unauthorized", 403)
    assert app.acme.operators.accounts(admin, "eab") == ()
    assert "acme.eab.refused" in refusals(app, admin)
