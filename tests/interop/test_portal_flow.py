"""Issue 8's "Done when", in Debian's Chromium against a real ``chancery serve``: an anonymous user
uploads a CSR made by openssl and gets a request ID; officer A (a local user) logs in and approves;
the request is still pending (policy 2); officer B (an LDAP user of a real slapd) logs in and
approves; the anonymous user downloads the PEM and ``openssl verify`` accepts it. Each step's
screenshot is saved under the test's output folder (step-NN-....png).

Also here: server-side key generation collected as PKCS#12 in the browser, and the portal on a
phone-sized screen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.interop.conftest import openssl, openssl_csr
from tests.support.browser import PHONE, Dialogs, Screenshots, chromium, overflows_horizontally
from tests.support.portal import PASSWORD, Site, start_site
from tests.support.slapd import PEOPLE, Slapd, slapd_available, start_slapd

pytestmark = [pytest.mark.interop, pytest.mark.slow]

REQUEST_ID = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    if not slapd_available():
        pytest.fail("OpenLDAP slapd is not installed (/usr/sbin/slapd; `make test` installs package slapd)")
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, slapd: Slapd) -> Iterator[Site]:
    served = start_site(tmp_path_factory.mktemp("portal"), slapd)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Fresh browser profiles (cookies of their own) for the test's people; closed after it."""
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def person(browser: Browser, contexts: list[BrowserContext], dialogs: Dialogs, **options: object) -> Page:
    context = browser.new_context(accept_downloads=True, **options)  # type: ignore[arg-type]
    contexts.append(context)
    return dialogs.watch(context.new_page())


def log_in(page: Page, site: Site, user: str, password: str) -> None:
    """Log in with the keyboard only: the fields are labelled and reachable in order."""
    page.goto(f"{site.portal}/login")
    page.get_by_label("User name").focus()
    page.keyboard.type(user)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page.get_by_text("You are logged in.")).to_be_visible()
    expect(page.get_by_text(f"Logged in as {user}")).to_be_visible()


def approve(page: Page, site: Site, request_id: str, comment: str) -> None:
    page.goto(f"{site.portal}/queue")
    page.get_by_role("link", name=request_id).click()
    expect(page.get_by_role("heading", name=f"Request {request_id}")).to_be_visible()
    page.get_by_label("Comment (optional)").fill(comment)
    page.get_by_role("button", name="Approve").click()


def test_anonymous_csr_two_officers_one_local_one_ldap_then_the_pem_verifies(
    browser: Browser, contexts: list[BrowserContext], site: Site, tmp_path: Path
) -> None:
    shots = Screenshots(tmp_path)
    dialogs = Dialogs()
    csr = openssl_csr(tmp_path, "www", cn="www.example.com", san="DNS:www.example.com")

    requester = person(browser, contexts, dialogs)
    requester.goto(f"{site.portal}/")
    expect(requester.get_by_role("heading", level=1)).to_have_text("Certificates, without the paperwork")
    shots.take(requester, "home")
    requester.get_by_role("link", name="Submit a CSR").first.click()
    requester.get_by_label("Registration authority and profile").select_option("web/tls-server")
    requester.get_by_label("Upload a CSR file (PEM or DER)").set_input_files(csr)
    shots.take(requester, "anonymous-uploads-csr")
    requester.get_by_role("button", name="Check").click()
    expect(requester.locator("#summary-subject")).to_have_text("CN=www.example.com")
    expect(requester.locator("#summary-sans")).to_have_text("DNS:www.example.com")
    expect(requester.locator("#summary-key")).to_have_text("EC secp256r1")
    shots.take(requester, "anonymous-checks-parsed-csr")
    requester.get_by_role("button", name="Submit request").click()
    request_id = requester.locator("#request-id").inner_text().strip()
    assert REQUEST_ID.match(request_id), request_id
    expect(requester).to_have_url(f"{site.portal}/requests/{request_id}")  # the notice is said once
    expect(requester.get_by_role("status")).to_contain_text("Your request was recorded")
    expect(requester.get_by_text("0 of 2 approvals so far")).to_be_visible()
    shots.take(requester, "anonymous-gets-request-id")

    officer_a = person(browser, contexts, dialogs)
    log_in(officer_a, site, "olga", PASSWORD)
    expect(officer_a.get_by_role("link", name=request_id)).to_be_visible()
    shots.take(officer_a, "officer-a-queue")
    approve(officer_a, site, request_id, "CSR matches the ticket")
    expect(officer_a.get_by_text("Your approval was recorded.")).to_be_visible()
    expect(officer_a.locator(".status-line")).to_contain_text("pending")
    expect(officer_a.locator(".status-line")).to_contain_text("1 of 2 approvals")
    shots.take(officer_a, "officer-a-approved-still-pending")

    requester.reload()
    expect(requester.locator(".status-line")).to_contain_text("1 of 2 approvals so far")
    shots.take(requester, "anonymous-sees-pending")

    officer_b = person(browser, contexts, dialogs)
    log_in(officer_b, site, "alice", PEOPLE["alice"][0])  # from the directory, in group ca-ops
    approve(officer_b, site, request_id, "second pair of eyes")
    expect(officer_b.get_by_text("Your approval completed the request")).to_be_visible()
    expect(officer_b.locator(".status-line")).to_contain_text("issued")
    expect(officer_b.locator("ol.approvals li")).to_have_count(2)
    shots.take(officer_b, "officer-b-ldap-approved-issued")

    requester.reload()
    expect(requester.locator(".status-line")).to_contain_text("issued")
    with requester.expect_download() as download:
        requester.get_by_role("link", name="PEM (certificate and chain)").click()
    assert download.value.suggested_filename == f"{request_id}.pem"
    pem = tmp_path / "downloaded.pem"
    download.value.save_as(pem)
    shots.take(requester, "anonymous-downloads-pem")

    leaf, issuing, root = x509.load_pem_x509_certificates(pem.read_bytes())
    assert leaf.subject.rfc4514_string() == "CN=www.example.com"
    for name, certificate in (("leaf", leaf), ("issuing", issuing), ("root", root)):
        (tmp_path / f"{name}.pem").write_bytes(certificate.public_bytes(Encoding.PEM))
    verified = openssl("verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "leaf.pem", cwd=tmp_path)
    assert verified.stdout.strip() == "leaf.pem: OK"
    assert dialogs.seen == []
    assert [p.name for p in shots.taken] == [
        "step-01-home.png",
        "step-02-anonymous-uploads-csr.png",
        "step-03-anonymous-checks-parsed-csr.png",
        "step-04-anonymous-gets-request-id.png",
        "step-05-officer-a-queue.png",
        "step-06-officer-a-approved-still-pending.png",
        "step-07-anonymous-sees-pending.png",
        "step-08-officer-b-ldap-approved-issued.png",
        "step-09-anonymous-downloads-pem.png",
    ]


def test_a_generated_key_is_collected_once_as_pkcs12_with_the_token_shown_once(
    browser: Browser, contexts: list[BrowserContext], site: Site, tmp_path: Path
) -> None:
    shots = Screenshots(tmp_path)
    dialogs = Dialogs()
    page = person(browser, contexts, dialogs)
    page.goto(f"{site.portal}/keygen")
    page.get_by_label("Registration authority and profile").select_option("instant/tls-client")
    page.get_by_label("Subject", exact=True).fill("CN=laptop-42,O=Example")
    page.get_by_label("Key type").select_option("ec-p256")
    page.get_by_role("button", name="Request").click()
    expect(page.get_by_role("heading", name="Write down your pickup token now")).to_be_visible()
    token = page.locator("#pickup-token").inner_text().strip()
    request_id = page.locator("#request-id").inner_text().strip()
    shots.take(page, "token-shown-once")

    page.goto(f"{site.portal}/requests/{request_id}")
    expect(page.locator("body")).not_to_contain_text(token)  # shown once, never again
    page.get_by_label("Pickup token").fill(token)
    page.get_by_label("Password for the PKCS#12 file").fill("laptop password 1")
    page.get_by_label("The same password again").fill("laptop password 1")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the PKCS#12 file").click()
    bundle = download.value.path().read_bytes()
    key, certificate, chain = pkcs12.load_key_and_certificates(bundle, b"laptop password 1")
    assert key is not None and certificate is not None and len(chain) == 2
    assert certificate.subject.rfc4514_string() == "CN=laptop-42,O=Example"

    page.goto(f"{site.portal}/requests/{request_id}")
    expect(page.get_by_text("The key was collected")).to_be_visible()
    expect(page.get_by_label("Pickup token")).to_have_count(0)
    shots.take(page, "key-collected")
    assert dialogs.seen == []


def test_pages_fit_a_phone_screen(browser: Browser, contexts: list[BrowserContext], site: Site, tmp_path: Path) -> None:
    shots = Screenshots(tmp_path)
    page = person(browser, contexts, Dialogs(), viewport=PHONE, is_mobile=True, has_touch=True)
    for path, what in (("/", "home"), ("/submit", "submit"), ("/keygen", "keygen"), ("/login", "login")):
        page.goto(f"{site.portal}{path}")
        assert not overflows_horizontally(page), path
        shots.take(page, f"phone-{what}")
    log_in(page, site, "olga", PASSWORD)
    page.goto(f"{site.portal}/queue")
    assert not overflows_horizontally(page)  # wide tables scroll inside their own region
    shots.take(page, "phone-queue")
