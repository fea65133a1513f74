"""Running a use case's write steps durably, from a thread or from the event loop.

A use case that must commit between steps (reserve a serial, sign, store) is
written once, as a generator that yields units of write work and receives each
one's result after it is committed (:data:`Steps`). :func:`run_steps` drives
it from a thread, :func:`run_steps_async` from asyncio without blocking the
event loop; both feed a failed work item's exception back into the generator,
so the use case handles it where it yielded. A step may also be an
:class:`OffLoop` call (a signature in an HSM): it blocks a thread, never the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chancery.services.ports import UnitOfWork

T = TypeVar("T")
Work = Callable[[UnitOfWork], Any]


@dataclass(frozen=True)
class OffLoop(Generic[T]):
    """A step that is no write work but a blocking call, such as a signature made by a PKCS#11
    token: :func:`run_steps` calls it in place, :func:`run_steps_async` in a worker thread."""

    call: Callable[[], T]


Steps = Generator[Work | OffLoop[Any], Any, T]


def run_steps(steps: Steps[T], run: Callable[[Work], Any]) -> T:
    """Drive ``steps``, committing each yielded work item with ``run`` (blocking)."""
    try:
        work = next(steps)
        while True:
            try:
                result = work.call() if isinstance(work, OffLoop) else run(work)
            except Exception as exc:  # noqa: BLE001 - handed back to the use case
                work = steps.throw(exc)
            else:
                work = steps.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def run_steps_async(steps: Steps[T], submit: Callable[[Work], Awaitable[Any]]) -> T:
    """Drive ``steps`` from the event loop; the loop serves other requests while commits happen."""
    try:
        work = next(steps)
        while True:
            try:
                result = await (asyncio.to_thread(work.call) if isinstance(work, OffLoop) else submit(work))
            except Exception as exc:  # noqa: BLE001 - handed back to the use case
                work = steps.throw(exc)
            else:
                work = steps.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
