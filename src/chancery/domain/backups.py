"""Records of backups: what a database snapshot held, and where a restore writes.

The store fills these; ``services.backup`` puts them in a backup's manifest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from chancery.domain.audit import AuditEvent

# Called with (part name, a block of its bytes); a part's blocks arrive in order.
PartSink = Callable[[str, bytes], None]

SQLITE_PART = "database/sqlite"  # the SQLite database file (online-backup API copy)
TABLE_PART = "database/table/"  # + table name: the table's rows as JSON lines (PostgreSQL)


class Progress(Protocol):
    """Where long steps report how far they are (the CLI draws rich progress bars)."""

    def start(self, label: str, total: int | None) -> None: ...
    def advance(self, amount: int) -> None: ...
    def done(self) -> None: ...


class QuietProgress:
    """Reports nothing."""

    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def done(self) -> None:
        pass


@dataclass(frozen=True)
class ExpectedHsmKey:
    """A CA key that lives in an HSM, never in a backup: what the restored CA must find."""

    ca: str  # the CAs using it (comma-separated), or the key's purpose when no CA does
    key_id: str  # how the key store finds it (``pkcs11:<hex CKA_ID>``)
    label: str  # CKA_LABEL in the token
    key_type: str
    public_key_sha256: str  # SHA-256 of the SubjectPublicKeyInfo DER, hex; "" when unknown


@dataclass(frozen=True)
class StoredKey:
    """A software key sealed in the database (its blob travels inside the database part)."""

    key_id: str
    key_type: str
    purpose: str


@dataclass(frozen=True)
class SnapshotInfo:
    """What one consistent database snapshot held."""

    kind: str  # "sqlite" or "postgresql"
    schema_revision: str
    row_counts: dict[str, int]
    software_keys: tuple[StoredKey, ...]
    hsm_keys: tuple[ExpectedHsmKey, ...]


@dataclass(frozen=True)
class LoadRequest:
    """What a restore writes: the database of a new installation, from a backup of ``source_kind``."""

    source_kind: str
    schema_revision: str
    row_counts: dict[str, int]
    workdir: Path  # the temporary sibling directory being filled
    database_url: str | None  # None: SQLite in the new data directory
    audit_at: dt.datetime
    audit: Sequence[AuditEvent] = field(default_factory=tuple)
    replace_existing: bool = False  # --force: an existing server database may be wiped
