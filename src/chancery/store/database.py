"""The engine and transactions.

SQLite runs in WAL mode with ``synchronous=FULL`` (every commit is fsync'd
before it returns), ``foreign_keys=ON`` and a busy timeout; write transactions
start with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the lock
instead of failing on upgrade. PostgreSQL is used as it comes (READ COMMITTED).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from chancery.errors import InternalError
from chancery.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

_SQLITE_BUSY_TIMEOUT_MS = 30_000


class Database:
    """Owns the SQLAlchemy engine; hands out read and write units of work."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            _ensure_sqlite_directory(url)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    @contextmanager
    def read(self) -> Iterator[UnitOfWork]:
        """A read-only unit of work (rolled back at the end)."""
        try:
            with self.engine.connect() as conn:
                with conn.begin() as tx:
                    yield UnitOfWork(conn)
                    tx.rollback()
        except SQLAlchemyError as exc:
            log.exception("database read failed")
            raise InternalError("the database is unavailable") from exc

    @contextmanager
    def write(self) -> Iterator[UnitOfWork]:
        """A write transaction: committed when the block ends normally, rolled back on error."""
        try:
            with self.connect_for_writing() as conn:
                with conn.begin():
                    yield UnitOfWork(conn)
        except SQLAlchemyError as exc:
            log.exception("database write failed")
            raise InternalError("the database is unavailable") from exc

    def connect_for_writing(self) -> Connection:
        conn = self.engine.connect()
        if self.is_sqlite:
            conn = conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
        return conn

    def dispose(self) -> None:
        self.engine.dispose()


def _ensure_sqlite_directory(url: str) -> None:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the driver) decide where transactions begin, so that
        # SAVEPOINT works and writers can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))
