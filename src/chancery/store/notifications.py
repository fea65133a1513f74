"""Webhook subscriptions, SMTP settings and the notification outbox (deliveries and their attempts)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from chancery.domain.notifications import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    SmtpSecurity,
    SmtpSettings,
    WebhookSubscription,
)
from chancery.store.tables import notification_attempts, notification_deliveries, smtp_settings, webhook_subscriptions

_SMTP_ROW = 1


class NotificationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- webhook subscriptions -------------------------------------------------------------------

    def add_subscription(self, record: WebhookSubscription) -> None:
        self._conn.execute(
            insert(webhook_subscriptions).values(
                subscription_id=record.subscription_id,
                url=record.url,
                ra_name=record.ra,
                events=json.dumps(list(record.events)),
                secret_sealed=record.secret_sealed,
                ca_certificates_pem=record.ca_certificates_pem,
                created_at=record.created_at,
                created_by=record.created_by,
            )
        )

    def get_subscription(self, subscription_id: str) -> WebhookSubscription | None:
        query = select(webhook_subscriptions).where(webhook_subscriptions.c.subscription_id == subscription_id)
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _subscription(row)

    def list_subscriptions(self) -> tuple[WebhookSubscription, ...]:
        query = select(webhook_subscriptions).order_by(
            webhook_subscriptions.c.created_at, webhook_subscriptions.c.subscription_id
        )
        return tuple(_subscription(row) for row in self._conn.execute(query).mappings())

    def remove_subscription(self, subscription_id: str) -> bool:
        table = webhook_subscriptions
        return self._conn.execute(delete(table).where(table.c.subscription_id == subscription_id)).rowcount == 1

    # -- SMTP settings ---------------------------------------------------------------------------

    def get_smtp(self) -> SmtpSettings | None:
        row = self._conn.execute(select(smtp_settings).where(smtp_settings.c.id == _SMTP_ROW)).mappings().first()
        if row is None:
            return None
        return SmtpSettings(
            host=row["host"],
            port=row["port"],
            from_address=row["from_address"],
            security=SmtpSecurity(row["security"]),
            updated_at=row["updated_at"],
            updated_by=row["updated_by"],
            username=row["username"],
            password_sealed=row["password_sealed"],
            ca_certificates_pem=row["ca_certificates_pem"],
        )

    def put_smtp(self, settings: SmtpSettings) -> None:
        values = {
            "host": settings.host,
            "port": settings.port,
            "from_address": settings.from_address,
            "security": settings.security.value,
            "username": settings.username,
            "password_sealed": settings.password_sealed,
            "ca_certificates_pem": settings.ca_certificates_pem,
            "updated_at": settings.updated_at,
            "updated_by": settings.updated_by,
        }
        changed = self._conn.execute(update(smtp_settings).where(smtp_settings.c.id == _SMTP_ROW).values(**values))
        if changed.rowcount == 0:
            self._conn.execute(insert(smtp_settings).values(id=_SMTP_ROW, **values))

    # -- the outbox ------------------------------------------------------------------------------

    def add_deliveries(self, deliveries: Iterable[Delivery]) -> None:
        rows = [_delivery_values(d) for d in deliveries]
        if rows:
            self._conn.execute(insert(notification_deliveries), rows)

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        query = select(notification_deliveries).where(notification_deliveries.c.delivery_id == delivery_id)
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _delivery(row)

    def due(self, now: dt.datetime, limit: int) -> tuple[Delivery, ...]:
        """Pending deliveries whose time has come, the longest waiting first."""
        table = notification_deliveries
        query = (
            select(table)
            .where(table.c.state == DeliveryState.PENDING.value, table.c.next_attempt_at <= now)
            .order_by(table.c.next_attempt_at, table.c.delivery_id)
            .limit(limit)
        )
        return tuple(_delivery(row) for row in self._conn.execute(query).mappings())

    def next_due(self) -> dt.datetime | None:
        table = notification_deliveries
        query = select(func.min(table.c.next_attempt_at)).where(table.c.state == DeliveryState.PENDING.value)
        value = self._conn.execute(query).scalar()
        return None if value is None else _aware(value)

    def claim(self, delivery_id: str, now: dt.datetime, until: dt.datetime) -> bool:
        """Take a due delivery for one attempt, hiding it from other dispatchers until ``until``
        (a dispatcher that dies mid-attempt leaves it to be tried again then). False: someone else has it."""
        table = notification_deliveries
        claimed = self._conn.execute(
            update(table)
            .where(
                table.c.delivery_id == delivery_id,
                table.c.state == DeliveryState.PENDING.value,
                table.c.next_attempt_at <= now,
            )
            .values(next_attempt_at=until)
        )
        return claimed.rowcount == 1

    def record_attempt(self, attempt: DeliveryAttempt, state: DeliveryState, next_attempt_at: dt.datetime) -> None:
        self._conn.execute(
            insert(notification_attempts).values(
                delivery_id=attempt.delivery_id,
                number=attempt.number,
                at=attempt.at,
                ok=attempt.ok,
                status=attempt.status,
                error=attempt.error,
            )
        )
        table = notification_deliveries
        self._conn.execute(
            update(table)
            .where(table.c.delivery_id == attempt.delivery_id)
            .values(
                state=state.value,
                attempts=attempt.number,
                next_attempt_at=next_attempt_at,
                last_attempt_at=attempt.at,
                last_status=attempt.status,
                last_error=attempt.error,
            )
        )

    def give_up(self, subscription_id: str, at: dt.datetime, error: str) -> int:
        """Mark a removed subscription's pending deliveries failed; how many there were."""
        table = notification_deliveries
        done = self._conn.execute(
            update(table)
            .where(table.c.subscription_id == subscription_id, table.c.state == DeliveryState.PENDING.value)
            .values(state=DeliveryState.FAILED.value, last_error=error, next_attempt_at=at)
        )
        return done.rowcount

    def deliveries(self, state: DeliveryState | None = None, limit: int = 50) -> tuple[Delivery, ...]:
        """The delivery log, newest first."""
        table = notification_deliveries
        query = select(table).order_by(table.c.created_at.desc(), table.c.delivery_id).limit(limit)
        if state is not None:
            query = query.where(table.c.state == state.value)
        return tuple(_delivery(row) for row in self._conn.execute(query).mappings())

    def attempts(self, delivery_ids: tuple[str, ...]) -> tuple[DeliveryAttempt, ...]:
        if not delivery_ids:
            return ()
        table = notification_attempts
        query = select(table).where(table.c.delivery_id.in_(delivery_ids)).order_by(table.c.delivery_id, table.c.number)
        return tuple(
            DeliveryAttempt(
                delivery_id=row["delivery_id"],
                number=row["number"],
                at=row["at"],
                ok=row["ok"],
                status=row["status"],
                error=row["error"],
            )
            for row in self._conn.execute(query).mappings()
        )


def _subscription(row: Any) -> WebhookSubscription:
    return WebhookSubscription(
        subscription_id=row["subscription_id"],
        url=row["url"],
        ra=row["ra_name"],
        events=tuple(json.loads(row["events"])),
        secret_sealed=row["secret_sealed"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        ca_certificates_pem=row["ca_certificates_pem"],
    )


def _delivery_values(delivery: Delivery) -> dict[str, Any]:
    return {
        "delivery_id": delivery.delivery_id,
        "event_id": delivery.event_id,
        "channel": delivery.channel.value,
        "target": delivery.target,
        "event": delivery.event,
        "request_id": delivery.request_id,
        "subscription_id": delivery.subscription_id,
        "payload": delivery.payload,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at,
        "last_attempt_at": delivery.last_attempt_at,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
    }


def _delivery(row: Any) -> Delivery:
    return Delivery(
        delivery_id=row["delivery_id"],
        event_id=row["event_id"],
        channel=Channel(row["channel"]),
        target=row["target"],
        event=row["event"],
        request_id=row["request_id"],
        payload=row["payload"],
        state=DeliveryState(row["state"]),
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        subscription_id=row["subscription_id"],
        attempts=row["attempts"],
        last_attempt_at=row["last_attempt_at"],
        last_status=row["last_status"],
        last_error=row["last_error"],
    )


def _aware(value: Any) -> dt.datetime:
    """``min()`` bypasses the column type on some drivers: SQLite hands back text, PostgreSQL naive UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
