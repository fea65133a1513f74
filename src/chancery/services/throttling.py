"""A per-client budget of failures within a sliding window, kept in this process's memory.

Used where a failure is a guess at a secret: unknown RA request IDs over REST, wrong SCEP
challenges. Each client (an address) may fail ``misses`` times within ``window``; after
that it is refused until its oldest failure leaves the window. With several nodes behind
a load balancer each node keeps its own count.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import deque

from chancery.clock import Clock

MAX_CLIENTS = 10_000


class FailureBudget:
    def __init__(self, clock: Clock, misses: int, window: dt.timedelta, max_clients: int = MAX_CLIENTS) -> None:
        self._clock = clock
        self._misses = misses
        self._window = window
        self._max_clients = max_clients
        self._seen: dict[str, deque[dt.datetime]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, client: str) -> int | None:
        """How long ``client`` must wait before it may try again, or ``None`` while it has failures left."""
        now = self._clock.now()
        with self._lock:
            misses = self._recent(client, now)
            if misses is None or len(misses) < self._misses:
                return None
            wait = (misses[0] + self._window - now).total_seconds()
        return max(1, math.ceil(wait))

    def miss(self, client: str) -> None:
        """Record one failure of ``client``."""
        now = self._clock.now()
        with self._lock:
            misses = self._recent(client, now)
            if misses is None:
                if len(self._seen) >= self._max_clients:
                    self._forget_idle(now)
                misses = self._seen.setdefault(client, deque())
            misses.append(now)
            while len(misses) > self._misses:
                misses.popleft()

    def _recent(self, client: str, now: dt.datetime) -> deque[dt.datetime] | None:
        misses = self._seen.get(client)
        if misses is None:
            return None
        while misses and misses[0] <= now - self._window:
            misses.popleft()
        if not misses:
            del self._seen[client]
            return None
        return misses

    def _forget_idle(self, now: dt.datetime) -> None:
        for client in list(self._seen):
            self._recent(client, now)
        if len(self._seen) >= self._max_clients:  # a flood of addresses: start counting afresh
            self._seen.clear()
