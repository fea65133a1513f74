"""The portal's ACME operator pages on both databases, over https through the ASGI application:
directories with their policy, accounts with their orders and certificates (obtained by the
``acme`` library through a real http-01 responder), deactivating an account, revoking all its
certificates with a reason, creating an EAB key (its HMAC shown once) and revoking one; a requester
refused, posts without the CSRF token refused and changing nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from acme import challenges, errors, messages
from fastapi.testclient import TestClient

from chancery import wiring
from chancery.domain.acme import AccountStatus
from chancery.domain.principals import Principal, Role
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.services.identity.accounts import NewGrant
from chancery.web.app import create_app
from tests.support.acme import Http01Responder, base, client_for, responder, settings
from tests.support.csrs import make_csr

pytestmark = pytest.mark.integration
__all__ = ["base", "responder", "settings"]  # fixtures
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture
def staffed(app: wiring.Application, admin: Principal, base: str) -> wiring.Application:
    """carl a CA operator (manages ACME), olga an officer of RA acme (reads it), rita a requester."""
    for name, role, scope in (
        ("carl", Role.CA_OPERATOR, {}),
        ("olga", Role.RA_OFFICER, {"ra": "acme"}),
        ("rita", Role.REQUESTER, {"ra": "acme"}),
    ):
        app.accounts.add_user(admin, name, PASSWORD)
        app.accounts.grant(admin, NewGrant(role, user=name, **scope))
    return app


@pytest.fixture
def browser(staffed: wiring.Application) -> Iterator[TestClient]:
    with TestClient(create_app(staffed), base_url="https://portal.example", follow_redirects=False) as client:
        yield client


@pytest.fixture
def ordered(base: str, responder: Http01Responder, staffed: wiring.Application, admin: Principal) -> tuple[str, str]:
    """An account of directory ``main`` holding one certificate: (account id, serial hex)."""
    client = client_for(f"{base}/acme/main/directory")
    client.new_account(messages.NewRegistration.from_data(email="ops@example.com", terms_of_service_agreed=True))
    _, csr = make_csr("www.example.com", ("DNS:www.example.com",))
    order = client.new_order(csr)
    challenge = next(c for c in order.authorizations[0].body.challenges if isinstance(c.chall, challenges.HTTP01))
    response, validation = challenge.response_and_validation(client.net.key)
    responder.tokens[challenge.chall.encode("token")] = validation
    client.answer_challenge(challenge, response)
    client.poll_and_finalize(order)
    (account,) = staffed.acme.operators.accounts(admin, "main")
    (record,) = staffed.acme.operators.orders(admin, account.account_id)
    assert record.serial is not None
    return account.account_id, record.serial


def token(client: TestClient, path: str) -> str:
    found = CSRF.search(client.get(f"/portal{path}").text)
    assert found is not None, path
    return found.group(1)


def log_in(client: TestClient, user: str) -> None:
    form = {"csrf_token": token(client, "/login"), "username": user, "password": PASSWORD}
    assert client.post("/portal/login", data=form).status_code == 303


def test_staff_see_directories_accounts_orders_and_their_certificates(
    browser: TestClient, ordered: tuple[str, str]
) -> None:
    account_id, serial = ordered
    log_in(browser, "carl")
    assert 'href="/portal/acme"' in browser.get("/portal/").text  # in the navigation
    listing = browser.get("/portal/acme")
    assert listing.status_code == 200
    assert "/acme/main/directory" in listing.text and "/acme/eab/directory" in listing.text
    assert "http-01" in listing.text and "required" in listing.text  # policy summary (eab requires EAB)

    directory = browser.get("/portal/acme/directories/main").text
    row = re.search(rf"{account_id}.*?</tr>", directory, re.S)
    assert row is not None and "mailto:ops@example.com" in row.group(0) and "<td>1</td>" in row.group(0)
    assert "External account binding keys" in directory

    page = browser.get(f"/portal/acme/accounts/{account_id}").text
    assert "www.example.com" in page and f'href="/portal/certificates/issuing/{serial}"' in page
    assert browser.get(f"/portal/certificates/issuing/{serial}").status_code == 200


def test_a_requester_is_refused_and_audited(
    staffed: wiring.Application, admin: Principal, browser: TestClient, ordered: tuple[str, str]
) -> None:
    account_id, _ = ordered
    log_in(browser, "rita")
    assert 'href="/portal/acme"' not in browser.get("/portal/").text
    assert "/acme/main/directory" not in browser.get("/portal/acme").text
    assert browser.get("/portal/acme/directories/main").status_code == 403
    assert browser.get(f"/portal/acme/accounts/{account_id}").status_code == 403
    form = {"csrf_token": token(browser, "/"), "reason": "keyCompromise"}
    assert browser.post(f"/portal/acme/accounts/{account_id}/revoke-certificates", data=form).status_code == 403
    assert browser.post(f"/portal/acme/accounts/{account_id}/deactivate", data=form).status_code == 403
    assert browser.post("/portal/acme/directories/main/eab-keys", data=form).status_code == 403
    assert staffed.acme.operators.account(admin, account_id).status is AccountStatus.VALID
    assert staffed.acme.eab.list(admin, "main") == ()


def test_an_officer_may_read_but_not_deactivate(
    staffed: wiring.Application, admin: Principal, browser: TestClient, ordered: tuple[str, str]
) -> None:
    account_id, _ = ordered
    log_in(browser, "olga")
    listing = browser.get("/portal/acme").text
    assert "/acme/main/directory" in listing and "/acme/held/directory" not in listing  # RA held is not hers
    directory = browser.get("/portal/acme/directories/main").text
    assert account_id in directory and "External account binding keys" not in directory  # she may not manage them
    form = {"csrf_token": token(browser, f"/acme/accounts/{account_id}")}
    refused = browser.post(f"/portal/acme/accounts/{account_id}/deactivate", data=form)
    assert refused.status_code == 403 and "There is a problem" in refused.text
    assert staffed.acme.operators.account(admin, account_id).status is AccountStatus.VALID


@pytest.mark.parametrize("form", [{}, {"csrf_token": "forged"}], ids=["fail/missing", "fail/wrong"])
def test_posts_without_the_csrf_token_change_nothing(
    staffed: wiring.Application,
    admin: Principal,
    browser: TestClient,
    ordered: tuple[str, str],
    form: dict[str, str],
) -> None:
    account_id, serial = ordered
    log_in(browser, "carl")
    posts = (
        (f"/portal/acme/accounts/{account_id}/deactivate", form),
        (f"/portal/acme/accounts/{account_id}/revoke-certificates", {**form, "reason": "keyCompromise"}),
        ("/portal/acme/directories/eab/eab-keys", form),
    )
    for path, data in posts:
        assert browser.post(path, data=data).status_code == 403, path
    assert staffed.acme.operators.account(admin, account_id).status is AccountStatus.VALID
    assert staffed.certificates.get(admin, "issuing", SerialNumber.from_hex(serial)).revocation is None
    assert staffed.acme.eab.list(admin, "eab") == ()


def test_revoke_all_then_deactivate_take_effect(
    staffed: wiring.Application, admin: Principal, browser: TestClient, ordered: tuple[str, str], base: str
) -> None:
    account_id, serial = ordered
    log_in(browser, "carl")
    bad = {"csrf_token": token(browser, f"/acme/accounts/{account_id}"), "reason": "removeFromCRL"}
    assert browser.post(f"/portal/acme/accounts/{account_id}/revoke-certificates", data=bad).status_code == 400

    form = {"csrf_token": token(browser, f"/acme/accounts/{account_id}"), "reason": "keyCompromise"}
    revoked = browser.post(f"/portal/acme/accounts/{account_id}/revoke-certificates", data=form)
    assert revoked.status_code == 303
    assert "Every certificate of the ACME account was revoked" in browser.get(revoked.headers["location"]).text
    record = staffed.certificates.get(admin, "issuing", SerialNumber.from_hex(serial))
    assert record.revocation is not None and record.revocation.reason is RevocationReason.keyCompromise

    done = browser.post(f"/portal/acme/accounts/{account_id}/deactivate", data={"csrf_token": form["csrf_token"]})
    assert done.status_code == 303
    page = browser.get(done.headers["location"]).text
    assert "The ACME account was deactivated" in page and "deactivate-button" not in page
    assert staffed.acme.operators.account(admin, account_id).status is AccountStatus.DEACTIVATED


def test_an_eab_key_is_shown_once_and_can_be_revoked(
    staffed: wiring.Application, admin: Principal, browser: TestClient
) -> None:
    log_in(browser, "carl")
    created = browser.post("/portal/acme/directories/eab/eab-keys", data={"csrf_token": token(browser, "/")})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    kid = re.search(r'id="eab-kid">([^<]+)<', created.text).group(1)  # type: ignore[union-attr]
    hmac_key = re.search(r'id="eab-hmac">([^<]+)<', created.text).group(1)  # type: ignore[union-attr]
    assert len(hmac_key) == 43  # 32 bytes, base64url

    directory = browser.get("/portal/acme/directories/eab").text
    assert kid in directory and hmac_key not in directory
    form = {"csrf_token": token(browser, "/acme/directories/eab"), "directory": "eab"}
    revoked = browser.post(f"/portal/acme/eab-keys/{kid}/revoke", data=form)
    assert (
        revoked.status_code == 303 and revoked.headers["location"] == "/portal/acme/directories/eab?notice=eab-revoked"
    )
    (key,) = staffed.acme.eab.list(admin, "eab")
    assert key.kid == kid and key.revoked_at is not None
    again = browser.post(f"/portal/acme/eab-keys/{kid}/revoke", data=form)
    assert again.status_code == 404 and "revoked already" in again.text


def test_a_deactivated_account_cannot_order(
    staffed: wiring.Application, admin: Principal, base: str, browser: TestClient
) -> None:
    client = client_for(f"{base}/acme/main/directory")
    client.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    (account,) = staffed.acme.operators.accounts(admin, "main")
    log_in(browser, "carl")
    form = {"csrf_token": token(browser, f"/acme/accounts/{account.account_id}")}
    assert browser.post(f"/portal/acme/accounts/{account.account_id}/deactivate", data=form).status_code == 303
    _, csr = make_csr("www.example.com", ("DNS:www.example.com",))
    with pytest.raises(errors.Error) as refused:
        client.new_order(csr)
    assert refused.value.typ == "urn:ietf:params:acme:error:unauthorized"
