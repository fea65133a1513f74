"""Enrolled key custodians and who holds a share of the key store's secret."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chancery.domain.custodians import CustodianRecord, KeystoreQuorum
from chancery.errors import Conflict
from chancery.store.tables import custodians as t
from chancery.store.tables import keystore_shares as shares


class CustodianRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: CustodianRecord) -> None:
        """Raise :class:`Conflict` if a custodian of that name is enrolled."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    insert(t).values(
                        name=record.name,
                        verifier=record.verifier,
                        created_at=record.created_at,
                        created_by=record.created_by,
                    )
                )
        except IntegrityError:
            raise Conflict(f"a custodian named {record.name!r} is already enrolled") from None

    def get(self, name: str) -> CustodianRecord | None:
        row = self._conn.execute(select(t).where(t.c.name == name)).mappings().first()
        return None if row is None else _from_row(row)

    def list(self) -> tuple[CustodianRecord, ...]:
        return tuple(_from_row(row) for row in self._conn.execute(select(t).order_by(t.c.name)).mappings())

    def remove(self, name: str) -> bool:
        return self._conn.execute(delete(t).where(t.c.name == name)).rowcount > 0

    def quorum(self) -> KeystoreQuorum | None:
        """The key store's quorum, when it requires one."""
        rows = self._conn.execute(
            select(shares.c.custodian, shares.c.threshold, shares.c.created_at).order_by(shares.c.share_index)
        ).all()
        if not rows:
            return None
        return KeystoreQuorum(
            threshold=rows[0].threshold, custodians=tuple(row.custodian for row in rows), created_at=rows[0].created_at
        )


def _from_row(row: Any) -> CustodianRecord:
    return CustodianRecord(
        name=row["name"], verifier=row["verifier"], created_at=row["created_at"], created_by=row["created_by"]
    )
