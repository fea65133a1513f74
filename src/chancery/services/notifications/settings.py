"""Administering notifications: webhook subscriptions, the SMTP server, and the delivery log.

Everything here needs ``notify:manage`` (administrators) and every change is audited. A webhook's
secret is made here, shown once, and kept only sealed by the key store (as is the SMTP password):
neither appears in a listing, an audit entry or a log.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent, Outcome
from chancery.domain.notifications import (
    EVENTS,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    SmtpSecurity,
    SmtpSettings,
    WebhookSubscription,
)
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.errors import ConfigurationError, Malformed, NotFound
from chancery.keys.base import SecretSealer
from chancery.services.authorization import require
from chancery.services.notifications.dispatcher import SMTP_PASSWORD_LABEL, Dispatcher, webhook_secret_label
from chancery.services.notifications.mail import Mail, SmtpMailer, build_message, check_address
from chancery.services.notifications.outbox import new_id
from chancery.services.notifications.transport import tls_context
from chancery.services.notifications.webhooks import new_secret, url_problem
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

MAX_HOST = 255
MAX_LOG = 1000


@dataclass(frozen=True)
class NewWebhook:
    url: str
    ra: str | None = None  # None: every RA
    events: tuple[str, ...] = ()  # empty: every event
    ca_certificates_pem: str | None = None  # https: trust these CAs instead of the system's


@dataclass(frozen=True)
class CreatedWebhook:
    subscription: WebhookSubscription
    secret: str = field(repr=False)  # shown once


@dataclass(frozen=True)
class SmtpConfiguration:
    host: str
    port: int
    from_address: str
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certificates_pem: str | None = None


@dataclass(frozen=True)
class LoggedDelivery:
    delivery: Delivery
    attempts: tuple[DeliveryAttempt, ...]


class NotificationSettings:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        secrets: SecretSealer,
        dispatcher: Dispatcher,
        mailer: SmtpMailer,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._secrets = secrets
        self._dispatcher = dispatcher
        self._mailer = mailer

    # -- webhooks ----------------------------------------------------------------------------------

    def add_webhook(self, principal: Principal, new: NewWebhook) -> CreatedWebhook:
        """Subscribe ``new.url``; the returned secret is shown once and never again."""
        require(principal, Permission.NOTIFY_MANAGE)
        url = new.url.strip()
        problem = url_problem(url)
        if problem is not None:
            raise Malformed(problem)
        events = _events(new.events)
        pem = _pem(new.ca_certificates_pem)
        if pem is not None and not url.lower().startswith("https://"):
            raise Malformed("CA certificates are for https:// URLs")
        subscription_id, secret = new_id()[:16], new_secret()
        now = self._clock.now()
        record = WebhookSubscription(
            subscription_id=subscription_id,
            url=url,
            ra=new.ra,
            events=events,
            secret_sealed=self._secrets.seal_secret(webhook_secret_label(subscription_id), secret.encode("ascii")),
            created_at=now,
            created_by=principal.name,
            ca_certificates_pem=pem,
        )

        def add(uow: UnitOfWork) -> None:
            if new.ra is not None and uow.registration.get_ra(new.ra) is None:
                raise NotFound(f"no RA named {new.ra!r}")
            uow.notifications.add_subscription(record)
            details = {"url": url, "ra": new.ra or "*", "events": list(events), "own_cas": pem is not None}
            uow.audit.append(
                [AuditEvent("webhook.added", principal.name, target=subscription_id, details=details)], now
            )

        self._writer.run(add)
        return CreatedWebhook(record, secret)

    def webhooks(self, principal: Principal) -> tuple[WebhookSubscription, ...]:
        require(principal, Permission.NOTIFY_MANAGE)
        with self._tx.read() as uow:
            return uow.notifications.list_subscriptions()

    def remove_webhook(self, principal: Principal, subscription_id: str) -> WebhookSubscription:
        """Unsubscribe; its deliveries still waiting are marked failed (the log keeps them)."""
        require(principal, Permission.NOTIFY_MANAGE)
        now = self._clock.now()

        def remove(uow: UnitOfWork) -> WebhookSubscription:
            record = uow.notifications.get_subscription(subscription_id.strip())
            if record is None:
                raise NotFound(f"no webhook subscription {subscription_id[:40]!r}")
            uow.notifications.remove_subscription(record.subscription_id)
            dropped = uow.notifications.give_up(record.subscription_id, now, "the webhook subscription was removed")
            details = {"url": record.url, "ra": record.ra or "*", "undelivered": dropped}
            event = AuditEvent("webhook.removed", principal.name, target=record.subscription_id, details=details)
            uow.audit.append([event], now)
            return record

        return self._writer.run(remove)

    # -- SMTP ----------------------------------------------------------------------------------------

    def configure_smtp(self, principal: Principal, configuration: SmtpConfiguration) -> SmtpSettings:
        """Store the SMTP server (replacing any earlier one); the password is sealed."""
        require(principal, Permission.NOTIFY_MANAGE)
        settings = self._smtp_settings(principal, configuration)

        def put(uow: UnitOfWork) -> None:
            uow.notifications.put_smtp(settings)
            details = {
                "host": settings.host,
                "port": settings.port,
                "from": settings.from_address,
                "security": settings.security.value,
                "username": settings.username or "",
                "password": "set" if settings.password_sealed else "none",
                "own_cas": settings.ca_certificates_pem is not None,
            }
            uow.audit.append([AuditEvent("smtp.configured", principal.name, details=details)], settings.updated_at)

        self._writer.run(put)
        return settings

    def smtp(self, principal: Principal) -> SmtpSettings | None:
        require(principal, Permission.NOTIFY_MANAGE)
        with self._tx.read() as uow:
            return uow.notifications.get_smtp()

    def test_smtp(self, principal: Principal, to: str) -> None:
        """Send a test message to ``to`` now; :class:`ConfigurationError` says why it did not go."""
        require(principal, Permission.NOTIFY_MANAGE)
        address = check_address(to.strip())
        settings = self.smtp(principal)
        if settings is None:
            raise ConfigurationError("no SMTP server configured; run `chancery notify smtp configure`")
        now = self._clock.now()
        text = "This is a test message from Chancery: its notifications reach you.\n"
        message = build_message(settings.from_address, Mail(address, "[Chancery] Test message", text), now)
        outcome = self._mailer.send(self._dispatcher.smtp_server(settings), message)
        details = {"to": address, "host": settings.host, "error": outcome.error}
        result = Outcome.SUCCESS if outcome.ok else Outcome.FAILURE
        self._writer.run(
            lambda uow: uow.audit.append([AuditEvent("smtp.tested", principal.name, result, details=details)], now)
        )
        if not outcome.ok:
            raise ConfigurationError(f"the test message was not sent: {outcome.error}")

    # -- the delivery log ----------------------------------------------------------------------------

    def deliveries(
        self, principal: Principal, failed_only: bool = False, limit: int = 50
    ) -> tuple[LoggedDelivery, ...]:
        """The newest deliveries (only failed ones with ``failed_only``), each with its attempts."""
        require(principal, Permission.NOTIFY_MANAGE)
        state = DeliveryState.FAILED if failed_only else None
        with self._tx.read() as uow:
            found = uow.notifications.deliveries(state, max(1, min(limit, MAX_LOG)))
            attempts = uow.notifications.attempts(tuple(d.delivery_id for d in found))
        by_delivery: dict[str, list[DeliveryAttempt]] = {}
        for attempt in attempts:
            by_delivery.setdefault(attempt.delivery_id, []).append(attempt)
        return tuple(LoggedDelivery(d, tuple(by_delivery.get(d.delivery_id, ()))) for d in found)

    def _smtp_settings(self, principal: Principal, configuration: SmtpConfiguration) -> SmtpSettings:
        host = configuration.host.strip()
        if not host or len(host) > MAX_HOST or any(c.isspace() or c in "/@" for c in host):
            raise Malformed("the SMTP host is a host name or an IP address")
        if not 1 <= configuration.port <= 65535:
            raise Malformed("the SMTP port is between 1 and 65535")
        username = (configuration.username or "").strip() or None
        if (username is None) != (not configuration.password):
            raise Malformed("give both a user name and a password, or neither")
        if username is not None and configuration.security is SmtpSecurity.NONE:
            raise Malformed("a password is sent only over TLS: use --security starttls or tls")
        if username is not None and ("\r" in username or "\n" in username or len(username) > MAX_HOST):
            raise Malformed("the SMTP user name may not contain a line break")
        sealed = None
        if configuration.password:
            sealed = self._secrets.seal_secret(SMTP_PASSWORD_LABEL, configuration.password.encode("utf-8"))
        return SmtpSettings(
            host=host,
            port=configuration.port,
            from_address=check_address(configuration.from_address.strip()),
            security=configuration.security,
            updated_at=self._clock.now(),
            updated_by=principal.name,
            username=username,
            password_sealed=sealed,
            ca_certificates_pem=_pem(configuration.ca_certificates_pem),
        )


def _events(events: tuple[str, ...]) -> tuple[str, ...]:
    if not events:
        return EVENTS
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise Malformed(f"unknown event {unknown[0][:40]!r}; events are: {', '.join(EVENTS)}")
    return tuple(e for e in EVENTS if e in events)


def _pem(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise Malformed("the CA certificates must be PEM")
    try:
        tls_context(text)
    except (ssl.SSLError, ValueError):
        raise Malformed("the CA certificates cannot be read (PEM X.509 certificates are expected)") from None
    return text
