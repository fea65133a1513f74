"""Cluster-wide locks for work that must run once: PostgreSQL advisory locks, or a file lock
beside the SQLite database (which only nodes on one machine can share anyway)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from chancery.store.database import Database


class DatabaseLock:
    """Satisfies :class:`chancery.services.ports.ClusterLock`."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._local: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, name: str) -> Iterator[bool]:
        local = self._local_lock(name)
        if not local.acquire(blocking=False):  # another thread of this process has it
            yield False
            return
        try:
            if self._db.is_sqlite:
                with self._file_lock(name) as held:
                    yield held
            else:
                with self._advisory_lock(name) as held:
                    yield held
        finally:
            local.release()

    def _local_lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._local.setdefault(name, threading.Lock())

    @contextmanager
    def _advisory_lock(self, name: str) -> Iterator[bool]:
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with self._db.engine.connect() as conn:
            held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield held
            finally:
                if held:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()

    @contextmanager
    def _file_lock(self, name: str) -> Iterator[bool]:
        database_file = Path(self._db.url.split("///", 1)[1])
        safe = hashlib.sha256(name.encode()).hexdigest()[:16]
        path = database_file.with_name(f"{database_file.name}.lock-{safe}")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
