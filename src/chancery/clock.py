"""Time, injected.

Nothing in Chancery calls ``datetime.now()`` except :class:`SystemClock`; every
component that needs the time takes a :class:`Clock`, so tests can move it.
All times are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol


class Clock(Protocol):
    """Source of the current time."""

    def now(self) -> dt.datetime:
        """Return the current time as an aware UTC datetime."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


class FixedClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(dt.timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._at

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock forward (or back, with a negative delta)."""
        with self._lock:
            self._at = self._at + delta

    def set(self, at: dt.datetime) -> None:
        """Jump to ``at``."""
        with self._lock:
            self._at = at.astimezone(dt.timezone.utc)
