"""Named policy values an administrator sets at run time (dual control, lockout...)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from chancery.store.tables import policies


class PolicyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, name: str) -> str | None:
        return self._conn.execute(select(policies.c.value).where(policies.c.name == name)).scalar()

    def all(self) -> dict[str, str]:
        return {row.name: row.value for row in self._conn.execute(select(policies.c.name, policies.c.value))}

    def put(self, name: str, value: str, at: dt.datetime, by: str) -> None:
        values = {"value": value, "updated_at": at, "updated_by": by}
        if self._conn.execute(update(policies).where(policies.c.name == name).values(**values)).rowcount == 0:
            self._conn.execute(insert(policies).values(name=name, **values))
