"""Group commit: many callers' small write transactions share one commit (one fsync).

Each caller hands a unit of work to :meth:`GroupCommitWriter.run` (blocking),
:meth:`~GroupCommitWriter.submit` (a concurrent future) or
:meth:`~GroupCommitWriter.submit_async` (an asyncio future) and learns its
outcome only after the commit that includes it. A single writer thread takes
whatever is queued (up to ``max_batch`` items), runs it in one transaction on
its own connection and commits once, so the fsync is shared by the batch.

Work items of one kind can run as one statement: an item with a ``merge_key``
attribute is grouped with the other items of the batch that have the same key
and run through its ``run_merged(uow, items)`` (an executemany). Items of a
batch come from different callers, so their order does not matter.

Each caller gets its own result or its own exception: if anything in a batch
fails, the batch is rolled back and every item is run again in a transaction of
its own, so one bad item never takes the others with it (items must be plain
database work, safe to run again after a rollback).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from chancery.errors import InternalError
from chancery.store.database import Database
from chancery.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[UnitOfWork], Any]
_STOP = object()
_GATHER_STEP = 0.001


@dataclass
class _Item:
    work: Work
    future: Future[Any] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    awaitable: asyncio.Future[Any] | None = None
    outcome: tuple[bool, Any] = field(default=(False, None))

    def settle(self, ok: bool, value: Any) -> None:
        self.outcome = (ok, value)
        if self.future is not None:
            if ok:
                self.future.set_result(value)
            else:
                self.future.set_exception(value)


class GroupCommitWriter:
    """Runs write work in batched transactions on one background thread."""

    def __init__(self, database: Database, *, max_batch: int = 256, gather_seconds: float = 0.005) -> None:
        self._db = database
        self._max_batch = max_batch
        self._gather_seconds = gather_seconds
        self._last_batch_size = 1
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self._conn: Connection | None = None
        self.batches = 0
        self.items = 0

    def run(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in a transaction and return its result once committed."""
        return self.submit(work).result()

    def submit(self, work: Callable[[UnitOfWork], T]) -> Future[T]:
        """Queue ``work``; the future completes after the commit that includes it."""
        future: Future[T] = Future()
        self._put(_Item(work, future=future))
        return future

    def submit_async(self, work: Callable[[UnitOfWork], T]) -> asyncio.Future[T]:
        """Queue ``work`` from the event loop; await the result (resolved once per batch, not per item)."""
        loop = asyncio.get_running_loop()
        awaitable: asyncio.Future[T] = loop.create_future()
        self._put(_Item(work, loop=loop, awaitable=awaitable))
        return awaitable

    def flush(self) -> None:
        """Return once everything queued before this call is committed (batches run in order)."""
        self.run(_nothing)

    def close(self) -> None:
        """Finish queued work and stop the thread."""
        with self._start_lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    def _put(self, item: _Item) -> None:
        if self._closed:
            raise InternalError("the database writer is closed")
        self._ensure_started()
        self._queue.put(item)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="chancery-group-commit", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        try:
            self._serve()
        finally:
            self._drop_connection()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            if self._gather_seconds and self._last_batch_size > 1:
                self._gather()
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

    def _gather(self) -> None:
        """Under concurrent load, let more callers join the next commit (like PostgreSQL's
        commit_delay): a short wait costs less than the fsyncs it saves. Waits while work keeps
        arriving, at most ``gather_seconds``; a lone caller (last batch of one) never waits."""
        deadline = time.monotonic() + self._gather_seconds
        queued = self._queue.qsize()
        while queued < self._max_batch and time.monotonic() < deadline:
            time.sleep(_GATHER_STEP)
            now_queued = self._queue.qsize()
            if now_queued == queued:
                return
            queued = now_queued

    def _run_batch(self, batch: list[_Item]) -> None:
        self.batches += 1
        self.items += len(batch)
        self._last_batch_size = len(batch)
        try:
            results = self._transaction(batch)
        except Exception:  # noqa: BLE001 - any failure: run the items one by one
            if len(batch) == 1:
                self._run_alone(batch[0])
            else:
                log.debug("batch of %d failed; retrying items singly", len(batch), exc_info=True)
                for item in batch:
                    self._run_alone(item)
        else:
            for item, result in zip(batch, results, strict=True):
                item.settle(True, result)
        self._wake_event_loops(batch)

    def _run_alone(self, item: _Item) -> None:
        try:
            (result,) = self._transaction([item])
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            item.settle(False, _public(exc))
        else:
            item.settle(True, result)

    def _transaction(self, batch: list[_Item]) -> list[Any]:
        conn = self._connection()
        try:
            with conn.begin():
                return _execute(UnitOfWork(conn), [item.work for item in batch])
        except SQLAlchemyError:
            self._drop_connection()  # a broken connection is not reused
            raise

    def _wake_event_loops(self, batch: list[_Item]) -> None:
        """One thread-safe call per event loop per batch, however many items it awaits."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Item]] = {}
        for item in batch:
            if item.loop is not None:
                by_loop.setdefault(item.loop, []).append(item)
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, items)
            except RuntimeError:  # the loop has closed: nobody is waiting any more
                log.debug("event loop closed before %d results were delivered", len(items))

    def _connection(self) -> Connection:
        """The writer's own connection, kept open between batches (no pool round trip per commit)."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._db.connect_for_writing()
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except SQLAlchemyError:
                log.debug("closing a broken writer connection failed", exc_info=True)
            self._conn = None


def _execute(uow: UnitOfWork, works: list[Work]) -> list[Any]:
    """Run ``works`` (merging those that share a ``merge_key``); results in input order."""
    results: list[Any] = [None] * len(works)
    groups: dict[Hashable, list[int]] = {}
    for index, work in enumerate(works):
        key = getattr(work, "merge_key", None)
        if key is None:
            results[index] = work(uow)
        else:
            groups.setdefault(key, []).append(index)
    for indexes in groups.values():
        items = [works[i] for i in indexes]
        merged = items[0].run_merged(uow, items) if len(items) > 1 else [items[0](uow)]  # type: ignore[attr-defined]
        for index, result in zip(indexes, merged, strict=True):
            results[index] = result
    return results


def _nothing(uow: UnitOfWork) -> None:
    return None


def _resolve(items: list[_Item]) -> None:
    for item in items:
        assert item.awaitable is not None
        if item.awaitable.done():  # the caller gave up (cancelled)
            continue
        ok, value = item.outcome
        if ok:
            item.awaitable.set_result(value)
        else:
            item.awaitable.set_exception(value)


def _public(exc: BaseException) -> BaseException:
    if isinstance(exc, SQLAlchemyError):
        log.error("database write failed: %s", exc)
        return InternalError("the database is unavailable")
    return exc
