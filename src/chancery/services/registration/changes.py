"""What the RA tells the outside world: a request changed state (webhooks, e-mail).

Services record each change through :class:`RequestNotifications` in the same
transaction as the change itself (an outbox), and call ``wake`` after the commit
so that delivery starts at once; a notifier that is down loses nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from chancery.domain.registration import RaRecord, RequestRecord
from chancery.services.ports import UnitOfWork


@dataclass(frozen=True)
class RequestChange:
    """``event`` is ``submitted``, ``approval`` (one of several), ``approved``, ``issued``,
    ``revoked``, ``denied``, ``cancelled``, ``expired`` or ``failed``."""

    request: RequestRecord  # as it is after the change
    ra: RaRecord
    event: str
    actor: str
    at: dt.datetime


class RequestNotifications(Protocol):
    def record(self, uow: UnitOfWork, change: RequestChange) -> None:
        """Queue the notifications for ``change`` in the caller's transaction."""
        ...

    def wake(self) -> None:
        """Called after the commit: deliver what was queued soon."""
        ...


class NoNotifications:
    """For tools and tests that send nothing."""

    def record(self, uow: UnitOfWork, change: RequestChange) -> None:
        return None

    def wake(self) -> None:
        return None
