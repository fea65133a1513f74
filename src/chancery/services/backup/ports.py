"""What the backup services need from the store and the key store (consumer-owned protocols)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from chancery.domain.backups import ExpectedHsmKey, LoadRequest, PartSink, Progress, SnapshotInfo


class DatabaseSnapshots(Protocol):
    """Takes a consistent snapshot of the live database and streams it as backup parts.

    SQLite: the online-backup API, one part ``database/sqlite`` (the database file).
    PostgreSQL: one REPEATABLE READ transaction, a part ``database/table/<name>`` of
    JSON lines per table, in dependency order.
    """

    def snapshot(self, sink: PartSink, progress: Progress) -> SnapshotInfo: ...


class DatabaseLoader(Protocol):
    """Fills the target database from backup parts; nothing is visible until :meth:`commit`."""

    def feed(self, part: str, block: bytes) -> None: ...
    def end_part(self, part: str) -> None: ...
    def commit(self) -> None:
        """Check row counts, bring the schema to the newest revision, audit, commit."""
        ...

    def abort(self) -> None:
        """Forget everything fed so far (idempotent)."""
        ...

    def discard(self) -> None:
        """Undo a committed restore of a server database (a later step of the restore failed)."""
        ...


class RestoreTargets(Protocol):
    def check_empty(self, database_url: str | None) -> None:
        """Raise :class:`~chancery.errors.Conflict` when the target server database already has tables."""
        ...

    def loader(self, request: LoadRequest) -> DatabaseLoader: ...


class BackupKeyHandle(Protocol):
    """An opened backup key (``keys.backup_key``): it never shows itself."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def sealed(self) -> str: ...
    def wrap(self, plaintext: bytes, aad: bytes) -> bytes: ...
    def unwrap(self, blob: bytes, aad: bytes) -> bytes: ...
    def mac(self, data: bytes) -> bytes: ...
    def verify_mac(self, data: bytes, tag: bytes) -> bool: ...


class BackupKeyring(Protocol):
    def current(self) -> BackupKeyHandle:
        """The installation's backup key, created on first use."""
        ...


# Opens the sealed backup key a backup header carries (needs the source's key store passphrase).
BackupKeyOpener = Callable[[str], BackupKeyHandle]


@dataclass(frozen=True)
class HsmKeyStatus:
    key: ExpectedHsmKey
    present: bool
    detail: str


class HsmKeyProbe(Protocol):
    def check(self, keys: Sequence[ExpectedHsmKey]) -> list[HsmKeyStatus] | None:
        """Whether each key is in the configured HSM; ``None`` when no PKCS#11 key store is configured."""
        ...
