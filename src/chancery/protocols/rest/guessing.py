"""Looking up RA requests by ID over REST, with a per-client-address budget of unknown-ID lookups.

A request ID is the capability to read a request, cancel it and download its
certificate (80 random bits, ``domain/registration.py``), so guessing one is
hopeless; this also makes scanning slow. Each client address may miss
``misses`` times within ``window``; after that every lookup by ID from that
address, hit or miss, is refused with 429 and ``Retry-After`` until the oldest
miss leaves the window (answering hits would tell a guesser which of its
guesses exist).

The counts live in memory, in this process: with several nodes behind a load
balancer each node keeps its own count, so a client spreading its guesses over
N nodes gets N times the budget. The address is the ASGI server's ``client``: behind
a reverse proxy that is the proxy's, unless the server takes it from forwarding headers.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Annotated, Any

from fastapi import Depends, Request

from chancery.clock import Clock
from chancery.domain.registration import RequestRecord
from chancery.errors import NotFound, RateLimited
from chancery.protocols.rest.deps import ServicesDep
from chancery.services.throttling import FailureBudget

MISSES = 30
WINDOW = dt.timedelta(minutes=1)
MAX_CLIENTS = 10_000
_CREATE = threading.Lock()


class GuessLimiter:
    """Counts each client address's lookups of request IDs that do not exist."""

    def __init__(
        self, clock: Clock, misses: int = MISSES, window: dt.timedelta = WINDOW, max_clients: int = MAX_CLIENTS
    ) -> None:
        self._budget = FailureBudget(clock, misses, window, max_clients)

    def check(self, client: str) -> None:
        """Raise :class:`RateLimited` while ``client`` has used up its misses."""
        wait = self._budget.wait_seconds(client)
        if wait is not None:
            raise RateLimited(
                "too many lookups of unknown request IDs from this address; try again later", retry_after=wait
            )

    def miss(self, client: str) -> None:
        """Record that ``client`` asked for a request ID that does not exist."""
        self._budget.miss(client)


def guess_limiter(state: Any, clock: Clock) -> GuessLimiter:
    """The application's limiter, made on first use (kept on ``app.state``)."""
    limiter: GuessLimiter | None = getattr(state, "request_id_guesses", None)
    if limiter is None:
        with _CREATE:
            limiter = getattr(state, "request_id_guesses", None)
            if limiter is None:
                limiter = GuessLimiter(clock)
                state.request_id_guesses = limiter
    return limiter


def known_request(request_id: str, request: Request, services: ServicesDep) -> RequestRecord:
    """The request ``request_id`` names (any case, dashes or not), counting misses per client
    address: 404 "no such request" for an unknown or malformed ID, 429 after too many."""
    limiter = guess_limiter(request.app.state, services.clock)
    client = request.client.host if request.client else ""
    limiter.check(client)
    try:
        return services.ra_delivery.status(request_id)
    except NotFound:
        limiter.miss(client)
        raise


KnownRequestDep = Annotated[RequestRecord, Depends(known_request)]
