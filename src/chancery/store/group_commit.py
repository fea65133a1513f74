"""Group commit: many callers' small write transactions share one commit (one fsync).

Each caller hands a unit of work to :meth:`GroupCommitWriter.run` and blocks
until it is durable. A single writer thread takes whatever is queued (up to
``max_batch`` items), runs them in one transaction and commits once, so the
fsync cost is shared by every item in the batch. The caller gets its own
result or its own exception: if any item of a batch fails, the batch is
rolled back and every item is run again in a transaction of its own, so one
bad item never takes the others with it (the items must be plain database work,
safe to run twice after a rollback).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from chancery.errors import InternalError
from chancery.store.database import Database
from chancery.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[UnitOfWork], Any]
_STOP = object()


class GroupCommitWriter:
    """Runs write work in batched transactions on one background thread."""

    def __init__(self, database: Database, *, max_batch: int = 256) -> None:
        self._db = database
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self.batches = 0
        self.items = 0

    def run(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in a transaction and return its result once committed."""
        return self.submit(work).result()

    def submit(self, work: Callable[[UnitOfWork], T]) -> Future[T]:
        """Queue ``work``; the future completes after the commit that includes it."""
        if self._closed:
            raise InternalError("the database writer is closed")
        self._ensure_started()
        future: Future[T] = Future()
        self._queue.put((work, future))
        return future

    def close(self) -> None:
        """Finish queued work and stop the thread."""
        with self._start_lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="chancery-group-commit", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._run_batch(batch)
            if stop:
                return

    def _run_batch(self, batch: list[tuple[Work, Future[Any]]]) -> None:
        self.batches += 1
        self.items += len(batch)
        if len(batch) > 1:
            try:
                results = self._transaction([work for work, _ in batch])
            except Exception:  # noqa: BLE001 - any failure: retry the items one by one
                log.debug("batch of %d failed; retrying items singly", len(batch), exc_info=True)
            else:
                for (_, future), result in zip(batch, results, strict=True):
                    future.set_result(result)
                return
        for work, future in batch:
            try:
                (result,) = self._transaction([work])
            except Exception as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(_public(exc))
            else:
                future.set_result(result)

    def _transaction(self, works: list[Work]) -> list[Any]:
        with self._db.connect_for_writing() as conn:
            with conn.begin():
                uow = UnitOfWork(conn)
                return [work(uow) for work in works]


def _public(exc: BaseException) -> BaseException:
    if isinstance(exc, SQLAlchemyError):
        log.error("database write failed: %s", exc)
        return InternalError("the database is unavailable")
    return exc
