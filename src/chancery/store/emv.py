"""EMV scheme CA and issuer records (the keys themselves are in the key store)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chancery.domain.emv_records import EmvCaRecord, EmvIssuerRecord, IssuerCertification
from chancery.errors import Conflict, NotFound
from chancery.store.tables import emv_cas, emv_issuers

MAX_SERIAL = 0xFFFFFF  # serial numbers are 3 bytes (EMV Book 2 Tables 6 and 14)


class EmvRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- scheme CAs ----------------------------------------------------------------------------

    def add_ca(self, record: EmvCaRecord) -> None:
        values = {"rid": record.rid, "key_index": record.index}
        conflict = f"an EMV CA named {record.name!r}, or with RID {record.rid} and index {record.index:02X}, exists"
        self._insert(emv_cas, record, values, conflict)

    def get_ca(self, name: str) -> EmvCaRecord | None:
        row = self._conn.execute(select(emv_cas).where(emv_cas.c.name == name)).mappings().first()
        return None if row is None else _ca(row)

    def list_cas(self) -> tuple[EmvCaRecord, ...]:
        return tuple(_ca(r) for r in self._conn.execute(select(emv_cas).order_by(emv_cas.c.name)).mappings())

    def take_ca_serial(self, name: str) -> int:
        """The next issuer certificate serial number of CA ``name`` (locked, then moved on)."""
        return self._take(emv_cas, name)

    # -- issuers -------------------------------------------------------------------------------

    def add_issuer(self, record: EmvIssuerRecord) -> None:
        values = {"issuer_identifier": record.issuer_identifier}
        self._insert(emv_issuers, record, values, f"an EMV issuer named {record.name!r} exists")

    def get_issuer(self, name: str) -> EmvIssuerRecord | None:
        row = self._conn.execute(select(emv_issuers).where(emv_issuers.c.name == name)).mappings().first()
        return None if row is None else _issuer(row)

    def list_issuers(self) -> tuple[EmvIssuerRecord, ...]:
        query = select(emv_issuers).order_by(emv_issuers.c.name)
        return tuple(_issuer(r) for r in self._conn.execute(query).mappings())

    def certify_issuer(self, name: str, certification: IssuerCertification) -> None:
        values = {
            "ca_rid": certification.ca_rid,
            "ca_index": certification.ca_index,
            "certificate": certification.certificate.hex().upper(),
            "remainder": certification.remainder.hex().upper(),
            "certificate_exponent": certification.exponent.hex().upper(),
            "expiry": certification.expiry,
            "serial": certification.serial.hex().upper(),
            "certified_at": certification.certified_at,
        }
        if self._conn.execute(update(emv_issuers).where(emv_issuers.c.name == name).values(**values)).rowcount != 1:
            raise NotFound(f"no EMV issuer named {name!r}")

    def take_issuer_serials(self, name: str, count: int = 1) -> int:
        """The first of ``count`` consecutive ICC certificate serial numbers of issuer ``name``."""
        return self._take(emv_issuers, name, count)

    def _insert(self, table: Any, record: EmvCaRecord | EmvIssuerRecord, values: dict[str, Any], conflict: str) -> None:
        """Insert a CA or issuer row: the key columns they share and ``values``; :class:`Conflict` if it exists."""
        row = {
            "name": record.name,
            "key_id": record.key_id,
            "modulus": format(record.modulus, "X"),
            "exponent": record.exponent,
            "next_serial": record.next_serial,
            "created_at": record.created_at,
            "created_by": record.created_by,
            **values,
        }
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(table).values(**row))
        except IntegrityError:
            raise Conflict(conflict) from None

    def _take(self, table: Any, name: str, count: int = 1) -> int:
        current = self._conn.execute(select(table.c.next_serial).where(table.c.name == name).with_for_update()).scalar()
        if current is None:
            raise NotFound(f"no {'EMV CA' if table is emv_cas else 'EMV issuer'} named {name!r}")
        if current + count - 1 > MAX_SERIAL:
            raise Conflict(f"{name} has used all {MAX_SERIAL:,} certificate serial numbers")
        self._conn.execute(update(table).where(table.c.name == name).values(next_serial=current + count))
        return int(current)


def _ca(row: Any) -> EmvCaRecord:
    return EmvCaRecord(
        name=row["name"],
        rid=row["rid"],
        index=row["key_index"],
        key_id=row["key_id"],
        modulus=int(row["modulus"], 16),
        exponent=row["exponent"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        next_serial=row["next_serial"],
    )


def _issuer(row: Any) -> EmvIssuerRecord:
    certification = None
    if row["certificate"] is not None:
        certification = IssuerCertification(
            ca_rid=row["ca_rid"],
            ca_index=row["ca_index"],
            certificate=bytes.fromhex(row["certificate"]),
            remainder=bytes.fromhex(row["remainder"] or ""),
            exponent=bytes.fromhex(row["certificate_exponent"]),
            expiry=row["expiry"],
            serial=bytes.fromhex(row["serial"]),
            certified_at=row["certified_at"],
        )
    return EmvIssuerRecord(
        name=row["name"],
        issuer_identifier=row["issuer_identifier"],
        key_id=row["key_id"],
        modulus=int(row["modulus"], 16),
        exponent=row["exponent"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        certification=certification,
        next_serial=row["next_serial"],
    )
