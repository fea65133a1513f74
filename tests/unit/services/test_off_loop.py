"""Steps that block (a signature in an HSM) run off the event loop, and in place from a thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from chancery.services.durable import OffLoop, Steps, run_steps, run_steps_async


def steps(log: list[str]) -> Steps[tuple[int, str]]:
    signed_on = yield OffLoop(threading.get_ident)
    stored = yield lambda uow: f"stored {uow}"
    log.append(stored)
    return signed_on, stored


def test_async_runs_the_blocking_step_in_a_worker_thread() -> None:
    async def drive() -> tuple[int, int, str]:
        async def submit(work: Any) -> Any:
            return work("uow")

        signed_on, stored = await run_steps_async(steps([]), submit)
        return threading.get_ident(), signed_on, stored

    loop_thread, signed_on, stored = asyncio.run(drive())
    assert signed_on != loop_thread and stored == "stored uow"


def test_blocking_runs_in_place() -> None:
    signed_on, stored = run_steps(steps([]), lambda work: work("uow"))
    assert signed_on == threading.get_ident() and stored == "stored uow"


def test_a_failing_blocking_step_reaches_the_caller() -> None:
    def failing() -> Steps[None]:
        yield OffLoop(lambda: 1 / 0)

    async def submit(work: Any) -> Any:
        return work("uow")

    with pytest.raises(ZeroDivisionError):
        asyncio.run(run_steps_async(failing(), submit))
