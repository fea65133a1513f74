"""Dual control over replacing an installation with a backup (``restore --force``).

A restore cannot run inside ``chancery approval approve``: it needs the
custodians at the keyboard. So the approved operation is a permit: the
operator's first ``restore --force`` records an operation ``backup.restore-over``
naming the backup (by its SHA-256) and the target; once other administrators
approve it, the same operator runs the same restore again and it proceeds. The
permit is spent by the restore itself, which replaces the database holding it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from chancery.clock import Clock
from chancery.domain.approvals import OperationState
from chancery.domain.principals import Principal
from chancery.services.approvals import DEFAULT_EXPIRY_HOURS, DualControl

RESTORE_OVER = "backup.restore-over"


def authorise_replacement(
    dual: DualControl, principal: Principal, target: Path, backup_sha256: str, clock: Clock
) -> None:
    """Return when ``principal`` may replace the installation at ``target`` with this backup.

    Raises :class:`~chancery.errors.ApprovalRequired` (after recording the request)
    when the installation's dual-control policy wants approvals that have not been given.
    """
    payload = {"target": str(target.absolute()), "backup_sha256": backup_sha256}
    if dual.required_approvals() > 0:
        fresh_after = clock.now() - dt.timedelta(hours=DEFAULT_EXPIRY_HOURS)
        for operation in dual.list(principal, OperationState.EXECUTED):
            if (
                operation.kind == RESTORE_OVER
                and operation.payload == payload
                and operation.requested_by == principal.name
                and operation.finished_at is not None
                and operation.finished_at >= fresh_after
            ):
                return
    summary = f"replace the installation in {target.absolute()} with backup {backup_sha256[:16]}"
    dual.guard(principal, RESTORE_OVER, payload, summary)
