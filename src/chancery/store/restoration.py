"""Loading a backup's database parts into a new installation's database.

Whatever the source and the target (SQLite or PostgreSQL, in any combination)
the database is filled in ONE transaction: the schema is created by the
migrations up to the backup's revision, the rows go in, referenced tables
first, the row counts are checked against the manifest, PostgreSQL sequences
are moved past the restored ids, the schema is upgraded to the newest revision
and the restore is audited at the end of the restored chain. PostgreSQL's DDL
is transactional, so a restore killed half-way leaves its database empty; a
SQLite target lives in the restore's temporary directory, which is renamed into
place only once it is complete.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from chancery.domain.backups import SQLITE_PART, TABLE_PART, LoadRequest
from chancery.errors import Conflict, InternalError, Malformed
from chancery.store import backup_rows
from chancery.store.database import Database
from chancery.store.unit_of_work import UnitOfWork

_BATCH = 2000
_MIGRATIONS = Path(__file__).with_name("migrations")


class SqlRestoreTargets:
    """Satisfies :class:`chancery.services.backup.ports.RestoreTargets`."""

    def check_empty(self, database_url: str | None) -> None:
        if database_url is None:
            return
        engine = create_engine(database_url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                names = inspect(conn).get_table_names()
        except SQLAlchemyError as exc:
            raise Conflict(f"cannot open the target database {_safe(database_url)}: {type(exc).__name__}") from None
        finally:
            engine.dispose()
        if names:
            raise Conflict(
                f"the target database {_safe(database_url)} is not empty ({len(names)} tables): restore into a "
                "new, empty database, or pass --force"
            )

    def loader(self, request: LoadRequest) -> SqlDatabaseLoader:
        if not _known_revision(request.schema_revision):
            raise Conflict(
                f"the backup's schema revision {request.schema_revision} is newer than this Chancery knows: "
                "restore it with the Chancery version that made it, or a newer one"
            )
        return SqlDatabaseLoader(request)


class SqlDatabaseLoader:
    """Satisfies :class:`chancery.services.backup.ports.DatabaseLoader`."""

    def __init__(self, request: LoadRequest) -> None:
        self._request = request
        self._target_url = request.database_url or f"sqlite:///{request.workdir / 'chancery.db'}"
        self._snapshot: Path | None = None  # a SQLite source's database file, as it arrives
        self._snapshot_handle: Any = None
        self._database: Database | None = None
        self._conn: Connection | None = None
        self._tables: dict[str, Any] = {}
        self._decoder: backup_rows.TableDecoder | None = None

    def feed(self, part: str, block: bytes) -> None:
        if part == SQLITE_PART and self._request.source_kind == "sqlite":
            self._snapshot_file().write(block)
        elif part.startswith(TABLE_PART) and self._request.source_kind == "postgresql":
            if self._decoder is None:
                self._decoder = backup_rows.TableDecoder()
            self._insert(self._decoder.feed(block))
        else:
            raise Malformed(f"the backup holds an unexpected part {part!r}")

    def end_part(self, part: str) -> None:
        if part.startswith(TABLE_PART) and self._decoder is not None:
            self._insert(self._decoder.close())
            if self._decoder.table != part[len(TABLE_PART) :]:
                raise Malformed(f"the part {part!r} holds rows of table {self._decoder.table!r}")
            self._decoder = None

    def commit(self) -> None:
        try:
            if self._request.source_kind == "sqlite":
                self._load_sqlite_snapshot()
            in_place = self._request.source_kind == "sqlite" and self._request.database_url is None
            conn = self._connection(prepare=not in_place)
            _check_counts(conn, self._request.row_counts)
            _advance_sequences(conn)
            _migrate(conn, "head")
            UnitOfWork(conn).audit.append(list(self._request.audit), self._request.audit_at)
            conn.commit()
        except SQLAlchemyError as exc:
            raise InternalError(f"the restore could not write the database: {type(exc).__name__}") from exc
        finally:
            self._close()
        if self._request.database_url is None:
            _settle_sqlite(self._request.workdir / "chancery.db")

    def abort(self) -> None:
        if self._conn is not None:
            with suppress(SQLAlchemyError):
                self._conn.rollback()
        self._close()

    def discard(self) -> None:
        if self._request.database_url is None:
            return  # the SQLite file goes with the restore's temporary directory
        engine = create_engine(self._request.database_url, poolclass=NullPool)
        try:
            with engine.begin() as conn:
                _drop_everything(conn)
        finally:
            engine.dispose()

    def _snapshot_file(self) -> Any:
        if self._snapshot_handle is None:
            name = "chancery.db" if self._request.database_url is None else ".source-snapshot.db"
            self._snapshot = self._request.workdir / name
            fd = os.open(self._snapshot, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            self._snapshot_handle = os.fdopen(fd, "wb")
        return self._snapshot_handle

    def _connection(self, prepare: bool = True) -> Connection:
        """The target's one transaction; when ``prepare``, with the schema at the backup's revision
        and no rows yet (a SQLite file restored as it was needs no preparing)."""
        if self._conn is None:
            self._database = Database(self._target_url)
            conn = self._database.connect_for_writing()
            conn.begin()
            self._conn = conn
            if not prepare:
                return conn
            existing = inspect(conn).get_table_names()
            if existing and not self._request.replace_existing:
                raise Conflict(f"the target database {_safe(self._target_url)} is not empty")
            if existing:
                _drop_everything(conn)
            _migrate(conn, self._request.schema_revision)
            tables = backup_rows.reflect(conn)
            for table in reversed(tables):
                conn.execute(table.delete())  # rows the migrations seed: the backup brings its own
            self._tables = {t.name: t for t in tables}
        return self._conn

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        assert self._decoder is not None and self._decoder.table is not None
        conn = self._connection()
        table = self._tables.get(self._decoder.table)
        if table is None:
            raise Malformed(f"the backup holds rows of table {self._decoder.table!r}, unknown to its schema")
        for start in range(0, len(rows), _BATCH):
            conn.execute(insert(table), rows[start : start + _BATCH])

    def _load_sqlite_snapshot(self) -> None:
        """A SQLite source: check the copied file; for a server target, copy its rows over."""
        if self._snapshot_handle is None or self._snapshot is None:
            raise Malformed("the backup holds no database")
        self._snapshot_handle.flush()
        os.fsync(self._snapshot_handle.fileno())
        self._snapshot_handle.close()
        source = create_engine(f"sqlite:///{self._snapshot}", poolclass=NullPool)
        try:
            with source.connect() as conn:
                if conn.exec_driver_sql("PRAGMA integrity_check").scalar() != "ok":
                    raise Malformed("the SQLite database in the backup fails its integrity check")
                if self._request.database_url is not None:
                    self._copy_rows(conn)
        finally:
            source.dispose()
        if self._request.database_url is not None:
            self._snapshot.unlink()

    def _copy_rows(self, source: Connection) -> None:
        target = self._connection()
        for table in backup_rows.reflect(source):
            destination = self._tables.get(table.name)
            if destination is None:
                raise Malformed(f"the backup holds table {table.name!r}, unknown to its schema")
            batch: list[dict[str, Any]] = []
            for row in source.execution_options(yield_per=_BATCH).execute(select(table)):
                batch.append(dict(row._mapping))
                if len(batch) == _BATCH:
                    target.execute(insert(destination), batch)
                    batch = []
            if batch:
                target.execute(insert(destination), batch)

    def _close(self) -> None:
        if self._snapshot_handle is not None and not self._snapshot_handle.closed:
            self._snapshot_handle.close()
        if self._conn is not None:
            with suppress(SQLAlchemyError):
                self._conn.close()
            self._conn = None
        if self._database is not None:
            self._database.dispose()
            self._database = None


def _check_counts(conn: Connection, expected: dict[str, int]) -> None:
    tables = backup_rows.reflect(conn)
    actual = backup_rows.row_counts(conn, tables)
    if actual != expected:
        wrong = sorted(k for k in set(actual) | set(expected) if actual.get(k) != expected.get(k))
        raise Malformed(f"the restored database does not match the manifest (tables {', '.join(wrong[:5])})")


def _advance_sequences(conn: Connection) -> None:
    """PostgreSQL: move each serial/identity sequence past the restored ids."""
    if conn.dialect.name != "postgresql":
        return
    for table in backup_rows.reflect(conn):
        for column in table.primary_key.columns:
            sequence = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            ).scalar()
            if sequence:
                conn.execute(
                    text(f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 1), '  # noqa: S608 - reflected names
                         f'(SELECT MAX("{column.name}") FROM "{table.name}") IS NOT NULL)'),
                    {"s": sequence},
                )  # fmt: skip


def _migrate(conn: Connection, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def _known_revision(revision: str) -> bool:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    try:
        return ScriptDirectory.from_config(config).get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown revision
        return False


def _drop_everything(conn: Connection) -> None:
    metadata = MetaData()
    metadata.reflect(bind=conn)
    metadata.drop_all(bind=conn)


def _settle_sqlite(path: Path) -> None:
    """Fold the WAL into the file so the restored database is one file, private to its owner."""
    engine: Engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    for candidate in path.parent.glob(path.name + "*"):
        candidate.chmod(0o600)


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
