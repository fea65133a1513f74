"""The notification components, built together (``wiring`` makes one of these)."""

from __future__ import annotations

from dataclasses import dataclass

from chancery.clock import Clock
from chancery.keys.base import SecretSealer
from chancery.services.notifications.dispatcher import Dispatcher
from chancery.services.notifications.mail import SmtpMailer
from chancery.services.notifications.outbox import Outbox
from chancery.services.notifications.settings import NotificationSettings
from chancery.services.notifications.webhooks import WebhookSender
from chancery.services.notifications.worker import NotificationWorker
from chancery.services.ports import DurableWriter, Transactions


@dataclass(frozen=True)
class Notifications:
    settings: NotificationSettings  # subscriptions, SMTP, the delivery log (administrators)
    outbox: Outbox  # what the RA services record changes into
    dispatcher: Dispatcher  # delivers what is due (the maintenance loop, `chancery notify send`)
    worker: NotificationWorker  # the server's delivery thread, woken by the outbox


def build_notifications(
    transactions: Transactions, writer: DurableWriter, clock: Clock, secrets: SecretSealer, base_url: str
) -> Notifications:
    mailer = SmtpMailer()
    dispatcher = Dispatcher(transactions, writer, clock, secrets, WebhookSender(), mailer)
    worker = NotificationWorker(dispatcher)
    return Notifications(
        settings=NotificationSettings(transactions, writer, clock, secrets, dispatcher, mailer),
        outbox=Outbox(base_url, wake=worker.wake),
        dispatcher=dispatcher,
        worker=worker,
    )
