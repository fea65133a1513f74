"""SCEP services, one-time challenges, enrollment transactions and seen nonces."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chancery.domain.scep import ChallengeRecord, ScepService, ScepTransaction
from chancery.errors import Conflict
from chancery.store.tables import scep_challenges as challenges
from chancery.store.tables import scep_nonces as nonces
from chancery.store.tables import scep_services as services
from chancery.store.tables import scep_transactions as transactions


class ScepRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- services ----------------------------------------------------------------------------

    def save_service(self, service: ScepService) -> None:
        """Insert or replace ``service``; when it is the default, no other one stays default."""
        values = {
            "profile": service.profile,
            "key_id": service.key_id,
            "certificate": service.certificate,
            "is_default": service.is_default,
            "allow_3des": service.allow_3des,
            "allow_des": service.allow_des,
            "next_ca": service.next_ca,
            "full_chain": service.full_chain,
            "created_at": service.created_at,
            "created_by": service.created_by,
        }
        if service.is_default:
            self._conn.execute(update(services).where(services.c.ra != service.ra).values(is_default=False))
        if self._conn.execute(update(services).where(services.c.ra == service.ra).values(**values)).rowcount == 0:
            self._conn.execute(insert(services).values(ra=service.ra, **values))

    def service(self, ra: str) -> ScepService | None:
        row = self._conn.execute(select(services).where(services.c.ra == ra)).mappings().first()
        return None if row is None else _service(row)

    def default_service(self) -> ScepService | None:
        row = self._conn.execute(select(services).where(services.c.is_default.is_(True))).mappings().first()
        return None if row is None else _service(row)

    def list_services(self) -> tuple[ScepService, ...]:
        return tuple(_service(row) for row in self._conn.execute(select(services).order_by(services.c.ra)).mappings())

    # -- challenges --------------------------------------------------------------------------

    def add_challenges(self, records: list[ChallengeRecord]) -> None:
        self._conn.execute(
            insert(challenges),
            [
                {
                    "digest": r.digest,
                    "ra": r.ra,
                    "subject_pattern": r.subject_pattern,
                    "expires_at": r.expires_at,
                    "used_at": None,
                    "created_at": r.created_at,
                    "created_by": r.created_by,
                }
                for r in records
            ],
        )

    def challenge(self, digest: str) -> ChallengeRecord | None:
        row = self._conn.execute(select(challenges).where(challenges.c.digest == digest)).mappings().first()
        return None if row is None else _challenge(row)

    def use_challenge(self, digest: str, now: dt.datetime) -> bool:
        """Mark the challenge used; False when another transaction used it first."""
        claimed = self._conn.execute(
            update(challenges).where(challenges.c.digest == digest, challenges.c.used_at.is_(None)).values(used_at=now)
        )
        return claimed.rowcount == 1

    def count_open_challenges(self, ra: str, now: dt.datetime) -> int:
        rows = self._conn.execute(
            select(challenges.c.digest).where(
                challenges.c.ra == ra, challenges.c.used_at.is_(None), challenges.c.expires_at > now
            )
        ).all()
        return len(rows)

    # -- transactions and nonces -------------------------------------------------------------

    def add_transaction(self, record: ScepTransaction, replace: bool = False) -> None:
        """Raise :class:`Conflict` when the RA already knows the transaction ID (unless ``replace``)."""
        if replace:
            self._conn.execute(
                delete(transactions).where(
                    transactions.c.ra == record.ra, transactions.c.transaction_id == record.transaction_id
                )
            )
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    insert(transactions).values(
                        ra=record.ra,
                        transaction_id=record.transaction_id,
                        key_digest=record.key_digest,
                        request_id=record.request_id,
                        message_type=record.message_type,
                        created_at=record.created_at,
                    )
                )
        except IntegrityError:
            raise Conflict(f"transaction {record.transaction_id!r} is already known") from None

    def transaction(self, ra: str, transaction_id: str) -> ScepTransaction | None:
        row = (
            self._conn.execute(
                select(transactions).where(transactions.c.ra == ra, transactions.c.transaction_id == transaction_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return ScepTransaction(
            ra=row["ra"],
            transaction_id=row["transaction_id"],
            key_digest=row["key_digest"],
            request_id=row["request_id"],
            created_at=row["created_at"],
            message_type=row["message_type"],
        )

    def note_nonce(self, ra: str, nonce: str, now: dt.datetime) -> bool:
        """Record a senderNonce; False when it was seen before (a replay)."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(nonces).values(ra=ra, nonce=nonce, seen_at=now, repeatable=False))
        except IntegrityError:
            return False
        return True

    def allow_repeat(self, ra: str, nonce: str) -> None:
        self._conn.execute(update(nonces).where(nonces.c.ra == ra, nonces.c.nonce == nonce).values(repeatable=True))

    def repeatable(self, ra: str, nonce: str) -> bool:
        row = self._conn.execute(select(nonces.c.repeatable).where(nonces.c.ra == ra, nonces.c.nonce == nonce)).first()
        return row is not None and bool(row.repeatable)

    def sweep(
        self, challenges_before: dt.datetime, nonces_before: dt.datetime, transactions_before: dt.datetime
    ) -> int:
        """Forget challenges that expired, nonces seen and transactions begun before the cut-offs."""
        removed = self._conn.execute(delete(challenges).where(challenges.c.expires_at <= challenges_before)).rowcount
        removed += self._conn.execute(delete(nonces).where(nonces.c.seen_at <= nonces_before)).rowcount
        removed += self._conn.execute(
            delete(transactions).where(transactions.c.created_at <= transactions_before)
        ).rowcount
        return int(removed)


def _service(row: Any) -> ScepService:
    return ScepService(
        ra=row["ra"],
        profile=row["profile"],
        key_id=row["key_id"],
        certificate=bytes(row["certificate"]),
        is_default=bool(row["is_default"]),
        allow_3des=bool(row["allow_3des"]),
        allow_des=bool(row["allow_des"]),
        next_ca=row["next_ca"],
        full_chain=bool(row["full_chain"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
    )


def _challenge(row: Any) -> ChallengeRecord:
    return ChallengeRecord(
        digest=row["digest"],
        ra=row["ra"],
        subject_pattern=row["subject_pattern"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
        created_at=row["created_at"],
        created_by=row["created_by"],
    )
