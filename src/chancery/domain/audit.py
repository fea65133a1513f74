"""The audit trail: events, their hash chain, and signed checkpoints.

Each entry holds the SHA-256 of its own content together with the previous
entry's hash, so editing or deleting any row breaks every hash after it.
Checkpoints sign the newest hash with the audit key, so the chain cannot be
quietly recomputed by whoever can write to the database. The hash covers the
exact strings stored (``details`` is stored as canonical JSON), so checking
needs no re-serialisation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"  # tried and failed (wrong password, refused request)
    DENIED = "denied"  # not allowed


@dataclass(frozen=True)
class AuditEvent:
    """Something security-relevant that happened. ``details`` never holds a secret."""

    action: str  # dotted, e.g. "certificate.issued", "login.failed"
    actor: str
    outcome: Outcome = Outcome.SUCCESS
    ca: str | None = None
    target: str | None = None  # what it happened to: a serial, a user, a profile...
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord:
    sequence: int
    occurred_at: dt.datetime
    action: str
    actor: str
    outcome: str
    ca: str | None
    target: str | None
    details_json: str
    previous_hash: str
    entry_hash: str

    @property
    def details(self) -> dict[str, Any]:
        value = json.loads(self.details_json)
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class AuditCheckpoint:
    """The audit key's signature over the chain up to ``sequence``."""

    sequence: int
    entry_hash: str
    signed_at: dt.datetime
    key_id: str
    signature: bytes = field(repr=False)

    def message(self) -> bytes:
        return checkpoint_message(self.sequence, self.entry_hash, self.signed_at)


def canonical_details(details: Mapping[str, Any]) -> str:
    return json.dumps(dict(details), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    sequence: int,
    occurred_at: dt.datetime,
    action: str,
    actor: str,
    outcome: str,
    ca: str | None,
    target: str | None,
    details_json: str,
    previous_hash: str,
) -> str:
    """SHA-256 over the entry's stored fields and the previous entry's hash (hex).

    The fields are encoded as a JSON array, so that no edit can move text from one field to
    another (a user name may hold any character) or turn a missing value into an empty one.
    """
    stamp = occurred_at.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")
    fields = [sequence, stamp, action, actor, outcome, ca, target, details_json, previous_hash]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode("ascii")).hexdigest()


def record_hash(record: AuditRecord) -> str:
    """What ``record.entry_hash`` must be, given its content and ``previous_hash``."""
    return entry_hash(
        record.sequence,
        record.occurred_at,
        record.action,
        record.actor,
        record.outcome,
        record.ca,
        record.target,
        record.details_json,
        record.previous_hash,
    )


def checkpoint_message(sequence: int, hash_hex: str, signed_at: dt.datetime) -> bytes:
    stamp = signed_at.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")
    return f"chancery-audit-checkpoint/1|{sequence}|{hash_hex}|{stamp}".encode("ascii")
