"""Search filters and cursor pages."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Generic, TypeVar

from chancery.domain.names import CAName
from chancery.domain.records import CertificateStatus
from chancery.errors import Malformed

T = TypeVar("T")

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class CertificateFilter:
    """Which certificates to list. Every field narrows; ``None`` means any."""

    ca_name: CAName | None = None
    status: CertificateStatus | None = None
    subject_contains: str | None = None
    san_contains: str | None = None
    profile: str | None = None
    expiring_within: dt.timedelta | None = None


@dataclass(frozen=True)
class PageRequest:
    """``limit`` items after the opaque ``cursor`` (None: from the start)."""

    limit: int = 100
    cursor: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise Malformed(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        if self.cursor is not None:
            decode_cursor(self.cursor)

    @property
    def after_row(self) -> int:
        return 0 if self.cursor is None else decode_cursor(self.cursor)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_cursor: str | None


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"r{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Raise :class:`Malformed` for a cursor this server did not hand out."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        if not text.startswith("r"):
            raise ValueError
        value = int(text[1:])
        if value < 0:
            raise ValueError
        return value
    except (ValueError, UnicodeError):
        raise Malformed("invalid pagination cursor") from None


@dataclass(frozen=True)
class RevocationFilter:
    """Which certificates of one CA a bulk revocation covers; every field narrows."""

    ca_name: CAName
    profile: str | None = None
    issued_after: dt.datetime | None = None
    issued_before: dt.datetime | None = None
    public_key_sha256: str | None = None

    def __post_init__(self) -> None:
        if self.public_key_sha256 is not None and (
            len(self.public_key_sha256) != 64 or any(c not in "0123456789abcdef" for c in self.public_key_sha256)
        ):
            raise Malformed("key must be the lower-case hex SHA-256 of a SubjectPublicKeyInfo (64 characters)")


@dataclass(frozen=True)
class AuditFilter:
    """What an auditor looks for; every field given must match (``action`` as a prefix)."""

    action: str | None = None
    actor: str | None = None
    ca: str | None = None
    target: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before: int | None = None  # a sequence number: the page below it
