"""Who is mailed about which request change, and messages no address can add headers to."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from chancery.domain.registration import RaRecord, RequestKind, RequestRecord, RequestState
from chancery.errors import Malformed
from chancery.services.notifications.mail import Mail, build_message, check_address, mails_for
from chancery.services.registration.changes import RequestChange

AT = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.timezone.utc)
RA = RaRecord("web", "issuing", (), AT, "admin", notify_emails=("pki-team@example.com", "ops@example.com"))
REQUEST = RequestRecord(
    request_id="7K2M-9QXR-3VTD-H8PA",
    ra="web",
    ca="issuing",
    profile="tls-server",
    kind=RequestKind.CSR,
    state=RequestState.PENDING,
    requester="anonymous",
    submitted_at=AT,
    expires_at=AT + dt.timedelta(days=7),
    approvals_required=2,
    contact_email="rita@example.com",
)


@pytest.mark.parametrize(
    ("event", "state", "contact", "recipients"),
    [
        pytest.param(
            "submitted",
            "pending",
            "rita@example.com",
            ["pki-team@example.com", "ops@example.com"],
            id="ok/new-pending-to-ra",
        ),
        pytest.param("submitted", "approved", "rita@example.com", [], id="ok/no-approval-needed-no-ra-mail"),
        pytest.param("approval", "pending", "rita@example.com", [], id="ok/one-approval-no-mail"),
        pytest.param("approved", "approved", "rita@example.com", [], id="ok/approved-no-mail"),
        pytest.param("issued", "issued", "rita@example.com", ["rita@example.com"], id="ok/issued-to-contact"),
        pytest.param("revoked", "revoked", "rita@example.com", ["rita@example.com"], id="ok/revoked-to-contact"),
        pytest.param("denied", "denied", "rita@example.com", ["rita@example.com"], id="ok/denied-to-contact"),
        pytest.param("cancelled", "cancelled", "rita@example.com", ["rita@example.com"], id="ok/cancelled-to-contact"),
        pytest.param("expired", "expired", "rita@example.com", ["rita@example.com"], id="ok/expired-to-contact"),
        pytest.param("failed", "failed", "rita@example.com", ["rita@example.com"], id="ok/failed-to-contact"),
        pytest.param("issued", "issued", None, [], id="ok/no-contact-no-mail"),
    ],
)
def test_who_hears_of_a_change(event: str, state: str, contact: str | None, recipients: list[str]) -> None:
    request = replace(REQUEST, state=RequestState(state), contact_email=contact)
    mails = mails_for(RequestChange(request, RA, event, "olga", AT), "https://ca.example.com/")
    assert [m.to for m in mails] == recipients
    for mail in mails:
        assert "https://ca.example.com/portal/requests/7K2M-9QXR-3VTD-H8PA" in mail.text
        assert "7K2M-9QXR-3VTD-H8PA" in mail.subject


def test_a_failed_request_mail_gives_the_cas_reason() -> None:
    request = replace(REQUEST, state=RequestState.FAILED, error="lint: the subject is too long")
    (mail,) = mails_for(RequestChange(request, RA, "failed", "ra:web", AT), "https://ca.example.com")
    assert "Status:   failed" in mail.text and "Reason:   lint: the subject is too long" in mail.text


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("rita@example.com\r\nBcc: all@example.com", id="fail/crlf"),
        pytest.param("rita@example.com\nBcc: all@example.com", id="fail/lf"),
        pytest.param("rita@example.com\r", id="fail/cr"),
        pytest.param("Rita <rita@example.com>", id="fail/display-name"),
        pytest.param("not-an-address", id="fail/no-at"),
    ],
)
def test_addresses_that_could_add_headers_are_refused(address: str) -> None:
    with pytest.raises(Malformed):
        check_address(address)
    with pytest.raises(Malformed):
        build_message("ca@example.com", Mail(address, "s", "t"), AT)
    with pytest.raises(Malformed):
        build_message(address, Mail("rita@example.com", "s", "t"), AT)


def test_the_message_is_plain_text_with_its_headers() -> None:
    message = build_message("ca@example.com", Mail("rita@example.com", "[Chancery] Request X issued", "hello\n"), AT)
    assert (message["From"], message["To"], message["Subject"]) == (
        "ca@example.com",
        "rita@example.com",
        "[Chancery] Request X issued",
    )
    assert message.get_content_type() == "text/plain" and message.get_content() == "hello\n"
    assert message["Message-ID"].endswith("@example.com>") and message["Date"] == "Sat, 05 Dec 2026 10:00:00 +0000"
