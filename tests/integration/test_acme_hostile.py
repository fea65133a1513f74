"""Hostile http-01 responders and replayed nonces through the whole ACME server, on both databases: a
responder that redirects to the cloud metadata address or answers with 10 MB leaves the challenge, the
authorization and the order invalid with the validator's problem (``connection``, ``unauthorized``), nothing
is issued and the failure is audited; a nonce replayed on a different request changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from acme import challenges, errors, messages

from chancery import wiring
from chancery.domain.acme import DirectoryPolicy
from chancery.domain.principals import Principal
from chancery.domain.queries import AuditFilter, CertificateFilter, PageRequest
from chancery.domain.records import CertificateAuthorityRecord
from chancery.domain.registration import ProfilePolicy
from chancery.services.acme.directories import NewDirectory
from chancery.services.registration.authorities import NewRa
from chancery.settings import Settings, load_settings
from chancery.web.app import create_app
from tests.support.acme import RawClient, client_for, library_post, served
from tests.support.acme_challenges import Answer, HttpChallengeServer
from tests.support.csrs import make_csr

pytestmark = pytest.mark.integration
DEADLINE = dt.datetime(2100, 1, 1)  # the acme library compares with a naive now()
ERR = "urn:ietf:params:acme:error:"


@pytest.fixture
def web() -> Iterator[HttpChallengeServer]:
    server = HttpChallengeServer()
    yield server
    server.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, web: HttpChallengeServer) -> Settings:
    return load_settings(
        {},
        data_dir=str(tmp_path / "data"),
        database_url=database_url,
        kdf_scrypt_n=2**14,
        acme_validation_host="127.0.0.1",
        acme_http01_port=web.port,
    )


@pytest.fixture
def base(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord) -> Iterator[str]:
    app.ras.create(admin, NewRa("acme", "issuing", ("tls-server",), ProfilePolicy(approvals=0)))
    app.acme.directories.create(admin, NewDirectory("main", "acme", policy=DirectoryPolicy(challenges=("http-01",))))
    with served(create_app(app)) as url:
        yield url


HOSTILE = [
    pytest.param(
        Answer(302, location="http://169.254.169.254/latest/meta-data/"),
        "connection",
        "a redirect to 169.254.169.254 is refused (link-local address)",
        id="fail/redirect-to-metadata",
    ),
    pytest.param(
        Answer(body=b"x" * 1024 * 1024, repeat=10),
        "unauthorized",
        "is larger than 8192 bytes",
        id="fail/ten-megabytes",
    ),
    pytest.param(
        Answer(body=b"x" * 1024 * 1024, repeat=10, mode="close"),
        "unauthorized",
        "is larger than 8192 bytes",
        id="fail/ten-megabytes-no-length",
    ),
]


@pytest.mark.parametrize(("answer", "problem", "detail"), HOSTILE)
def test_hostile_http01_responder(
    app: wiring.Application,
    admin: Principal,
    base: str,
    web: HttpChallengeServer,
    answer: Answer,
    problem: str,
    detail: str,
) -> None:
    client = client_for(f"{base}/acme/main/directory")
    client.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    _, csr = make_csr("victim.example.com", ("DNS:victim.example.com",))
    order = client.new_order(csr)
    [authz] = order.authorizations
    challenge = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01))
    web.answers[f"/.well-known/acme-challenge/{challenge.chall.encode('token')}"] = answer
    client.answer_challenge(challenge, challenge.response(client.net.key))
    with pytest.raises(errors.ValidationError) as failed:
        client.poll_authorizations(order, DEADLINE)
    [settled] = failed.value.failed_authzrs
    assert settled.body.status == messages.STATUS_INVALID
    [checked] = settled.body.challenges
    assert checked.status == messages.STATUS_INVALID
    assert checked.error.typ == ERR + problem and detail in checked.error.detail
    assert [path for path, _ in web.requests] == [f"/.well-known/acme-challenge/{challenge.chall.encode('token')}"]
    document = library_post(client, order.uri, None).json()
    assert document["status"] == "invalid" and "certificate" not in document
    certificates = app.certificates.search(
        admin, CertificateFilter(ca_name="issuing", profile="tls-server"), PageRequest()
    )
    assert certificates.items == ()
    [event] = app.audit.search(admin, AuditFilter(action="acme.challenge.invalid"), limit=10)
    assert event.outcome == "failure" and event.details["problem"] == problem


def test_a_nonce_replayed_on_another_request_changes_nothing(
    app: wiring.Application, admin: Principal, base: str
) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        raw = RawClient(http, http.get("/acme/main/directory").json())
        assert raw.register().status_code == 201
        nonce = raw.nonce()
        first = raw.post(
            raw.directory["newOrder"], {"identifiers": [{"type": "dns", "value": "one.example.com"}]}, nonce=nonce
        )
        assert first.status_code == 201
        replayed = raw.post(
            raw.directory["newOrder"], {"identifiers": [{"type": "dns", "value": "two.example.com"}]}, nonce=nonce
        )
        assert replayed.status_code == 400 and replayed.json()["type"] == ERR + "badNonce"
        assert replayed.headers["Replay-Nonce"] not in ("", nonce)
        on_account = raw.post(str(raw.kid), {"contact": ["mailto:evil@example.net"]}, nonce=nonce)
        assert on_account.status_code == 400 and on_account.json()["type"] == ERR + "badNonce"
    [account] = app.acme.operators.accounts(admin, "main")
    assert account.contact == ()
    orders = app.acme.operators.orders(admin, account.account_id)
    assert [[i.value for i in o.identifiers] for o in orders] == [["one.example.com"]]
    refused = app.audit.search(admin, AuditFilter(action="acme.request.refused"), limit=10)
    assert len(refused) == 2 and all(e.outcome == "denied" for e in refused)


def test_a_nonce_spent_on_a_read_or_a_refused_request_is_spent(
    app: wiring.Application, admin: Principal, base: str
) -> None:
    """RFC 8555 §6.5: a request that writes nothing (POST-as-GET) or is refused still uses its nonce up."""
    with httpx.Client(base_url=base, timeout=10) as http:
        raw = RawClient(http, http.get("/acme/main/directory").json())
        assert raw.register().status_code == 201
        read, refused = raw.nonce(), raw.nonce()
        assert raw.post(str(raw.kid), None, nonce=read).status_code == 200
        missing = raw.post(str(raw.kid).replace("/account/", "/order/"), None, nonce=refused)
        assert missing.status_code == 404 and missing.json()["type"] == ERR + "malformed"
        new_order = {"identifiers": [{"type": "dns", "value": "one.example.com"}]}
        for nonce in (read, refused):
            replayed = raw.post(raw.directory["newOrder"], new_order, nonce=nonce)
            assert replayed.status_code == 400 and replayed.json()["type"] == ERR + "badNonce"
            again = raw.post(str(raw.kid), None, nonce=nonce)
            assert again.status_code == 400 and again.json()["type"] == ERR + "badNonce"
        assert raw.post(raw.directory["newOrder"], new_order).status_code == 201
    [account] = app.acme.operators.accounts(admin, "main")
    assert len(app.acme.operators.orders(admin, account.account_id)) == 1
