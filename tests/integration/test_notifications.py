"""Notifications of RA request changes on both databases, to real receivers: a local HTTP(S)
server gets signed webhooks (with retries on failure, recorded in the delivery log), and a local
SMTP server (aiosmtpd) gets the mails; the secrets never show."""

from __future__ import annotations

import datetime as dt
import json
import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.keytypes import KeyType
from chancery.domain.notifications import EVENTS, Channel, DeliveryState, SmtpSecurity
from chancery.domain.principals import Principal, Role
from chancery.domain.queries import AuditFilter
from chancery.domain.records import CertificateAuthorityRecord
from chancery.domain.registration import ProfilePolicy, RequestState
from chancery.errors import Malformed, NotFound, PermissionDenied
from chancery.services.authority.issuance import IssueFromCsr
from chancery.services.identity.accounts import NewGrant
from chancery.services.notifications.dispatcher import BACKOFF, MAX_ATTEMPTS
from chancery.services.notifications.settings import NewWebhook, SmtpConfiguration
from chancery.services.notifications.webhooks import verify
from chancery.services.registration.authorities import NewRa
from chancery.services.registration.decisions import Decision
from chancery.services.registration.intake import CsrSubmission, KeygenSubmission
from chancery.settings import Settings
from tests.conftest import PASSPHRASE
from tests.support.csrs import make_csr
from tests.support.receivers import SmtpServer, WebhookReceiver, free_port

pytestmark = pytest.mark.integration

AUDITOR = Principal("audrey", frozenset({Role.AUDITOR}))
REQUEST_FIELDS = {
    "id",
    "ra",
    "ca",
    "profile",
    "kind",
    "status",
    "subject",
    "sans",
    "requester",
    "approvals",
    "serial",
}


@pytest.fixture
def ra(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord) -> str:
    """RA ``web`` on CA issuing: tls-server needs one approval (officer olga), tls-client none;
    new pending requests are announced to pki-team@example.com."""
    app.ras.create(
        admin,
        NewRa(
            "web",
            "issuing",
            ("tls-server",),
            ProfilePolicy(approvals=1, allow_anonymous=True),
            notify_emails=("pki-team@example.com",),
        ),
    )
    app.ras.set_policy(admin, "web", "tls-client", ProfilePolicy(approvals=0, allow_anonymous=True))
    app.accounts.add_user(admin, "olga")
    app.accounts.grant(admin, NewGrant(Role.RA_OFFICER, user="olga", ra="web"))
    return "web"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


def officer(app: wiring.Application) -> Principal:
    operator = Principal("setup", frozenset({Role.ADMINISTRATOR}), kind="cli")
    return app.tokens.authenticate(app.tokens.create_for_user(operator, "olga", "olga").token)


def submit(app: wiring.Application, contact: str | None = None, profile: str = "tls-server") -> str:
    _, csr = make_csr("www.example.com", ("DNS:www.example.com",))
    submission = CsrSubmission("web", profile, csr, contact_email=contact)
    return app.ra_intake.submit_csr(None, submission).request.request_id


def signed_by(secret: str, post_headers: dict[str, str], body: bytes, clock: FixedClock) -> bool:
    return verify(secret, post_headers["chancery-signature"], body, clock.now().timestamp())


# -- webhooks ----------------------------------------------------------------------------------------


def test_a_subscriber_receives_signed_webhooks_when_a_request_is_submitted_approved_and_issued(
    app: wiring.Application, admin: Principal, ra: str, receiver: WebhookReceiver, clock: FixedClock
) -> None:
    created = app.notifications.settings.add_webhook(admin, NewWebhook(receiver.url))
    assert created.subscription.events == EVENTS
    request_id = submit(app, contact="rita@example.com")
    issued = app.ra_decisions.approve(officer(app), Decision(request_id))
    assert issued.state is RequestState.ISSUED

    report = app.notifications.dispatcher.deliver_due()

    assert (report.delivered, report.retrying, report.failed) == (3, 0, 0)
    posts = {json.loads(p.body)["event"]: p for p in receiver.received}
    assert sorted(posts) == ["approved", "issued", "submitted"]
    log = {entry.delivery.delivery_id: entry for entry in app.notifications.settings.deliveries(admin)}
    for event, post in posts.items():
        assert post.path == "/hooks/chancery"
        assert post.headers["content-type"] == "application/json"
        assert post.headers["chancery-event"] == event
        assert log[post.headers["chancery-delivery"]].delivery.state is DeliveryState.DELIVERED
        assert signed_by(created.secret, post.headers, post.body, clock)
        assert not signed_by(created.secret + "x", post.headers, post.body, clock)
        assert not signed_by(created.secret, post.headers, post.body.replace(b"web", b"wab"), clock)
        document = json.loads(post.body)
        assert set(document) == {"id", "event", "occurred_at", "request"}
        assert set(document["request"]) == REQUEST_FIELDS
        assert document["request"]["id"] == request_id
    assert len({json.loads(p.body)["id"] for p in posts.values()}) == 3  # one event ID per change
    final = json.loads(posts["issued"].body)["request"]
    assert final["status"] == "issued" and final["serial"] == issued.serial
    assert [a["name"] for a in final["approvals"]] == ["olga"]
    assert final["sans"] == ["DNS:www.example.com"] and final["ra"] == "web" and final["ca"] == "issuing"
    assert json.loads(posts["submitted"].body)["request"]["status"] == "pending"
    for post in posts.values():  # the CSR and the contact address stay inside
        assert b"CERTIFICATE REQUEST" not in post.body and b"rita@example.com" not in post.body
    assert all(len(entry.attempts) == 1 and entry.attempts[0].status == 200 for entry in log.values())


def test_a_keygen_request_webhook_carries_no_pickup_token_or_key(
    app: wiring.Application, admin: Principal, ra: str, receiver: WebhookReceiver
) -> None:
    app.notifications.settings.add_webhook(admin, NewWebhook(receiver.url, events=("issued",)))
    submitted = app.ra_intake.submit_keygen(
        None, KeygenSubmission("web", "tls-client", "CN=device-7", KeyType.EC_P256, ("DNS:device-7.example.com",))
    )
    app.notifications.dispatcher.deliver_due()

    (post,) = receiver.received
    assert submitted.pickup_token and submitted.pickup_token.encode() not in post.body
    request = json.loads(post.body)["request"]
    assert request["kind"] == "keygen" and request["status"] == "issued"
    assert set(request) == REQUEST_FIELDS  # no key id, no pickup hash


def test_subscriptions_get_only_their_ra_and_events(
    app: wiring.Application, admin: Principal, ra: str, receiver: WebhookReceiver
) -> None:
    app.ras.create(admin, NewRa("vpn", "issuing", ("tls-client",), ProfilePolicy(approvals=0)))
    app.notifications.settings.add_webhook(admin, NewWebhook(receiver.url, ra="vpn"))
    app.notifications.settings.add_webhook(admin, NewWebhook(receiver.url + "?only=issued", events=("issued",)))
    request_id = submit(app)
    app.ra_decisions.approve(officer(app), Decision(request_id))
    app.notifications.dispatcher.deliver_due()

    assert [(p.path, json.loads(p.body)["event"]) for p in receiver.received] == [
        ("/hooks/chancery?only=issued", "issued")
    ]


def test_a_failed_delivery_is_retried_after_the_backoff_and_the_log_shows_both_attempts(
    app: wiring.Application, admin: Principal, ra: str, clock: FixedClock
) -> None:
    receiver = WebhookReceiver(statuses=[500])
    try:
        created = app.notifications.settings.add_webhook(admin, NewWebhook(receiver.url, events=("submitted",)))
        submit(app)
        first = app.notifications.dispatcher.deliver_due()
        assert (first.delivered, first.retrying) == (0, 1)
        assert app.notifications.dispatcher.deliver_due().retrying == 0  # not due yet: nothing sent
        assert len(receiver.received) == 1

        clock.advance(BACKOFF[0])
        assert app.notifications.dispatcher.deliver_due().delivered == 1
    finally:
        receiver.close()

    one, two = receiver.received
    assert one.body == two.body and one.headers["chancery-delivery"] == two.headers["chancery-delivery"]
    assert signed_by(created.secret, two.headers, two.body, clock)
    (entry,) = app.notifications.settings.deliveries(admin)
    assert entry.delivery.state is DeliveryState.DELIVERED and entry.delivery.attempts == 2
    assert [(a.number, a.status, a.ok) for a in entry.attempts] == [(1, 500, False), (2, 200, True)]
    assert entry.attempts[0].error.startswith("HTTP 500")
    assert entry.attempts[1].at - entry.attempts[0].at == BACKOFF[0]


def test_a_redirect_is_not_followed(app: wiring.Application, admin: Principal, ra: str) -> None:
    receiver = WebhookReceiver(statuses=[307])
    try:
        app.notifications.settings.add_webhook(admin, NewWebhook(receiver.url, events=("submitted",)))
        submit(app)
        assert app.notifications.dispatcher.deliver_due().retrying == 1
    finally:
        receiver.close()
    assert len(receiver.received) == 1
    (entry,) = app.notifications.settings.deliveries(admin)
    assert entry.attempts[0].status == 307 and "redirects are not followed" in entry.attempts[0].error


def test_an_unreachable_url_ends_failed_after_the_last_retry(
    app: wiring.Application, admin: Principal, ra: str, clock: FixedClock
) -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    app.notifications.settings.add_webhook(admin, NewWebhook(url, events=("submitted",)))
    submit(app)
    for wait in BACKOFF:
        assert app.notifications.dispatcher.deliver_due().retrying == 1
        assert app.notifications.settings.deliveries(admin, failed_only=True) == ()
        clock.advance(wait)
    assert app.notifications.dispatcher.deliver_due().failed == 1

    (entry,) = app.notifications.settings.deliveries(admin, failed_only=True)
    assert entry.delivery.target == url and entry.delivery.attempts == MAX_ATTEMPTS == 6
    assert all(a.status is None and "ConnectError" in a.error for a in entry.attempts)
    clock.advance(dt.timedelta(days=1))
    assert app.notifications.dispatcher.deliver_due().failed == 0  # nothing more is tried


def test_the_delivery_thread_sends_when_woken_after_the_commit(
    app: wiring.Application, admin: Principal, ra: str, receiver: WebhookReceiver
) -> None:
    app.notifications.settings.add_webhook(admin, NewWebhook(receiver.url, events=("submitted",)))
    app.notifications.worker.start()
    try:
        request_id = submit(app)  # wakes the worker; nobody calls the dispatcher here
        post = receiver.next(timeout=15)
    finally:
        app.notifications.worker.stop()
    assert json.loads(post.body)["request"]["id"] == request_id


def test_https_is_verified_against_the_configured_ca_file(
    app: wiring.Application, admin: Principal, ra: str, tmp_path: Path
) -> None:
    root_pem, tls = server_tls(app, admin, tmp_path)
    receiver = WebhookReceiver(tls=tls)
    try:
        app.notifications.settings.add_webhook(admin, NewWebhook(receiver.url, events=("submitted",)))
        app.notifications.settings.add_webhook(
            admin, NewWebhook(receiver.url, events=("submitted",), ca_certificates_pem=root_pem)
        )
        submit(app)
        report = app.notifications.dispatcher.deliver_due()
    finally:
        receiver.close()
    assert (report.delivered, report.retrying) == (1, 1)
    assert len(receiver.received) == 1
    (refused,) = [e for e in app.notifications.settings.deliveries(admin) if not e.attempts[0].ok]
    assert "CERTIFICATE_VERIFY_FAILED" in refused.attempts[0].error  # our CA is not in the system's store


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("ftp://hooks.example.com/in", id="fail/ftp"),
        pytest.param("file:///etc/passwd", id="fail/file"),
        pytest.param("javascript:alert(1)", id="fail/javascript"),
        pytest.param("hooks.example.com/in", id="fail/no-scheme"),
        pytest.param("https:///in", id="fail/no-host"),
        pytest.param("https://user:pw@hooks.example.com/in", id="fail/credentials"),
        pytest.param("https://hooks.example.com/in\r\nX-Evil: 1", id="fail/crlf"),
    ],
)
def test_a_webhook_url_that_is_not_http_or_https_is_refused(
    app: wiring.Application, admin: Principal, url: str
) -> None:
    with pytest.raises(Malformed):
        app.notifications.settings.add_webhook(admin, NewWebhook(url))
    assert app.notifications.settings.webhooks(admin) == ()
    assert app.audit.search(AUDITOR, AuditFilter(action="webhook.")) == []


@pytest.mark.parametrize(
    ("new", "error"),
    [
        pytest.param(NewWebhook("https://hooks.example.com", events=("created",)), Malformed, id="fail/unknown-event"),
        pytest.param(NewWebhook("https://hooks.example.com", ra="nope"), NotFound, id="fail/unknown-ra"),
        pytest.param(
            NewWebhook("http://hooks.example.com", ca_certificates_pem="-----BEGIN CERTIFICATE-----\n"),
            Malformed,
            id="fail/ca-file-for-http",
        ),
    ],
)
def test_a_subscription_names_known_events_and_ras(
    app: wiring.Application, admin: Principal, new: NewWebhook, error: type[Exception]
) -> None:
    with pytest.raises(error):
        app.notifications.settings.add_webhook(admin, new)


@pytest.mark.parametrize(
    "who",
    [
        pytest.param(Principal("carol", frozenset({Role.CA_OPERATOR})), id="fail/ca-operator"),
        pytest.param(Principal("olga", frozenset({Role.RA_OFFICER})), id="fail/ra-officer"),
        pytest.param(AUDITOR, id="fail/auditor"),
    ],
)
def test_only_administrators_manage_notifications(app: wiring.Application, who: Principal) -> None:
    with pytest.raises(PermissionDenied):
        app.notifications.settings.add_webhook(who, NewWebhook("https://hooks.example.com"))
    with pytest.raises(PermissionDenied):
        app.notifications.settings.configure_smtp(who, SmtpConfiguration("smtp.example.com", 25, "ca@example.com"))
    with pytest.raises(PermissionDenied):
        app.notifications.settings.deliveries(who)


def test_removing_a_subscription_gives_up_its_waiting_deliveries(
    app: wiring.Application, admin: Principal, ra: str, receiver: WebhookReceiver
) -> None:
    created = app.notifications.settings.add_webhook(admin, NewWebhook(receiver.url))
    submit(app)
    app.notifications.settings.remove_webhook(admin, created.subscription.subscription_id)
    assert app.notifications.dispatcher.deliver_due().delivered == 0
    assert receiver.received == []
    (entry,) = app.notifications.settings.deliveries(admin, failed_only=True)
    assert entry.delivery.last_error == "the webhook subscription was removed"
    (removed,) = app.audit.search(AUDITOR, AuditFilter(action="webhook.removed"))
    assert json.loads(removed.details_json)["undelivered"] == 1
    with pytest.raises(NotFound):
        app.notifications.settings.remove_webhook(admin, created.subscription.subscription_id)


# -- e-mail --------------------------------------------------------------------------------------------


def test_mail_tells_the_ra_of_a_new_pending_request_and_the_requester_of_the_issued_certificate(
    app: wiring.Application, admin: Principal, ra: str, settings: Settings
) -> None:
    smtp = SmtpServer()
    try:
        app.notifications.settings.configure_smtp(
            admin, SmtpConfiguration("127.0.0.1", smtp.port, "ca@example.com", SmtpSecurity.NONE)
        )
        request_id = submit(app, contact="rita@example.com")
        issued = app.ra_decisions.approve(officer(app), Decision(request_id))
        report = app.notifications.dispatcher.deliver_due()
    finally:
        smtp.close()

    assert report.delivered == 2  # and no webhooks: nobody subscribed
    mails = {mail.rcpt_tos: mail for mail in smtp.mails}
    assert sorted(mails) == [("pki-team@example.com",), ("rita@example.com",)]
    link = f"{settings.base_url}/portal/requests/{request_id}"
    pending = mails[("pki-team@example.com",)].message
    assert pending["From"] == "ca@example.com" and pending["To"] == "pki-team@example.com"
    assert f"New request {request_id} waits for approval at RA web" in pending["Subject"]
    text = pending.get_content()
    assert all(
        fact in text for fact in (request_id, "RA:       web", "Profile:  tls-server", "Status:   pending", link)
    )
    outcome = mails[("rita@example.com",)].message
    assert outcome["Subject"] == f"[Chancery] Request {request_id} issued"
    text = outcome.get_content()
    assert all(fact in text for fact in ("Status:   issued", f"Serial:   {issued.serial}", link))
    assert outcome.get_content_type() == "text/plain" and outcome["Auto-Submitted"] == "auto-generated"
    assert {e.delivery.channel for e in app.notifications.settings.deliveries(admin)} == {Channel.EMAIL}


def test_a_denied_request_mails_its_reason(app: wiring.Application, admin: Principal, ra: str) -> None:
    smtp = SmtpServer()
    try:
        app.notifications.settings.configure_smtp(
            admin, SmtpConfiguration("127.0.0.1", smtp.port, "ca@example.com", SmtpSecurity.NONE)
        )
        request_id = submit(app, contact="rita@example.com")
        app.ra_decisions.deny(officer(app), Decision(request_id, "www is not yours"))
        app.notifications.dispatcher.deliver_due()
    finally:
        smtp.close()
    (denied,) = [m.message for m in smtp.mails if m.rcpt_tos == ("rita@example.com",)]
    assert denied["Subject"].endswith("denied") and "Reason:   www is not yours" in denied.get_content()


def test_mail_goes_over_starttls_with_a_login_and_the_password_never_shows(
    app: wiring.Application, admin: Principal, ra: str, tmp_path: Path
) -> None:
    root_pem, tls = server_tls(app, admin, tmp_path)
    smtp = SmtpServer(tls=tls, username="chancery", password="mail password 42")
    try:
        configuration = SmtpConfiguration(
            "127.0.0.1", smtp.port, "ca@example.com", SmtpSecurity.STARTTLS, "chancery", "mail password 42", root_pem
        )
        settings = app.notifications.settings.configure_smtp(admin, configuration)
        app.notifications.settings.test_smtp(admin, "pki-team@example.com")
    finally:
        smtp.close()
    assert smtp.logins == ["chancery"]
    assert [m.rcpt_tos for m in smtp.mails] == [("pki-team@example.com",)]
    assert "mail password 42" not in repr(settings) and "mail password 42" not in (settings.password_sealed or "")
    assert not any("mail password 42" in e.details_json for e in app.audit.export(AUDITOR))


def test_a_failing_smtp_test_says_why(app: wiring.Application, admin: Principal) -> None:
    port = free_port()
    app.notifications.settings.configure_smtp(
        admin, SmtpConfiguration("127.0.0.1", port, "ca@example.com", SmtpSecurity.NONE)
    )
    with pytest.raises(Exception, match="the test message was not sent: ConnectionRefusedError"):
        app.notifications.settings.test_smtp(admin, "pki-team@example.com")
    (tested,) = app.audit.search(AUDITOR, AuditFilter(action="smtp.tested"))
    assert tested.outcome == "failure"


@pytest.mark.parametrize(
    "where",
    [
        pytest.param("from", id="fail/from-crlf"),
        pytest.param("to", id="fail/test-to-lf"),
        pytest.param("contact", id="fail/contact-email-crlf"),
    ],
)
def test_an_address_with_a_line_break_is_refused(
    app: wiring.Application, admin: Principal, ra: str, where: str
) -> None:
    evil = "rita@example.com\r\nBcc: everyone@example.com"
    smtp = SmtpConfiguration("127.0.0.1", free_port(), "ca@example.com", SmtpSecurity.NONE)
    with pytest.raises(Malformed):
        if where == "from":
            app.notifications.settings.configure_smtp(admin, SmtpConfiguration("127.0.0.1", 25, evil))
        elif where == "to":
            app.notifications.settings.configure_smtp(admin, smtp)
            app.notifications.settings.test_smtp(admin, evil.replace("\r", ""))
        else:
            submit(app, contact=evil)
    assert all(e.delivery.channel is not Channel.EMAIL for e in app.notifications.settings.deliveries(admin))


# -- the command line -----------------------------------------------------------------------------------


def test_the_webhook_secret_is_shown_once_and_never_in_the_list_or_the_audit_log(
    app: wiring.Application, ra: str, settings: Settings, database_url: str
) -> None:
    env = {
        "CHANCERY_DATA_DIR": str(settings.data_dir),
        "CHANCERY_DATABASE_URL": database_url,
        "CHANCERY_KEY_PASSPHRASE": PASSPHRASE.decode(),
        "COLUMNS": "200",
    }
    from chancery.cli.main import app as cli

    def chancery(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    added = chancery(
        "notify", "webhook", "add", "--url", "https://hooks.example.com/in", "--ra", "web", "--event", "issued"
    )
    secret = re.search(r"secret: ([A-Za-z0-9_-]{43})\n", added)
    assert secret is not None
    subscription = re.search(r"webhook ([0-9a-f]{16}) -> https://hooks.example.com/in \(web: issued\)", added)
    assert subscription is not None
    listing = chancery("notify", "webhook", "list")
    assert subscription.group(1) in listing and "https://hooks.example.com/in" in listing
    assert secret.group(1) not in listing
    entries = list(app.audit.export(AUDITOR))
    assert any(e.action == "webhook.added" and e.target == subscription.group(1) for e in entries)
    assert not any(secret.group(1) in e.details_json for e in entries)
    assert "no deliveries" in chancery("notify", "deliveries", "--failed")
    assert "removed" in chancery("notify", "webhook", "remove", subscription.group(1))
    assert "no webhook subscriptions" in chancery("notify", "webhook", "list")


# -- helpers ---------------------------------------------------------------------------------------------


def server_tls(app: wiring.Application, admin: Principal, directory: Path) -> tuple[str, ssl.SSLContext]:
    """A TLS server certificate for 127.0.0.1 from the test CA, and the root's PEM to trust."""
    key, csr = make_csr("127.0.0.1", ("IP:127.0.0.1",))
    issued = app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-server", csr))
    pem = serialization.Encoding.PEM
    chain = b"".join(c.public_bytes(pem) for c in (issued.certificate, *issued.chain[:-1]))
    (directory / "server.pem").write_bytes(chain)
    (directory / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())  # type: ignore[union-attr]
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")
    return issued.chain[-1].public_bytes(pem).decode(), context
