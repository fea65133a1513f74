"""ACME rules a directory enforces beyond the protocol's shape, end to end on both databases with the
``acme`` library: a finalize CSR holding the account key is badCSR (RFC 8555 §11.1); CAA accounturi
(RFC 8657 §3) names the account URL the client was given; the directory's validity reaches the
certificate through the RA request."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from acme import challenges, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from chancery import wiring
from chancery.domain.acme import DirectoryPolicy
from chancery.domain.principals import Principal
from chancery.domain.queries import AuditFilter, CertificateFilter, PageRequest
from chancery.domain.records import CertificateAuthorityRecord
from chancery.domain.registration import ProfilePolicy
from chancery.errors import Malformed
from chancery.services.acme.directories import NewDirectory
from chancery.services.registration.authorities import NewRa
from chancery.settings import Settings, load_settings
from chancery.web.app import create_app
from tests.support.acme import Http01Responder, b64, client_for, library_post, responder, served
from tests.support.acme_challenges import ChallTestSrv

pytestmark = pytest.mark.integration
__all__ = ["responder"]  # fixture
DEADLINE = dt.datetime(2100, 1, 1)  # the acme library compares with a naive now()
CA_DOMAIN = "ca.chancery.test"


@pytest.fixture(scope="module")
def dns_server() -> Iterator[ChallTestSrv]:
    if shutil.which("pebble-challtestsrv") is None:
        pytest.skip("pebble-challtestsrv is not installed (Debian package pebble)")
    server = ChallTestSrv()
    yield server
    server.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, responder: Http01Responder, dns_server: ChallTestSrv) -> Settings:
    return load_settings(
        {},
        data_dir=str(tmp_path / "data"),
        database_url=database_url,
        kdf_scrypt_n=2**14,
        acme_validation_host="127.0.0.1",
        acme_http01_port=responder.port,
        acme_dns_resolver=f"127.0.0.1:{dns_server.dns_port}",
    )


@pytest.fixture
def base(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord) -> Iterator[str]:
    """Directories ``caa`` (checks CAA for CA_DOMAIN) and ``short`` (certificates valid 7 days)."""
    app.ras.create(admin, NewRa("acme", "issuing", ("tls-server",), ProfilePolicy(approvals=0)))
    http = ("http-01",)
    caa = DirectoryPolicy(challenges=http, caa_identities=(CA_DOMAIN,))
    app.acme.directories.create(admin, NewDirectory("caa", "acme", policy=caa))
    app.acme.directories.create(
        admin, NewDirectory("short", "acme", policy=DirectoryPolicy(challenges=http, validity_days=7))
    )
    with served(create_app(app)) as url:
        yield url


def register(client) -> messages.RegistrationResource:  # type: ignore[no-untyped-def]
    return client.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))


def csr_for(key, name: str) -> bytes:  # type: ignore[no-untyped-def]
    """A PEM CSR for ``name`` signed by ``key`` (any key, the account's too)."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)])
    )
    builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.PEM)


def authorize(client, responder: Http01Responder, csr: bytes) -> messages.OrderResource:  # type: ignore[no-untyped-def]
    """A new order whose http-01 challenges are answered; returns it once every authorization is settled."""
    order = client.new_order(csr)
    for authz in order.authorizations:
        challenge = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01))
        response, validation = challenge.response_and_validation(client.net.key)
        responder.tokens[challenge.chall.encode("token")] = validation
        client.answer_challenge(challenge, response)
    return order


def issued(app: wiring.Application, admin: Principal) -> list[x509.Certificate]:
    page = app.certificates.search(
        admin, CertificateFilter(ca_name="issuing", profile="tls-server"), PageRequest(limit=50)
    )
    return [x509.load_der_x509_certificate(c.der) for c in page.items if c.der]


def test_finalize_with_the_account_key_is_bad_csr(
    app: wiring.Application, admin: Principal, base: str, responder: Http01Responder
) -> None:
    account_key = ec.generate_private_key(ec.SECP256R1())
    client = client_for(f"{base}/acme/short/directory", account_key)
    register(client)
    own = csr_for(account_key, "same-key.example.com")
    order = client.poll_authorizations(authorize(client, responder, own), DEADLINE)
    assert status(client, order) == "ready"
    der = x509.load_pem_x509_csr(own).public_bytes(Encoding.DER)
    refused = library_post_problem(client, order.body.finalize, {"csr": b64(der)})
    assert refused["type"] == "urn:ietf:params:acme:error:badCSR" and "account key" in refused["detail"]
    assert issued(app, admin) == []
    assert status(client, order) == "ready"  # untouched
    audited = app.audit.search(admin, AuditFilter(action="acme.request.refused"), limit=100)
    assert any("account key" in str(e.details) for e in audited)
    # The same order finalizes with a key of the certificate's own.
    done = client.finalize_order(
        order.update(csr_pem=csr_for(ec.generate_private_key(ec.SECP256R1()), "same-key.example.com")), DEADLINE
    )
    assert done.fullchain_pem


def status(client, order: messages.OrderResource) -> str:  # type: ignore[no-untyped-def]
    return str(library_post(client, order.uri, None).json()["status"])


def library_post_problem(client, url: str, payload: dict[str, object]) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.Error) as refused:
        library_post(client, url, payload)
    return {"type": refused.value.typ, "detail": refused.value.detail}


def test_caa_accounturi_names_the_account_url(
    app: wiring.Application, admin: Principal, base: str, responder: Http01Responder, dns_server: ChallTestSrv
) -> None:
    """CAA ``accounturi`` must equal the account URL the client sees: the bare account ID or another account's
    URL does not match, so that challenge ends invalid with the ``caa`` problem and nothing is issued."""
    client = client_for(f"{base}/acme/caa/directory")
    account = register(client)
    account_url = account.uri
    assert account_url.startswith(f"{base}/acme/caa/")
    account_id = account_url.rsplit("/", 1)[-1]
    dns_server.add_caa("url.caa.example.com", ("issue", f"{CA_DOMAIN}; accounturi={account_url}"))
    dns_server.add_caa("id.caa.example.com", ("issue", f"{CA_DOMAIN}; accounturi={account_id}"))
    key = ec.generate_private_key(ec.SECP256R1())
    order = authorize(client, responder, csr_for(key, "url.caa.example.com"))
    done = client.poll_and_finalize(order, DEADLINE)
    assert x509.load_pem_x509_certificates(done.fullchain_pem.encode())[0]

    refused = authorize(client, responder, csr_for(key, "id.caa.example.com"))
    with pytest.raises(errors.ValidationError) as failed:
        client.poll_authorizations(refused, DEADLINE)
    [authz] = failed.value.failed_authzrs
    [challenge] = [c for c in authz.body.challenges if c.error is not None]
    assert challenge.error.typ == "urn:ietf:params:acme:error:caa"
    assert len(issued(app, admin)) == 1
    actions = [e.action for e in app.audit.search(admin, AuditFilter(action="acme.challenge."), limit=100)]
    assert sorted(actions) == ["acme.challenge.invalid", "acme.challenge.valid"]


def test_the_directorys_validity_reaches_the_certificate(
    app: wiring.Application, admin: Principal, base: str, responder: Http01Responder
) -> None:
    client = client_for(f"{base}/acme/short/directory")
    register(client)
    key = ec.generate_private_key(ec.SECP256R1())
    done = client.poll_and_finalize(authorize(client, responder, csr_for(key, "short.example.com")), DEADLINE)
    leaf = x509.load_pem_x509_certificates(done.fullchain_pem.encode())[0]
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == dt.timedelta(days=7)


def test_a_validity_longer_than_the_profile_allows_is_refused_at_creation(
    app: wiring.Application, admin: Principal, base: str
) -> None:
    too_long = DirectoryPolicy(challenges=("http-01",), validity_days=200)  # tls-server: at most 199 days
    with pytest.raises(Malformed, match="at most 199 days"):
        app.acme.directories.create(admin, NewDirectory("long", "acme", policy=too_long))
    assert all(d.name != "long" for d in app.acme.directories.list(admin))
