"""Keeping revocation information fresh: CRLs, delegated responders, pre-signed OCSP responses.

:meth:`RevocationMaintenance.run_once` does one pass; the server runs it every
``interval`` seconds on a background thread (:class:`MaintenanceLoop`). Work that
must happen once per cluster takes the cluster lock inside each task, so every
node may run the loop.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chancery.clock import Clock
from chancery.errors import CAError
from chancery.services.ports import ClusterLock, Transactions
from chancery.services.revocation.crls import CrlPublisher
from chancery.services.revocation.ocsp import OcspService
from chancery.services.revocation.responders import ResponderDirectory

log = logging.getLogger(__name__)
# Certificates issued this recently get OCSP responses signed before anyone asks.
PRESIGN_LOOKBACK = dt.timedelta(hours=1)


@dataclass(frozen=True)
class MaintenanceReport:
    cas: int
    ocsp_presigned: int
    ocsp_resigned: int
    failures: tuple[str, ...]


class RevocationMaintenance:
    def __init__(
        self,
        transactions: Transactions,
        crls: CrlPublisher,
        responders: ResponderDirectory,
        ocsp: OcspService,
        lock: ClusterLock,
        clock: Clock,
    ) -> None:
        self._tx = transactions
        self._crls = crls
        self._responders = responders
        self._ocsp = ocsp
        self._lock = lock
        self._clock = clock

    def run_once(self) -> MaintenanceReport:
        with self._tx.read() as uow:
            names = [record.name for record in uow.authorities.list() if record.publishes_revocation]
        failures = []
        for name in names:
            try:
                self._crls.refresh(name)
                self._responders.rotate_due(name)
            except CAError as exc:  # one CA's trouble does not stop the others
                failures.append(f"{name}: {exc.detail}")
                log.warning("revocation maintenance of CA %s failed: %s", name, exc.detail)
        presigned = resigned = 0
        with self._lock.hold("ocsp-presign") as mine:
            if mine:
                presigned = self._ocsp.presign_new(self._clock.now() - PRESIGN_LOOKBACK)
                resigned = self._ocsp.refresh_stale()
        return MaintenanceReport(
            cas=len(names), ocsp_presigned=presigned, ocsp_resigned=resigned, failures=tuple(failures)
        )


class MaintenanceLoop:
    """Runs each of ``tasks`` every ``interval`` seconds until stopped (revocation upkeep,
    audit checkpoints); one task's failure is logged and does not stop the others."""

    def __init__(self, tasks: Sequence[tuple[str, Callable[[], object]]], interval: float) -> None:
        self._tasks = tuple(tasks)
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chancery-revocation-maintenance", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, task in self._tasks:
                try:
                    task()
                except Exception:  # noqa: BLE001 - the loop must outlive any single failure
                    log.exception("%s failed", name)
            self._stop.wait(self._interval)
