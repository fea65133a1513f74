"""The database side of the key store's quorum: custodians' shares, and re-keying every sealed blob.

Blobs sealed under the store's secret are the rows of ``sealed_keys`` and every
column named ``*_sealed`` (sealed secrets: TOTP seeds, LDAP and SMTP passwords,
webhook secrets). Re-keying finds them by that convention, so a new sealed column
is re-keyed as long as its name ends in ``_sealed``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Table, and_, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.errors import Conflict
from chancery.keys.custodian_shares import SealedShare
from chancery.keys.quorum import BlobRef, QuorumChange
from chancery.store.database import Database
from chancery.store.tables import keystore_checks, keystore_shares, metadata, sealed_keys

SEALED_SUFFIX = "_sealed"


class SqlQuorumVault:
    """Satisfies :class:`chancery.keys.quorum.QuorumVault`."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    def shares(self) -> tuple[SealedShare, ...]:
        with self._db.read() as uow:
            rows = uow.connection.execute(select(keystore_shares).order_by(keystore_shares.c.share_index)).mappings()
            return tuple(
                SealedShare(
                    custodian=row["custodian"],
                    quorum_id=row["quorum_id"],
                    threshold=row["threshold"],
                    index=row["share_index"],
                    blob=row["blob"],
                )
                for row in rows
            )

    def current_check(self) -> str | None:
        with self._db.read() as uow:
            return _check(uow.connection)

    def sealed_blobs(self) -> dict[BlobRef, str]:
        with self._db.read() as uow:
            return _blobs(uow.connection)

    def install(self, change: QuorumChange, event: AuditEvent, at: dt.datetime) -> None:
        with self._db.write() as uow:
            conn = uow.connection
            if _check(conn, for_update=True) != change.previous_check:
                raise Conflict("the key store was changed meanwhile; nothing was re-keyed")
            if _blobs(conn) != change.originals:
                raise Conflict(
                    "keys or sealed secrets were added, changed or removed while re-keying (is a server running?); "
                    "nothing was re-keyed: stop every Chancery node and run again"
                )
            for ref, blob in change.blobs.items():
                table = metadata.tables[ref.table]
                conn.execute(update(table).where(_where(table, ref.key)).values({ref.column: blob}))
            conn.execute(update(keystore_checks).where(keystore_checks.c.id == 1).values(check_blob=change.check))
            conn.execute(delete(keystore_shares))
            for share in change.shares:
                conn.execute(
                    insert(keystore_shares).values(
                        custodian=share.custodian,
                        quorum_id=share.quorum_id,
                        threshold=share.threshold,
                        share_index=share.index,
                        blob=share.blob,
                        created_at=at,
                    )
                )
            uow.audit.append([event], at)


def _check(conn: Connection, *, for_update: bool = False) -> str | None:
    query = select(keystore_checks.c.check_blob).where(keystore_checks.c.id == 1)
    return conn.execute(query.with_for_update() if for_update else query).scalar()


def sealed_columns() -> list[tuple[Table, Column[str]]]:
    columns: list[tuple[Table, Column[str]]] = [(sealed_keys, sealed_keys.c.blob)]
    for table in metadata.sorted_tables:
        columns.extend((table, column) for column in table.columns if column.name.endswith(SEALED_SUFFIX))
    return columns


def _blobs(conn: Connection) -> dict[BlobRef, str]:
    found: dict[BlobRef, str] = {}
    for table, column in sealed_columns():
        keys = list(table.primary_key.columns)
        for row in conn.execute(select(*keys, column).where(column.is_not(None))):
            *key, blob = row
            found[BlobRef(table.name, tuple(key), column.name)] = blob
    return found


def _where(table: Table, key: tuple[str | int, ...]) -> ColumnElement[bool]:
    return and_(*(column == value for column, value in zip(table.primary_key.columns, key, strict=True)))
