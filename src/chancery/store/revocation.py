"""Revocation state: per-CA settings, revocation events, published CRLs, delegated responders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from chancery.domain.revocation_records import (
    CrlRecord,
    CrlScope,
    OcspSigning,
    ResponderRecord,
    RevocationEvent,
    RevocationSettings,
)
from chancery.store.tables import crls, ocsp_responders, revocation_events, revocation_settings


class RevocationSettingsRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, ca_name: str) -> RevocationSettings | None:
        row = self._conn.execute(select(revocation_settings).where(revocation_settings.c.ca_name == ca_name)).first()
        if row is None:
            return None
        return RevocationSettings(
            ca_name=row.ca_name,
            crl_validity=row.crl_validity,
            delta_validity=row.delta_validity,
            partitions=row.partitions,
            ocsp_validity=row.ocsp_validity,
            ocsp_signing=OcspSigning(row.ocsp_signing),
        )

    def put(self, settings: RevocationSettings) -> None:
        self._conn.execute(delete(revocation_settings).where(revocation_settings.c.ca_name == settings.ca_name))
        self._conn.execute(
            insert(revocation_settings).values(
                ca_name=settings.ca_name,
                crl_validity=settings.crl_validity,
                delta_validity=settings.delta_validity,
                partitions=settings.partitions,
                ocsp_validity=settings.ocsp_validity,
                ocsp_signing=settings.ocsp_signing.value,
            )
        )


class RevocationEventRepository:
    """Append-only record of revocations and released holds, for delta CRLs and OCSP caches."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_many(self, events: list[dict[str, Any]]) -> None:
        """Rows with ca_name, serial, crl_entry, occurred_at."""
        if events:
            self._conn.execute(insert(revocation_events), events)

    def latest_id(self, ca_name: str | None = None) -> int:
        query = select(func.max(revocation_events.c.id))
        if ca_name is not None:
            query = query.where(revocation_events.c.ca_name == ca_name)
        return int(self._conn.execute(query).scalar() or 0)

    def since(self, after_id: int, ca_name: str | None = None, limit: int = 100_000) -> list[RevocationEvent]:
        """Events after ``after_id`` (of one CA, or all), oldest first."""
        query = select(revocation_events).where(revocation_events.c.id > after_id)
        if ca_name is not None:
            query = query.where(revocation_events.c.ca_name == ca_name)
        rows = self._conn.execute(query.order_by(revocation_events.c.id).limit(limit)).all()
        return [
            RevocationEvent(
                event_id=row.id,
                ca_name=row.ca_name,
                serial=row.serial,
                crl_entry=row.crl_entry,
                occurred_at=row.occurred_at,
            )
            for row in rows
        ]


class CrlRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: CrlRecord) -> None:
        self._conn.execute(
            insert(crls).values(
                ca_name=record.ca_name,
                scope=record.scope.value,
                partition=record.partition,
                crl_number=record.crl_number,
                this_update=record.this_update,
                next_update=record.next_update,
                der=record.der,
                last_event_id=record.last_event_id,
                base_crl_number=record.base_crl_number,
            )
        )

    def latest(self, ca_name: str, scope: CrlScope, partition: int = -1) -> CrlRecord | None:
        row = self._conn.execute(
            select(crls)
            .where(crls.c.ca_name == ca_name, crls.c.scope == scope.value, crls.c.partition == partition)
            .order_by(crls.c.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return CrlRecord(
            ca_name=row.ca_name,
            scope=CrlScope(row.scope),
            partition=row.partition,
            crl_number=row.crl_number,
            this_update=row.this_update,
            next_update=row.next_update,
            der=row.der,
            last_event_id=row.last_event_id,
            base_crl_number=row.base_crl_number,
        )

    def highest_number(self, ca_name: str) -> int:
        """The largest CRL number the CA used, across all its CRLs (RFC 5280 §5.2.3: one sequence)."""
        return int(
            self._conn.execute(select(func.max(crls.c.crl_number)).where(crls.c.ca_name == ca_name)).scalar() or 0
        )

    def prune(self, ca_name: str, keep: int = 10) -> None:
        """Forget all but the newest ``keep`` CRLs of each scope and partition of a CA."""
        newest = (
            select(crls.c.id)
            .where(crls.c.ca_name == ca_name)
            .order_by(crls.c.id.desc())
            .limit(keep * 4)
            .scalar_subquery()
        )
        self._conn.execute(delete(crls).where(crls.c.ca_name == ca_name, crls.c.id.not_in(newest)))


class ResponderRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def current(self, ca_name: str) -> ResponderRecord | None:
        row = self._conn.execute(
            select(ocsp_responders)
            .where(ocsp_responders.c.ca_name == ca_name)
            .order_by(ocsp_responders.c.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return ResponderRecord(
            ca_name=row.ca_name,
            key_id=row.key_id,
            certificate=row.certificate,
            not_after=row.not_after,
            created_at=row.created_at,
        )

    def add(self, record: ResponderRecord) -> None:
        self._conn.execute(
            insert(ocsp_responders).values(
                ca_name=record.ca_name,
                key_id=record.key_id,
                certificate=record.certificate,
                not_after=record.not_after,
                created_at=record.created_at,
            )
        )


def iterate_column(conn: Connection, statement: Any, batch: int = 10_000) -> Iterator[Any]:
    """The first column of every row, fetched in batches (a million rows never sit in memory as row objects)."""
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(statement)
    for partition in result.partitions(batch):
        for row in partition:
            yield row[0]
