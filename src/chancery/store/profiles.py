"""Stored profiles: every version of every certificate and subject-DN profile."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chancery.domain.records import ProfileDocumentKind, ProfileRecord
from chancery.errors import Conflict
from chancery.store.tables import profiles as t

_LATEST_VERSIONS = select(t.c.name, func.max(t.c.version).label("version")).group_by(t.c.name).subquery()
_LATEST = select(t).join(
    _LATEST_VERSIONS, (t.c.name == _LATEST_VERSIONS.c.name) & (t.c.version == _LATEST_VERSIONS.c.version)
)


class ProfileRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: ProfileRecord) -> None:
        """Store a new version; raise :class:`Conflict` if that version exists (a concurrent edit)."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(t).values(**_to_row(record)))
        except IntegrityError:
            raise Conflict(
                f"profile {record.name!r} version {record.version} was saved meanwhile; load it and edit again"
            ) from None

    def latest(self, name: str) -> ProfileRecord | None:
        row = self._conn.execute(_LATEST.where(t.c.name == name)).mappings().first()
        return None if row is None else _from_row(row)

    def get(self, name: str, version: int) -> ProfileRecord | None:
        row = self._conn.execute(select(t).where(t.c.name == name, t.c.version == version)).mappings().first()
        return None if row is None else _from_row(row)

    def list_latest(self) -> tuple[ProfileRecord, ...]:
        """The newest version of every profile, by name."""
        rows = self._conn.execute(_LATEST.order_by(t.c.name)).mappings().all()
        return tuple(_from_row(row) for row in rows)

    def versions(self, name: str) -> tuple[ProfileRecord, ...]:
        rows = self._conn.execute(select(t).where(t.c.name == name).order_by(t.c.version)).mappings().all()
        return tuple(_from_row(row) for row in rows)

    def referencing(self, subject_profile: str) -> tuple[ProfileRecord, ...]:
        """The newest versions of the certificate profiles that use ``subject_profile``."""
        query = _LATEST.where(t.c.subject_profile == subject_profile).order_by(t.c.name)
        return tuple(_from_row(row) for row in self._conn.execute(query).mappings().all())


def _to_row(record: ProfileRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "version": record.version,
        "kind": record.kind.value,
        "document": record.document_json,
        "subject_profile": record.subject_profile,
        "subject_version": record.subject_version,
        "comment": record.comment,
        "created_by": record.created_by,
        "created_at": record.created_at,
    }


def _from_row(row: Any) -> ProfileRecord:
    return ProfileRecord(
        name=row["name"],
        version=row["version"],
        kind=ProfileDocumentKind(row["kind"]),
        document_json=row["document"],
        subject_profile=row["subject_profile"],
        subject_version=row["subject_version"],
        comment=row["comment"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )
