"""Issue 8's bad input and attacks against the portal of a real ``chancery serve``: script in a CSR
(Chromium, the requester's pages and the officer's queue), forms posted without their CSRF token or
with another session's, a guessed request ID, an anonymous submission where the RA forbids it,
approving an expired request, a 10 MB upload, and the security headers."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from chancery.clock import FixedClock
from chancery.domain.registration import RequestState
from chancery.portal.security import CONTENT_SECURITY_POLICY
from chancery.services.registration.intake import CsrSubmission
from tests.support.browser import Dialogs, chromium
from tests.support.csrs import make_csr
from tests.support.portal import PASSWORD, FormClient, Site, start_site

pytestmark = pytest.mark.interop

SCRIPT = "<script>alert(1)</script>"
SCRIPT_DN = r"CN=\<script\>alert(1)\</script\>"  # RFC 4514 §2.4 escapes < and > in a DN string
GUESS = "7K2M-9QXR-3VTD-H8PA"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    served = start_site(tmp_path_factory.mktemp("portal"))
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def anonymous(site: Site) -> Iterator[FormClient]:
    client = FormClient(site.portal)
    yield client
    client.close()


@pytest.fixture
def olga(site: Site) -> Iterator[FormClient]:
    client = FormClient(site.portal).login("olga")
    yield client
    client.close()


def submit(client: FormClient, target: str = "web/tls-client", cn: str = "host.example.com", **extra: str) -> str:
    """Submit a CSR through the check page, as the browser does; the new request's ID."""
    _, csr = make_csr(cn, ())
    files = {"csr_file": ("request.csr", csr, "application/pkcs10")}
    checked = client.post("/submit/check", data={"csrf_token": client.token("/submit"), "target": target}, files=files)
    assert checked.status_code == 200, checked.text
    carried = dict(field.split('" value="') for field in _hidden_fields(checked.text))
    response = client.post("/submit", data={**carried, **extra})
    assert response.status_code == 303, response.text
    return response.headers["location"].split("/requests/")[1].split("?")[0]


def _hidden_fields(html: str) -> list[str]:
    return [chunk.split('">')[0] for chunk in html.split('type="hidden" name="')[1:]]


# -- script in a CSR ---------------------------------------------------------------------------


def visible(page: Page, text: str) -> None:
    expect(page.get_by_text(text, exact=True).first).to_be_visible()


def test_script_in_a_csr_is_shown_as_text_everywhere_and_never_runs(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    dialogs = Dialogs()
    csr = tmp_path / "evil.csr"
    csr.write_bytes(make_csr(SCRIPT, ())[1])
    requester = dialogs.watch(browser.new_page())
    officer = dialogs.watch(browser.new_page())  # a profile of its own: new_page makes a new context
    try:
        requester.goto(f"{site.portal}/submit")
        requester.get_by_label("Registration authority and profile").select_option("web/tls-client")
        requester.get_by_label("Upload a CSR file (PEM or DER)").set_input_files(csr)
        requester.get_by_label("Note to the officers (optional)").fill(SCRIPT)
        requester.get_by_role("button", name="Check").click()
        visible(requester, SCRIPT_DN)
        requester.get_by_role("button", name="Submit request").click()
        request_id = requester.locator("#request-id").inner_text().strip()
        visible(requester, SCRIPT_DN)
        visible(requester, SCRIPT)  # the note, literally

        officer.goto(f"{site.portal}/login")
        officer.get_by_label("User name").fill("oscar")
        officer.get_by_label("Password").fill(PASSWORD)
        officer.get_by_role("button", name="Log in").click()
        officer.goto(f"{site.portal}/queue")
        row = officer.get_by_role("row").filter(has=officer.get_by_role("link", name=request_id))
        expect(row).to_contain_text(SCRIPT_DN)
        officer.get_by_role("link", name=request_id).click()
        visible(officer, SCRIPT_DN)
        visible(officer, SCRIPT)
        for page in (requester, officer):
            assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
    finally:
        requester.context.close()
        officer.context.close()
    assert dialogs.seen == []


# -- CSRF ----------------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(site: Site, anonymous: FormClient) -> None:
    before = site.requests()
    _, csr = make_csr("nobody.example.com", ())
    files = {"csr_file": ("request.csr", csr, "application/pkcs10")}
    anonymous.token("/submit")  # the browser has its form cookie, but posts no token
    refused = anonymous.post("/submit/check", data={"target": "web/tls-client"}, files=files)
    assert refused.status_code == 403
    assert "missing or wrong form token" in refused.text
    assert site.requests() == before


def token_for(case: str, own: FormClient, other: FormClient, page: str) -> str:
    """The token a forged form would carry: none, another browser's or session's, or the right one."""
    own_token = own.token(page)  # the victim's browser has loaded the page (and its cookies)
    if case == "fail/no-token":
        return ""
    if case.startswith("fail/other") or case.startswith("fail/another"):
        return other.token(page)
    return own_token


@pytest.mark.parametrize(
    "case",
    ["fail/another-browsers-token", "fail/no-token", "fail/cross-site", "ok/own-token"],
)
def test_an_anonymous_form_needs_this_browsers_token(site: Site, anonymous: FormClient, case: str) -> None:
    other = FormClient(site.portal)
    try:
        token = token_for(case, anonymous, other, "/login")
    finally:
        other.close()
    headers = {"Sec-Fetch-Site": "cross-site"} if case == "fail/cross-site" else {}
    form = {"csrf_token": token, "username": "olga", "password": PASSWORD}
    response = anonymous.post("/login", data=form, headers=headers)
    if case.startswith("ok/"):
        assert response.status_code == 303
        assert "__Host-chancery_session" in anonymous.cookies
    else:
        assert response.status_code == 403
        assert "__Host-chancery_session" not in anonymous.cookies


@pytest.mark.parametrize("case", ["fail/no-token", "fail/other-sessions-token", "ok/own-token"])
def test_an_officers_form_needs_the_token_of_their_own_session(
    site: Site, anonymous: FormClient, olga: FormClient, case: str
) -> None:
    request_id = submit(anonymous)
    oscar = FormClient(site.portal).login("oscar")
    try:
        token = token_for(case, olga, oscar, "/queue")
    finally:
        oscar.close()
    response = olga.post(f"/queue/{request_id}/approve", data={"csrf_token": token, "comment": "ok"})
    approvals = next(r for r in site.requests() if r.request_id == request_id).approvals
    if case.startswith("ok/"):
        assert response.status_code == 303
        assert [a.approver for a in approvals] == ["olga"]
    else:
        assert response.status_code == 403
        assert "missing or wrong CSRF token" in response.text
        assert approvals == ()


# -- guessed IDs, forbidden anonymity, expiry, size -------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(f"/requests/{GUESS}", id="fail/request-page"),
        pytest.param(f"/requests/{GUESS}/certificate.pem", id="fail/download"),
        pytest.param(f"/status?id={GUESS.lower()}", id="fail/status-form"),
        pytest.param("/status?id=not-an-id", id="fail/status-form-not-an-id"),
    ],
)
def test_a_guessed_request_id_shows_no_such_request(anonymous: FormClient, path: str) -> None:
    response = anonymous.get(path)
    if response.status_code == 303:  # the status form sends a well-formed ID to its page
        response = anonymous.get(response.headers["location"].removeprefix("/portal"))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "no such request" in response.text


def test_an_anonymous_request_to_an_ra_that_forbids_it_is_refused(site: Site, anonymous: FormClient) -> None:
    before = site.requests()
    _, csr = make_csr("laptop.example.com", ())
    files = {"csr_file": ("request.csr", csr, "application/pkcs10")}
    target = "staff-only/tls-client"
    checked = anonymous.post(
        "/submit/check", data={"csrf_token": anonymous.token("/submit"), "target": target}, files=files
    )
    assert checked.status_code == 200
    assert "RA staff-only does not take requests for tls-client without an account" in checked.text
    assert "Submit request" not in checked.text  # no button that can only fail
    carried = {"csrf_token": anonymous.token("/submit"), "target": target, "csr": base64.b64encode(csr).decode()}
    refused = anonymous.post("/submit", data=carried)  # posted anyway
    assert refused.status_code == 401
    assert "RA staff-only does not take anonymous requests for profile tls-client: log in first" in refused.text
    assert site.requests() == before


def test_approving_an_expired_request_is_refused(site: Site, olga: FormClient) -> None:
    """Submitted three hours ago to RA brief, whose requests wait one hour (the submitting
    process's clock is moved back; the server's is real)."""
    app = site.application(FixedClock(dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)))
    try:
        _, csr = make_csr("old.example.com", ())
        request_id = app.ra_intake.submit_csr(None, CsrSubmission("brief", "tls-client", csr)).request.request_id
    finally:
        app.close()
    response = olga.post(f"/queue/{request_id}/approve", data={"csrf_token": olga.token("/"), "comment": "late"})
    assert response.status_code == 409
    assert re.search(rf"request {request_id} (expired at|is expired)", response.text)
    record = next(r for r in site.requests() if r.request_id == request_id)
    assert record.state is RequestState.EXPIRED
    assert record.approvals == ()


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(10 * 1024 * 1024, id="fail/10-MB"),
        pytest.param(700 * 1024, id="fail/700-KB-over-the-portal-limit"),
    ],
)
def test_an_oversized_upload_is_refused_with_413_and_nothing_is_recorded(
    site: Site, anonymous: FormClient, size: int
) -> None:
    before = site.requests()
    files = {"csr_file": ("huge.csr", b"A" * size, "application/pkcs10")}
    response = anonymous.post(
        "/submit/check", data={"csrf_token": anonymous.token("/submit"), "target": "web/tls-client"}, files=files
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "larger than 640 KiB; nothing was recorded" in response.text
    assert site.requests() == before


# -- headers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "cache"),
    [
        pytest.param("/", 200, "no-store", id="ok/home"),
        pytest.param("/submit", 200, "no-store", id="ok/form"),
        pytest.param("/login", 200, "no-store", id="ok/login"),
        pytest.param(f"/requests/{GUESS}", 404, "no-store", id="ok/error-page"),
        pytest.param("/queue", 303, "no-store", id="ok/redirect-to-login"),
        pytest.param("/nowhere", 404, "no-store", id="ok/unknown-page"),
        pytest.param("/static/portal.css", 200, "max-age=3600", id="ok/stylesheet"),
    ],
)
def test_every_portal_response_has_the_security_headers(site: Site, path: str, status: int, cache: str) -> None:
    response = httpx.get(f"{site.portal}{path}")
    assert response.status_code == status
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == cache
    assert "strict-transport-security" not in response.headers  # plain HTTP (RFC 6797 §7.2)
    for cookie in response.headers.get_list("set-cookie"):
        assert cookie.startswith("__Host-")
        assert {"secure", "httponly", "samesite=strict", "path=/"} <= {a.strip().lower() for a in cookie.split(";")}
