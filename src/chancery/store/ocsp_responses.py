"""Pre-signed OCSP responses, shared by every node through the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.engine import Connection

from chancery.domain.revocation_records import OcspResponseRecord
from chancery.store.tables import certificates
from chancery.store.tables import ocsp_responses as t


class OcspResponseRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, ca_name: str, serial: str, hash_algorithm: str) -> OcspResponseRecord | None:
        row = self._conn.execute(
            select(t).where(t.c.ca_name == ca_name, t.c.serial == serial, t.c.hash_algorithm == hash_algorithm)
        ).first()
        return None if row is None else _record(row)

    def for_serial(self, ca_name: str, serial: str) -> list[OcspResponseRecord]:
        rows = self._conn.execute(select(t).where(t.c.ca_name == ca_name, t.c.serial == serial)).all()
        return [_record(row) for row in rows]

    def put_many(self, records: list[OcspResponseRecord]) -> None:
        """Insert or replace (delete + insert works the same on SQLite and PostgreSQL)."""
        for record in records:
            self._conn.execute(
                delete(t).where(
                    t.c.ca_name == record.ca_name,
                    t.c.serial == record.serial,
                    t.c.hash_algorithm == record.hash_algorithm,
                )
            )
        if records:
            self._conn.execute(insert(t), [_row(record) for record in records])

    def delete_for(self, ca_name: str, serials: list[str]) -> None:
        if serials:
            self._conn.execute(delete(t).where(t.c.ca_name == ca_name, t.c.serial.in_(serials)))

    def unsigned_since(self, since: dt.datetime, algorithm: str, limit: int) -> list[tuple[str, str]]:
        """(CA, serial) of certificates issued since ``since`` with no stored response for ``algorithm``."""
        rows = self._conn.execute(
            select(certificates.c.ca_name, certificates.c.serial)
            .outerjoin(
                t,
                and_(
                    t.c.ca_name == certificates.c.ca_name,
                    t.c.serial == certificates.c.serial,
                    t.c.hash_algorithm == algorithm,
                ),
            )
            .where(certificates.c.created_at >= since, certificates.c.state == "issued", t.c.serial.is_(None))
            .order_by(certificates.c.id)
            .limit(limit)
        ).all()
        return [(row[0], row[1]) for row in rows]

    def stale(self, before: dt.datetime, limit: int) -> list[OcspResponseRecord]:
        """Responses whose nextUpdate comes before ``before``, soonest first."""
        rows = self._conn.execute(
            select(t).where(t.c.next_update < before).order_by(t.c.next_update).limit(limit)
        ).all()
        return [_record(row) for row in rows]


def _row(record: OcspResponseRecord) -> dict[str, Any]:
    return {
        "ca_name": record.ca_name,
        "serial": record.serial,
        "hash_algorithm": record.hash_algorithm,
        "cert_id": record.cert_id,
        "der": record.der,
        "this_update": record.this_update,
        "next_update": record.next_update,
    }


def _record(row: Any) -> OcspResponseRecord:
    return OcspResponseRecord(
        ca_name=row.ca_name,
        serial=row.serial,
        hash_algorithm=row.hash_algorithm,
        cert_id=row.cert_id,
        der=row.der,
        this_update=row.this_update,
        next_update=row.next_update,
    )
