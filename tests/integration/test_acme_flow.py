"""ACME with the ``acme`` library (certbot's) against Chancery served on 127.0.0.1, on both
databases: accounts, orders with http-01 through a local responder, finalize, download with the
chain, authorization reuse, renewal information and ``replaces``, revocation, EAB, approvals."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from acme import challenges, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from chancery import wiring
from chancery.domain.acme import AccountRecord, jwk_thumbprint
from chancery.domain.principals import Principal, Role, local_operator
from chancery.domain.queries import AuditFilter
from chancery.domain.records import CertificateState
from chancery.domain.serials import SerialNumber
from chancery.services.acme.renewal_info import cert_id
from chancery.services.identity.accounts import NewGrant
from chancery.services.registration.decisions import Decision
from tests.support.acme import Http01Responder, b64, base, client_for, responder, settings
from tests.support.acme import library_post as post
from tests.support.csrs import make_csr

pytestmark = pytest.mark.integration
__all__ = ["base", "responder", "settings"]  # fixtures
DEADLINE = dt.datetime(2100, 1, 1)  # the acme library compares with a naive now()


def obtain(
    client, responder: Http01Responder, names: tuple[str, ...]
) -> tuple[messages.OrderResource, ec.EllipticCurvePrivateKey]:  # type: ignore[no-untyped-def]
    key, csr = make_csr(names[0], tuple(f"DNS:{n}" for n in names))
    order = client.new_order(csr)
    for authz in order.authorizations:
        if authz.body.status == messages.STATUS_VALID:
            continue
        challenge = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01))
        response, validation = challenge.response_and_validation(client.net.key)
        responder.tokens[challenge.chall.encode("token")] = validation
        client.answer_challenge(challenge, response)
    return client.poll_and_finalize(order, DEADLINE), key


def register(client) -> messages.RegistrationResource:  # type: ignore[no-untyped-def]
    return client.new_account(messages.NewRegistration.from_data(email="ops@example.com", terms_of_service_agreed=True))


def test_obtain_download_reuse_renewal_info_and_revoke(
    app: wiring.Application, admin: Principal, base: str, responder: Http01Responder
) -> None:
    client = client_for(f"{base}/acme/main/directory")
    account = register(client)
    assert account.body.status == "valid" and account.body.contact == ("mailto:ops@example.com",)
    order, _ = obtain(client, responder, ("www.example.com", "api.example.com"))
    chain = x509.load_pem_x509_certificates(order.fullchain_pem.encode())
    leaf = chain[0]
    assert chain[1].subject.rfc4514_string() == "CN=Test Issuing CA,O=Chancery Tests"
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(names) == ["api.example.com", "www.example.com"]

    # A second order for the same name reuses the valid authorization: ready at once (no challenge).
    _, csr = make_csr("www.example.com", ("DNS:www.example.com",))
    again = client.new_order(csr)
    assert [a.body.status for a in again.authorizations] == [messages.STATUS_VALID]

    # RFC 9773: renewal information, then an order that replaces the certificate.
    identifier = cert_id(leaf)
    window = httpx.get(f"{base}/acme/main/renewal-info/{identifier}").json()["suggestedWindow"]
    start = dt.datetime.fromisoformat(window["start"])
    assert dt.datetime.fromisoformat(window["end"]) > start > leaf.not_valid_before_utc
    identifiers = [{"type": "dns", "value": "www.example.com"}, {"type": "dns", "value": "api.example.com"}]
    replacing = post(client, client.directory["newOrder"], {"identifiers": identifiers, "replaces": identifier})
    assert replacing.status_code == 201 and replacing.json()["replaces"] == identifier

    client.revoke(leaf, 1)
    record = app.certificates.get(admin, "issuing", SerialNumber(leaf.serial_number))
    assert record.state is CertificateState.REVOKED
    with pytest.raises(errors.Error) as again_revoked:
        client.revoke(leaf, 1)
    assert again_revoked.value.typ == "urn:ietf:params:acme:error:alreadyRevoked"
    actions = [e.action for e in app.audit.search(admin, AuditFilter(), limit=1000)]
    for action in (
        "acme.account.created",
        "acme.order.created",
        "acme.challenge.valid",
        "acme.order.finalized",
        "certificate.revoked",
    ):
        assert action in actions


def test_eab_required_bound_once(app: wiring.Application, admin: Principal, base: str) -> None:
    client = client_for(f"{base}/acme/eab/directory")
    assert client.directory.meta.external_account_required
    with pytest.raises(errors.Error) as missing:
        register(client)
    assert missing.value.typ == "urn:ietf:params:acme:error:externalAccountRequired"
    key = app.acme.eab.create(admin, "eab")
    binding = messages.ExternalAccountBinding.from_data(
        account_public_key=client.net.key.public_key(), kid=key.kid, hmac_key=key.hmac_key, directory=client.directory
    )
    account = client.new_account(
        messages.NewRegistration.from_data(terms_of_service_agreed=True, external_account_binding=binding)
    )
    assert account.body.status == "valid"
    second = client_for(f"{base}/acme/eab/directory")
    rebinding = messages.ExternalAccountBinding.from_data(
        account_public_key=second.net.key.public_key(), kid=key.kid, hmac_key=key.hmac_key, directory=second.directory
    )
    with pytest.raises(errors.Error) as reused:
        second.new_account(
            messages.NewRegistration.from_data(terms_of_service_agreed=True, external_account_binding=rebinding)
        )
    assert reused.value.typ == "urn:ietf:params:acme:error:unauthorized"
    assert [k.account_id for k in app.acme.eab.list(admin, "eab")] == [account.uri.rsplit("/", 1)[-1]]


def test_order_waits_for_two_approvals(
    app: wiring.Application, admin: Principal, base: str, responder: Http01Responder
) -> None:
    """Under an approval policy of 2 the order stays processing (with Retry-After) until two
    officers approve; then it is valid and the certificate downloads."""
    for name in ("olga", "oscar"):
        app.accounts.add_user(admin, name)
        app.accounts.grant(admin, NewGrant(Role.RA_OFFICER, user=name, ra="held"))
    client = client_for(f"{base}/acme/held/directory")
    register(client)
    _, csr = make_csr("held.example.com", ("DNS:held.example.com",))
    order = client.new_order(csr)
    challenge = next(c for c in order.authorizations[0].body.challenges if isinstance(c.chall, challenges.HTTP01))
    response, validation = challenge.response_and_validation(client.net.key)
    responder.tokens[challenge.chall.encode("token")] = validation
    client.answer_challenge(challenge, response)
    order = client.poll_authorizations(order, DEADLINE)
    finalized = post(client, order.body.finalize, {"csr": b64(x509.load_pem_x509_csr(csr).public_bytes(Encoding.DER))})
    assert finalized.json()["status"] == "processing" and finalized.headers["Retry-After"]
    assert post(client, order.uri, None).json()["status"] == "processing"
    request_id = app.acme.orders.get(account_of(app, client, "held"), order.uri.rsplit("/", 1)[-1]).request_id
    assert request_id is not None
    for name in ("olga", "oscar"):
        app.ra_decisions.approve(person(app, name), Decision(request_id))
    done = post(client, order.uri, None).json()
    assert done["status"] == "valid"
    pem = post(client, done["certificate"], None)
    assert pem.headers["Content-Type"].startswith("application/pem-certificate-chain")
    assert len(x509.load_pem_x509_certificates(pem.content)) == 2


def person(app: wiring.Application, name: str) -> Principal:
    token = app.tokens.create_for_user(local_operator("setup"), name, f"acme-{name}")
    return app.tokens.authenticate(token.token)


def account_of(app: wiring.Application, client, directory: str) -> AccountRecord:  # type: ignore[no-untyped-def]
    account = app.acme.accounts.by_key(directory, jwk_thumbprint(client.net.key.public_key().to_partial_json()))
    assert account is not None
    return account


def test_operator_rest(app: wiring.Application, admin: Principal, base: str, responder: Http01Responder) -> None:
    """Directories, EAB keys (the HMAC key shown once), accounts, orders, revoking an account's
    certificates and deactivating it, over /api/v1/acme; a requester may do none of it."""
    token = app.tokens.create(admin, "acme-admin", frozenset({Role.ADMINISTRATOR})).token
    api = httpx.Client(base_url=f"{base}/api/v1/acme", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    created = api.post("/directories", json={"name": "rest", "ra": "acme", "challenges": ["http-01"]})
    assert created.status_code == 201 and created.json()["profile"] == "tls-server"
    assert api.post("/directories", json={"name": "rest", "ra": "acme"}).status_code == 409
    key = api.post("/directories/rest/eab-keys").json()
    assert set(key) == {"kid", "hmac_key"}
    assert [k["kid"] for k in api.get("/directories/rest/eab-keys").json()["items"]] == [key["kid"]]
    assert "hmac" not in api.get("/directories/rest/eab-keys").text
    client = client_for(f"{base}/acme/rest/directory")
    register(client)
    order, _ = obtain(client, responder, ("rest.example.com",))
    [account] = api.get("/directories/rest/accounts").json()["items"]
    [listed] = api.get(f"/accounts/{account['id']}/orders").json()["items"]
    assert listed["status"] == "valid" and listed["serial"]
    revoked = api.post(f"/accounts/{account['id']}/revoke-certificates", json={"reason": "superseded"}).json()
    assert revoked == {"revoked": [listed["serial"]], "already_revoked": []}
    assert api.post(f"/accounts/{account['id']}/deactivate").json()["status"] == "deactivated"
    with pytest.raises(errors.Error):
        client.new_order(make_csr("rest.example.com", ("DNS:rest.example.com",))[1])
    app.accounts.add_user(admin, "rita")
    app.accounts.grant(admin, NewGrant(Role.REQUESTER, user="rita", ra="acme"))
    rita = app.tokens.create_for_user(admin, "rita", "rita").token
    refused = httpx.post(f"{base}/api/v1/acme/directories/rest/eab-keys", headers={"Authorization": f"Bearer {rita}"})
    assert refused.status_code == 403
    assert api.post(f"/eab-keys/{key['kid']}/revoke").json()["revoked_at"]
    api.close()
