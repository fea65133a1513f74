"""The ports the ceremony services need (satisfied by ``keys.quorum`` and by the CLI)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol

from chancery.domain.audit import AuditEvent


class KeyQuorum(Protocol):
    """Re-keys the software key store under a secret split among custodians."""

    def require(self, passphrases: Mapping[str, bytes], threshold: int, event: AuditEvent, at: dt.datetime) -> None:
        """One share per custodian of ``passphrases`` (in its order), ``threshold`` of them to open the store;
        ``event`` is audited in the same transaction."""
        ...


class ArtefactDirectory(Protocol):
    """The ceremony directory: files the script reads and the artefacts it writes, by relative path."""

    def exists(self, path: str) -> bool: ...

    def read(self, path: str) -> bytes:
        """Raise :class:`~chancery.errors.NotFound` when the file is missing."""
        ...

    def write(self, path: str, data: bytes) -> None:
        """Create the file (never overwrite one: raise :class:`~chancery.errors.Conflict`)."""
        ...
