"""E-mail about RA requests: who is told what, the plain-text message, and sending it over SMTP.

The requester's contact address hears of the outcome (``issued``, ``revoked``, ``denied``,
``cancelled``, ``expired``, ``failed``); the RA's notification list hears of each new request
that waits for approval. Messages are built with :class:`email.message.EmailMessage`, and an
address holding a line break is refused (it would let its author add mail headers).

Sending speaks SMTP (RFC 5321) with smtplib: ``starttls`` upgrades the connection (RFC 3207),
``tls`` connects with implicit TLS (RFC 8314 §3.3), ``none`` sends in the clear (a local relay
only; no password is ever sent without TLS). The server's certificate is verified against the
system's trust store or the CAs configured for it.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from chancery.domain.notifications import SmtpSecurity
from chancery.domain.registration import RequestState
from chancery.errors import Malformed
from chancery.services.notifications.transport import Outcome, tls_context
from chancery.services.registration.authorities import check_email
from chancery.services.registration.changes import RequestChange

TIMEOUT_SECONDS = 10.0
_OUTCOMES = frozenset(state.value for state in RequestState if state.final)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send, with the password opened for this one connection."""

    host: str
    port: int
    security: SmtpSecurity
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certificates_pem: str | None = field(default=None, repr=False)


def check_address(address: str) -> str:
    """An address fit for a mail header; :class:`Malformed` otherwise (a CR or LF above all)."""
    if "\r" in address or "\n" in address:
        raise Malformed("an e-mail address may not contain a line break")
    return check_email(address)


def mails_for(change: RequestChange, base_url: str) -> tuple[Mail, ...]:
    """The mails ``change`` causes: the outcome to the contact address, a new pending request to
    the RA's notification list."""
    request = change.request
    link = f"{base_url.rstrip('/')}/portal/requests/{request.request_id}"
    if change.event in _OUTCOMES and request.contact_email:
        subject = f"[Chancery] Request {request.request_id} {request.state.value}"
        return (Mail(request.contact_email, subject, _outcome_text(change, link)),)
    if change.event == "submitted" and request.state is RequestState.PENDING:
        subject = f"[Chancery] New request {request.request_id} waits for approval at RA {request.ra}"
        text = _pending_text(change, link)
        return tuple(Mail(address, subject, text) for address in change.ra.notify_emails)
    return ()


def build_message(from_address: str, mail: Mail, when: dt.datetime) -> EmailMessage:
    """A plain-text message; raises :class:`Malformed` for an address with a line break."""
    message = EmailMessage()
    message["From"] = check_address(from_address)
    message["To"] = check_address(mail.to)
    message["Subject"] = mail.subject.replace("\r", " ").replace("\n", " ")
    message["Date"] = format_datetime(when)
    message["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5: no vacation replies, please
    message.set_content(mail.text)
    return message


class SmtpMailer:
    """Sends one message per connection (notifications are few; a dead connection is never reused)."""

    def send(self, server: SmtpServer, message: EmailMessage) -> Outcome:
        context = tls_context(server.ca_certificates_pem)
        try:
            if server.security is SmtpSecurity.TLS:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    server.host, server.port, timeout=TIMEOUT_SECONDS, context=context
                )
            else:
                client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
            with client:
                if server.security is SmtpSecurity.STARTTLS:
                    client.starttls(context=context)
                if server.username:
                    client.login(server.username, server.password or "")
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as refused:
            code, reply = next(iter(refused.recipients.values()), (None, b""))
            return Outcome(False, code, f"recipient refused: {_text(reply)}")
        except smtplib.SMTPResponseException as failure:
            return Outcome(False, failure.smtp_code, f"SMTP {failure.smtp_code}: {_text(failure.smtp_error)}")
        except (smtplib.SMTPException, OSError) as failure:
            return Outcome(False, None, f"{type(failure).__name__}: {failure}"[:300])
        return Outcome(True, 250)


def _outcome_text(change: RequestChange, link: str) -> str:
    request = change.request
    reason = request.error if request.state is RequestState.FAILED else request.reason
    lines = [
        f"Your certificate request {request.request_id} is now {request.state.value}.",
        "",
        *_facts(change),
    ]
    if reason and change.event != "issued":
        lines.append(f"Reason:   {reason}")
    if request.serial:
        lines.append(f"Serial:   {request.serial}")
    lines += ["", f"Where to look: {link}", "", "-- ", "Chancery certificate authority (an automatic message)"]
    return "\n".join(lines) + "\n"


def _pending_text(change: RequestChange, link: str) -> str:
    request = change.request
    lines = [
        f"A new request waits for {request.approvals_required} approval(s) at RA {request.ra}.",
        "",
        *_facts(change),
        f"From:     {request.requester}",
    ]
    if request.subject:
        lines.append(f"Subject:  {request.subject}")
    if request.sans:
        lines.append(f"Names:    {', '.join(request.sans)}")
    if request.reason:
        lines.append(f"Note:     {request.reason}")
    lines += ["", f"Where to look: {link}", "", "-- ", "Chancery certificate authority (an automatic message)"]
    return "\n".join(lines) + "\n"


def _facts(change: RequestChange) -> list[str]:
    request = change.request
    return [
        f"Request:  {request.request_id}",
        f"RA:       {request.ra} (CA {request.ca})",
        f"Profile:  {request.profile}",
        f"Kind:     {request.kind.value}",
        f"Status:   {request.state.value}",
    ]


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())[:300]
