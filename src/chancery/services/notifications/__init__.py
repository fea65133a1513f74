"""Notifications of RA request changes: signed webhooks and e-mail, through an outbox.

``outbox`` is the RA's :class:`~chancery.services.registration.changes.RequestNotifications`
port (deliveries are queued in the transaction of the change), ``dispatcher`` delivers what is
due with retries and records each attempt, ``webhooks`` and ``mail`` render and send, ``worker``
is the server's delivery thread, and ``settings`` is what administrators manage (``notify:manage``).
"""
