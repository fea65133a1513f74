"""Third-party roots trusted when importing external CA chains."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chancery.domain.records import TrustAnchorRecord
from chancery.errors import Conflict
from chancery.store.tables import trust_anchors as t


class TrustAnchorRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: TrustAnchorRecord) -> None:
        """Raise :class:`Conflict` if this certificate is already an anchor."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    insert(t).values(
                        fingerprint_sha256=record.fingerprint_sha256,
                        subject=record.subject,
                        der=record.der,
                        created_at=record.created_at,
                    )
                )
        except IntegrityError:
            raise Conflict("this trust anchor is already imported") from None

    def list(self) -> tuple[TrustAnchorRecord, ...]:
        rows = self._conn.execute(select(t).order_by(t.c.created_at)).mappings().all()
        return tuple(_from_row(row) for row in rows)


def _from_row(row: Any) -> TrustAnchorRecord:
    return TrustAnchorRecord(
        fingerprint_sha256=row["fingerprint_sha256"],
        subject=row["subject"],
        der=row["der"],
        created_at=row["created_at"],
    )
