"""Delivering what the outbox queued: one attempt per due delivery, retried with backoff, every
attempt written to the delivery log.

A delivery is first *claimed* (its next attempt moved :data:`CLAIM_SECONDS` ahead, only if it is
still pending and due), so any number of dispatchers (threads, nodes) can run: each delivery is
attempted by one of them at a time. A dispatcher that dies mid-attempt leaves the claim to expire
and the delivery is tried again: delivery is at least once, and receivers recognise a repeat by
its ``Chancery-Delivery`` ID. After a failed attempt the next waits :data:`BACKOFF` (30 s, 2 min,
10 min, 1 h, 6 h); when the last of those fails too, the delivery is ``failed``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from chancery.clock import Clock
from chancery.domain.notifications import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    SmtpSettings,
    WebhookSubscription,
)
from chancery.errors import CAError
from chancery.keys.base import SecretSealer
from chancery.services.notifications.mail import Mail, SmtpMailer, SmtpServer, build_message
from chancery.services.notifications.transport import Outcome
from chancery.services.notifications.webhooks import WebhookPost, WebhookSender, headers_for
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

log = logging.getLogger(__name__)

BACKOFF = (
    dt.timedelta(seconds=30),
    dt.timedelta(minutes=2),
    dt.timedelta(minutes=10),
    dt.timedelta(hours=1),
    dt.timedelta(hours=6),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
CLAIM_SECONDS = 300
SMTP_PASSWORD_LABEL = "smtp-password"  # noqa: S105 - the sealing label, not a password


def webhook_secret_label(subscription_id: str) -> str:
    """What a webhook secret is sealed under: it opens for its own subscription only."""
    return f"webhook:{subscription_id}"


@dataclass(frozen=True)
class DispatchReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


class Dispatcher:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        secrets: SecretSealer,
        sender: WebhookSender,
        mailer: SmtpMailer,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._secrets = secrets
        self._sender = sender
        self._mailer = mailer

    def deliver_due(self, limit: int = 200) -> DispatchReport:
        """Attempt each delivery that is due (at most ``limit``), one after the other."""
        with self._tx.read() as uow:
            due = uow.notifications.due(self._clock.now(), limit)
        counts = {state: 0 for state in DeliveryState}
        for delivery in due:
            state = self._attempt(delivery.delivery_id)
            if state is not None:
                counts[state] += 1
        return DispatchReport(
            delivered=counts[DeliveryState.DELIVERED],
            retrying=counts[DeliveryState.PENDING],
            failed=counts[DeliveryState.FAILED],
        )

    def next_due(self) -> dt.datetime | None:
        with self._tx.read() as uow:
            return uow.notifications.next_due()

    def _attempt(self, delivery_id: str) -> DeliveryState | None:
        """One attempt at a delivery this dispatcher manages to claim; its new state (``None``: not claimed)."""
        now = self._clock.now()

        def claim(uow: UnitOfWork) -> tuple[Delivery, WebhookSubscription | SmtpSettings | None] | None:
            if not uow.notifications.claim(delivery_id, now, now + dt.timedelta(seconds=CLAIM_SECONDS)):
                return None
            delivery = uow.notifications.get_delivery(delivery_id)
            assert delivery is not None
            if delivery.channel is Channel.WEBHOOK:
                return delivery, uow.notifications.get_subscription(delivery.subscription_id or "")
            return delivery, uow.notifications.get_smtp()

        claimed = self._writer.run(claim)
        if claimed is None:
            return None
        delivery, target = claimed
        try:
            outcome = self._send(delivery, target, now)
        except CAError as problem:  # the key store is locked, a stored address is refused...
            outcome = Outcome(False, None, problem.detail[:300])
        except Exception:  # noqa: BLE001 - one broken delivery must not stop the others
            log.exception("notification delivery %s failed unexpectedly", delivery_id)
            outcome = Outcome(False, None, "internal error (see the server log)")
        return self._record(delivery, outcome, now)

    def _send(self, delivery: Delivery, target: WebhookSubscription | SmtpSettings | None, now: dt.datetime) -> Outcome:
        if isinstance(target, WebhookSubscription):
            secret = self._secrets.open_secret(webhook_secret_label(target.subscription_id), target.secret_sealed)
            body = delivery.payload.encode("utf-8")
            headers = headers_for(
                secret.decode("ascii"), delivery.event, delivery.delivery_id, int(now.timestamp()), body
            )
            return self._sender.post(WebhookPost(target.url, body, headers, target.ca_certificates_pem))
        if isinstance(target, SmtpSettings):
            content = json.loads(delivery.payload)
            mail = Mail(delivery.target, str(content["subject"]), str(content["text"]))
            return self._mailer.send(self.smtp_server(target), build_message(target.from_address, mail, now))
        if delivery.channel is Channel.WEBHOOK:
            return Outcome(False, None, "the webhook subscription was removed", retry=False)
        return Outcome(False, None, "SMTP is not configured (chancery notify smtp configure)")

    def smtp_server(self, settings: SmtpSettings) -> SmtpServer:
        """The SMTP connection settings with the password opened (it stays in memory for one connection)."""
        password = None
        if settings.password_sealed:
            password = self._secrets.open_secret(SMTP_PASSWORD_LABEL, settings.password_sealed).decode("utf-8")
        return SmtpServer(
            settings.host,
            settings.port,
            settings.security,
            settings.username,
            password,
            settings.ca_certificates_pem,
        )

    def _record(self, delivery: Delivery, outcome: Outcome, at: dt.datetime) -> DeliveryState:
        number = delivery.attempts + 1
        if outcome.ok:
            state, next_at = DeliveryState.DELIVERED, at
        elif outcome.retry and number < MAX_ATTEMPTS:
            state, next_at = DeliveryState.PENDING, self._clock.now() + BACKOFF[number - 1]
        else:
            state, next_at = DeliveryState.FAILED, at
        attempt = DeliveryAttempt(delivery.delivery_id, number, at, outcome.ok, outcome.status, outcome.error)
        self._writer.run(lambda uow: uow.notifications.record_attempt(attempt, state, next_at))
        if state is DeliveryState.FAILED:
            log.warning(
                "notification %s (%s to %s) failed after %d attempt(s): %s",
                delivery.delivery_id,
                delivery.event,
                delivery.target,
                number,
                outcome.error,
            )
        return state
