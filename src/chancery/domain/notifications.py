"""Notifications of RA request changes, as the store returns them: webhook subscriptions, SMTP
settings, and the outbox of deliveries with each attempt (the delivery log)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

# What a request change is called on the wire (services.registration.changes.RequestChange.event).
EVENTS = (
    "submitted",
    "approval",
    "approved",
    "issued",
    "revoked",
    "denied",
    "cancelled",
    "expired",
    "failed",
)


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at ``next_attempt_at`` (again, after a failed attempt)
    DELIVERED = "delivered"
    FAILED = "failed"  # the last retry failed too; nothing more is tried


class SmtpSecurity(StrEnum):
    NONE = "none"  # plain SMTP: only for a relay on the same host or network
    STARTTLS = "starttls"  # RFC 3207, usually port 587
    TLS = "tls"  # implicit TLS ("SMTPS", RFC 8314 §3.3), usually port 465


@dataclass(frozen=True)
class WebhookSubscription:
    """Where request changes are POSTed: for one RA (``ra``) or every RA (``None``)."""

    subscription_id: str
    url: str
    ra: str | None
    events: tuple[str, ...]
    secret_sealed: str = field(repr=False)
    created_at: dt.datetime
    created_by: str
    ca_certificates_pem: str | None = None  # https: trust these instead of the system's CAs

    def wants(self, ra: str, event: str) -> bool:
        return (self.ra is None or self.ra == ra) and event in self.events


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    from_address: str
    security: SmtpSecurity
    updated_at: dt.datetime
    updated_by: str
    username: str | None = None
    password_sealed: str | None = field(default=None, repr=False)
    ca_certificates_pem: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One message to one receiver: a webhook POST or an e-mail, with its retry state.

    ``payload`` is what was rendered when the change was recorded (the JSON body of a webhook,
    or the e-mail's subject and text as JSON), so every attempt sends the same thing.
    """

    delivery_id: str
    event_id: str  # the change: shared by every delivery it caused
    channel: Channel
    target: str  # the URL, or the e-mail address
    event: str
    request_id: str
    payload: str = field(repr=False)
    state: DeliveryState
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    subscription_id: str | None = None
    attempts: int = 0
    last_attempt_at: dt.datetime | None = None
    last_status: int | None = None
    last_error: str = ""


@dataclass(frozen=True)
class DeliveryAttempt:
    """One try: the HTTP status code (webhooks) or SMTP reply code, or why there was none."""

    delivery_id: str
    number: int
    at: dt.datetime
    ok: bool
    status: int | None = None
    error: str = ""
