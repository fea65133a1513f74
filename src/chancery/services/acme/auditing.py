"""Audit entries for refused ACME requests, each in its own transaction (nothing else changes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent, Outcome
from chancery.services.ports import DurableWriter


class Refusals:
    def __init__(self, writer: DurableWriter, clock: Clock) -> None:
        self._writer = writer
        self._clock = clock

    def record(self, action: str, actor: str, target: str | None, details: Mapping[str, Any]) -> None:
        event = AuditEvent(action, actor[:200], Outcome.DENIED, target=(target or "")[:200] or None, details=details)
        now = self._clock.now()
        self._writer.run(lambda uow: uow.audit.append([event], now))
