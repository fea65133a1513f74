"""The outbox: the RA's :class:`RequestNotifications` port, queueing deliveries in the caller's transaction.

A change and the deliveries it causes commit together or not at all, so a request never changes
state unannounced and nothing is announced that did not happen. Each delivery is rendered now
(the webhook body, the mail's text) and sent later by the dispatcher, which retries until it
succeeds or gives up; ``wake`` only nudges the delivery thread and never blocks the request.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

from chancery.domain.notifications import Channel, Delivery, DeliveryState
from chancery.services.notifications.mail import mails_for
from chancery.services.notifications.webhooks import request_body
from chancery.services.ports import UnitOfWork
from chancery.services.registration.changes import RequestChange


def new_id() -> str:
    """128 random bits, hex: an event or delivery ID."""
    return secrets.token_hex(16)


class Outbox:
    """Satisfies :class:`~chancery.services.registration.changes.RequestNotifications`."""

    def __init__(self, base_url: str, wake: Callable[[], None] = lambda: None) -> None:
        self._base_url = base_url
        self._wake = wake

    def record(self, uow: UnitOfWork, change: RequestChange) -> None:
        """Queue one webhook per subscription that wants ``change`` and, once SMTP is configured,
        one mail per recipient; all in ``uow``'s transaction."""
        event_id = new_id()
        deliveries: list[Delivery] = []
        body: str | None = None
        for subscription in uow.notifications.list_subscriptions():
            if not subscription.wants(change.ra.name, change.event):
                continue
            body = body or request_body(event_id, change)
            deliveries.append(
                _delivery(event_id, change, Channel.WEBHOOK, subscription.url, body, subscription.subscription_id)
            )
        mails = mails_for(change, self._base_url)
        if mails and uow.notifications.get_smtp() is not None:
            for mail in mails:
                payload = _mail_payload(mail.subject, mail.text)
                deliveries.append(_delivery(event_id, change, Channel.EMAIL, mail.to, payload))
        uow.notifications.add_deliveries(deliveries)

    def wake(self) -> None:
        self._wake()


def _delivery(
    event_id: str, change: RequestChange, channel: Channel, target: str, payload: str, subscription: str | None = None
) -> Delivery:
    return Delivery(
        delivery_id=new_id(),
        event_id=event_id,
        channel=channel,
        target=target,
        event=change.event,
        request_id=change.request.request_id,
        payload=payload,
        state=DeliveryState.PENDING,
        created_at=change.at,
        next_attempt_at=change.at,
        subscription_id=subscription,
    )


def _mail_payload(subject: str, text: str) -> str:
    return json.dumps({"subject": subject, "text": text})
