"""Consistent snapshots of the live database for ``chancery backup create``.

SQLite: the online-backup API (``sqlite3.Connection.backup``, one step, so the
copy is one read transaction: writers carry on in WAL mode and the copy never
restarts) into a private file beside the database, streamed as the part
``database/sqlite`` and deleted. PostgreSQL: every table read in ONE
``REPEATABLE READ READ ONLY`` transaction (one snapshot of the whole database),
each as a part ``database/table/<name>`` of JSON lines (``store.backup_rows``),
referenced tables first.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
from contextlib import suppress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from chancery.domain.backups import (
    SQLITE_PART,
    TABLE_PART,
    ExpectedHsmKey,
    PartSink,
    Progress,
    SnapshotInfo,
    StoredKey,
)
from chancery.domain.keystores import KeyLocation, location_of
from chancery.store import backup_rows
from chancery.store.database import Database
from chancery.store.tables import authorities, hsm_keys, sealed_keys

_FILE_BLOCK = 1024 * 1024


class SqlDatabaseSnapshots:
    """Satisfies :class:`chancery.services.backup.ports.DatabaseSnapshots`."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def snapshot(self, sink: PartSink, progress: Progress) -> SnapshotInfo:
        if self._db.is_sqlite:
            return self._sqlite(sink, progress)
        return self._postgresql(sink, progress)

    def _sqlite(self, sink: PartSink, progress: Progress) -> SnapshotInfo:
        source = Path(self._db.engine.url.database or "")
        copy = source.parent / f".chancery-backup-{secrets.token_hex(6)}.db"
        try:
            fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            progress.start("snapshot of the SQLite database", None)
            raw = self._db.engine.raw_connection()
            try:
                target = sqlite3.connect(copy)
                try:
                    raw.driver_connection.backup(target)  # type: ignore[union-attr]
                finally:
                    target.close()
            finally:
                raw.close()
            progress.done()
            engine = create_engine(f"sqlite:///{copy}", poolclass=NullPool)
            try:
                with engine.connect() as conn:
                    info = describe(conn, "sqlite")
            finally:
                engine.dispose()
            _stream_file(copy, sink, progress)
            return info
        finally:
            for leftover in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm"), Path(f"{copy}-journal")):
                with suppress(FileNotFoundError):
                    leftover.unlink()

    def _postgresql(self, sink: PartSink, progress: Progress) -> SnapshotInfo:
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        with self._db.engine.connect() as raw:
            conn = raw.execution_options(**options)
            with conn.begin():
                info = describe(conn, "postgresql")
                progress.start("rows of the PostgreSQL database", sum(info.row_counts.values()))
                for table in backup_rows.reflect(conn):
                    for block, rows in backup_rows.encode_table(conn, table):
                        sink(TABLE_PART + table.name, block)
                        progress.advance(rows)
                progress.done()
        return info


def describe(conn: Connection, kind: str) -> SnapshotInfo:
    """Row counts, schema revision, sealed keys and expected HSM keys, read on ``conn`` (one snapshot)."""
    tables = backup_rows.reflect(conn)
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    stored = tuple(
        StoredKey(r.key_id, r.key_type, r.purpose)
        for r in conn.execute(
            select(sealed_keys.c.key_id, sealed_keys.c.key_type, sealed_keys.c.purpose).order_by(sealed_keys.c.key_id)
        )
    )
    hsm = _hsm_keys(conn, {t.name for t in tables})
    return SnapshotInfo(kind, str(revision), backup_rows.row_counts(conn, tables), stored, hsm)


def _hsm_keys(conn: Connection, table_names: set[str]) -> tuple[ExpectedHsmKey, ...]:
    """Keys in the token that the CAs use: from the HSM key registry (labels, public keys) where the
    schema has one, else from the CAs' ``pkcs11:`` key ids and their certificates."""
    users: dict[str, list[str]] = {}
    fallback: dict[str, ExpectedHsmKey] = {}
    columns = (authorities.c.name, authorities.c.key_id, authorities.c.key_type, authorities.c.certificate)
    for r in conn.execute(select(*columns, authorities.c.csr).order_by(authorities.c.name)):
        if location_of(r.key_id) is KeyLocation.PKCS11:
            users.setdefault(r.key_id, []).append(r.name)
            digest = _public_key_sha256(r.certificate, r.csr)
            fallback[r.key_id] = ExpectedHsmKey(r.name, r.key_id, "", r.key_type, digest)
    if "hsm_keys" not in table_names:
        return tuple(fallback.values())
    registry = hsm_keys.c
    rows = conn.execute(
        select(registry.key_id, registry.label, registry.key_type, registry.purpose, registry.public_key_der).order_by(
            registry.key_id
        )
    )
    return tuple(
        ExpectedHsmKey(
            ", ".join(users.get(r.key_id, [])) or r.purpose,
            r.key_id,
            r.label,
            r.key_type,
            hashlib.sha256(r.public_key_der).hexdigest(),
        )
        for r in rows
    )


def _public_key_sha256(certificate: bytes | None, csr: bytes | None) -> str:
    """SHA-256 of the SubjectPublicKeyInfo DER of the CA's certificate (or CSR); "" if it has neither."""
    try:
        if certificate:
            key = x509.load_der_x509_certificate(certificate).public_key()
        elif csr:
            key = x509.load_der_x509_csr(csr).public_key()
        else:
            return ""
    except ValueError:
        return ""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def _stream_file(path: Path, sink: PartSink, progress: Progress) -> None:
    progress.start("database snapshot", path.stat().st_size)
    with path.open("rb") as handle:
        while block := handle.read(_FILE_BLOCK):
            sink(SQLITE_PART, block)
            progress.advance(len(block))
    progress.done()
