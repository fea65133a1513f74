"""API bearer tokens (hashes only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from chancery.domain.records import ApiTokenRecord
from chancery.store.tables import api_tokens as t


class TokenRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: ApiTokenRecord) -> None:
        self._conn.execute(
            insert(t).values(
                token_id=record.token_id,
                name=record.name,
                secret_sha256=record.secret_sha256,
                roles=",".join(sorted(record.roles)),
                created_at=record.created_at,
                expires_at=record.expires_at,
                revoked_at=record.revoked_at,
                user_name=record.user_name,
                ca_scope=record.ca_scope,
            )
        )

    def get(self, token_id: str) -> ApiTokenRecord | None:
        row = self._conn.execute(select(t).where(t.c.token_id == token_id)).mappings().first()
        return None if row is None else _from_row(row)

    def list(self) -> tuple[ApiTokenRecord, ...]:
        rows = self._conn.execute(select(t).order_by(t.c.created_at)).mappings().all()
        return tuple(_from_row(row) for row in rows)

    def for_user(self, user_name: str) -> tuple[ApiTokenRecord, ...]:
        rows = self._conn.execute(select(t).where(t.c.user_name == user_name)).mappings().all()
        return tuple(_from_row(row) for row in rows)

    def revoke(self, token_id: str, at: dt.datetime) -> bool:
        result = self._conn.execute(
            update(t).where(t.c.token_id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=at)
        )
        return result.rowcount == 1


def _from_row(row: Any) -> ApiTokenRecord:
    return ApiTokenRecord(
        token_id=row["token_id"],
        name=row["name"],
        secret_sha256=row["secret_sha256"],
        roles=frozenset(r for r in row["roles"].split(",") if r),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        user_name=row["user_name"],
        ca_scope=row["ca_scope"],
    )
