"""The server's delivery thread: woken after every commit that queued a notification.

``wake`` only sets an event, so a request never waits for a webhook receiver or a mail server.
Retries that come due later are picked up by the maintenance loop (``create_web_app`` runs
:meth:`Dispatcher.deliver_due` with its other periodic tasks), which also delivers what CLI
commands and other nodes queued.
"""

from __future__ import annotations

import logging
import threading

from chancery.services.notifications.dispatcher import Dispatcher

log = logging.getLogger(__name__)


class NotificationWorker:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Ask for a delivery run soon (returns at once; a no-op until :meth:`start`)."""
        self._wanted.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="chancery-notifications", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            if self._stop.is_set():
                return
            self._wanted.clear()  # a wake during the run below asks for another run
            try:
                self._dispatcher.deliver_due()
            except Exception:  # noqa: BLE001 - the thread must outlive a database hiccup
                log.exception("notification delivery failed")
