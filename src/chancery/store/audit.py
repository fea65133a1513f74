"""The audit log: appended in the caller's transaction, hash-chained, with signed checkpoints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from chancery.domain.audit import AuditCheckpoint, AuditEvent, AuditRecord, canonical_details, entry_hash
from chancery.domain.queries import AuditFilter
from chancery.errors import InternalError
from chancery.store.fast_statements import FastStatement, FastStatements
from chancery.store.tables import audit_checkpoints, audit_head, audit_log

_HEAD = select(audit_head.c.sequence, audit_head.c.entry_hash).where(audit_head.c.id == 1)
# Every issuance appends an entry: these statements are on the hot path, built once
# (and the two writes executed through fast_statements).
_HEAD_LOCKED = _HEAD.with_for_update()
_MOVE_HEAD = (
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(sequence=bindparam("head_sequence"), entry_hash=bindparam("head_hash"))
)
_ROW_KEYS = tuple(c.key for c in audit_log.columns)
_FAST_INSERT = FastStatements(lambda dialect: FastStatement(insert(audit_log), audit_log, dialect, _ROW_KEYS))
_FAST_MOVE_HEAD = FastStatements(
    lambda dialect: FastStatement(_MOVE_HEAD, audit_head, dialect, ("head_sequence", "head_hash"))
)


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def append(self, events: list[AuditEvent], at: dt.datetime) -> list[AuditRecord]:
        """Chain ``events`` after the newest entry and insert them, in this transaction.

        The head row is locked (``FOR UPDATE`` on PostgreSQL; SQLite has one writer), so
        concurrent transactions chain one after the other. If this transaction fails,
        the entries go with it, and so does the change they record (fail closed).
        """
        if not events:
            return []
        head = self._conn.execute(_HEAD_LOCKED).first()
        if head is None:
            raise InternalError("the audit log has no head row; the schema is damaged")
        sequence, previous = int(head.sequence), head.entry_hash
        records = []
        for event in events:
            sequence += 1
            details = canonical_details(event.details)
            digest = entry_hash(
                sequence, at, event.action, event.actor, event.outcome.value, event.ca, event.target, details, previous
            )
            records.append(
                AuditRecord(
                    sequence=sequence,
                    occurred_at=at,
                    action=event.action,
                    actor=event.actor,
                    outcome=event.outcome.value,
                    ca=event.ca,
                    target=event.target,
                    details_json=details,
                    previous_hash=previous,
                    entry_hash=digest,
                )
            )
            previous = digest
        _FAST_INSERT.for_connection(self._conn).execute_many(self._conn, [_row(r) for r in records])
        moved = _FAST_MOVE_HEAD.for_connection(self._conn).execute_many(
            self._conn, [{"head_sequence": sequence, "head_hash": previous}]
        )
        if moved != 1:
            raise InternalError("the audit log's head row could not be moved")
        return records

    def head(self) -> tuple[int, str]:
        row = self._conn.execute(_HEAD).first()
        return (0, "0" * 64) if row is None else (int(row.sequence), row.entry_hash)

    def entries(self, after: int = 0, batch: int = 5000) -> Iterator[AuditRecord]:
        """Every entry after ``after``, in order, read in batches."""
        while True:
            query = select(audit_log).where(audit_log.c.sequence > after).order_by(audit_log.c.sequence).limit(batch)
            rows = self._conn.execute(query).mappings().all()
            if not rows:
                return
            for row in rows:
                yield _record(row)
            after = rows[-1]["sequence"]

    def search(self, query: AuditFilter, limit: int) -> list[AuditRecord]:
        """Newest first, below ``query.before`` (a sequence number) when given."""
        t = audit_log
        statement = select(t).order_by(t.c.sequence.desc()).limit(limit)
        conditions = []
        if query.before is not None:
            conditions.append(t.c.sequence < query.before)
        if query.action is not None:
            conditions.append(t.c.action.startswith(query.action, autoescape=True))
        if query.actor is not None:
            conditions.append(t.c.actor == query.actor)
        if query.ca is not None:
            conditions.append(t.c.ca == query.ca)
        if query.target is not None:
            conditions.append(t.c.target == query.target)
        if query.since is not None:
            conditions.append(t.c.occurred_at >= query.since)
        if query.until is not None:
            conditions.append(t.c.occurred_at < query.until)
        if conditions:
            statement = statement.where(*conditions)
        return [_record(row) for row in self._conn.execute(statement).mappings()]

    def add_checkpoint(self, checkpoint: AuditCheckpoint) -> None:
        self._conn.execute(
            insert(audit_checkpoints).values(
                sequence=checkpoint.sequence,
                entry_hash=checkpoint.entry_hash,
                signed_at=checkpoint.signed_at,
                key_id=checkpoint.key_id,
                signature=checkpoint.signature,
            )
        )

    def checkpoints(self) -> list[AuditCheckpoint]:
        rows = self._conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.sequence)).mappings()
        return [
            AuditCheckpoint(r["sequence"], r["entry_hash"], r["signed_at"], r["key_id"], bytes(r["signature"]))
            for r in rows
        ]

    def latest_checkpoint(self) -> AuditCheckpoint | None:
        row = (
            self._conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.sequence.desc()).limit(1))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return AuditCheckpoint(
            row["sequence"], row["entry_hash"], row["signed_at"], row["key_id"], bytes(row["signature"])
        )


def _row(record: AuditRecord) -> dict[str, Any]:
    return {
        "sequence": record.sequence,
        "occurred_at": record.occurred_at,
        "action": record.action,
        "actor": record.actor,
        "outcome": record.outcome,
        "ca": record.ca,
        "target": record.target,
        "details": record.details_json,
        "previous_hash": record.previous_hash,
        "entry_hash": record.entry_hash,
    }


def _record(row: Any) -> AuditRecord:
    return AuditRecord(
        sequence=row["sequence"],
        occurred_at=row["occurred_at"],
        action=row["action"],
        actor=row["actor"],
        outcome=row["outcome"],
        ca=row["ca"],
        target=row["target"],
        details_json=row["details"],
        previous_hash=row["previous_hash"],
        entry_hash=row["entry_hash"],
    )
