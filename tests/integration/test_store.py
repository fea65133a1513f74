"""The store against real databases: migrations, group commit, time zones."""

import datetime as dt
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from chancery import wiring
from chancery.domain.audit import AuditEvent
from chancery.domain.principals import local_operator
from chancery.domain.queries import AuditFilter
from chancery.errors import Conflict, InternalError
from chancery.store import migrate
from chancery.store.audit import AuditRepository
from chancery.store.database import Database
from chancery.store.group_commit import GroupCommitWriter
from chancery.store.tables import metadata
from chancery.store.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration


def test_migrations_match_the_tables(app: wiring.Application) -> None:
    assert migrate.is_current(app.database)
    with app.database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_head_constant_matches_the_migration_scripts() -> None:
    assert migrate.script_head() == migrate.HEAD


def test_upgrade_is_idempotent(app: wiring.Application) -> None:
    migrate.upgrade(app.database)
    assert migrate.is_current(app.database)


def test_group_commit_isolates_a_failing_item(app: wiring.Application) -> None:
    writer = GroupCommitWriter(app.database)
    gate = threading.Event()
    started = threading.Event()

    def slow(uow: UnitOfWork) -> str:
        started.set()
        gate.wait(5)
        return "slow"

    def insert(name: str):  # type: ignore[no-untyped-def]
        def work(uow: UnitOfWork) -> str:
            uow.connection.execute(
                text("INSERT INTO keystore_checks (id, check_blob) VALUES (:i, :b)"), {"i": 100 + len(name), "b": name}
            )
            return name

        return work

    def fail(uow: UnitOfWork) -> str:
        raise Conflict("this one fails")

    try:
        first = writer.submit(slow)  # holds the writer so the next three form one batch
        started.wait(5)
        futures = [writer.submit(insert("a")), writer.submit(fail), writer.submit(insert("bbb"))]
        gate.set()
        assert first.result(5) == "slow"
        assert futures[0].result(5) == "a"
        with pytest.raises(Conflict):
            futures[1].result(5)
        assert futures[2].result(5) == "bbb"
        with app.database.read() as uow:
            rows = (
                uow.connection.execute(text("SELECT check_blob FROM keystore_checks WHERE id > 100 ORDER BY id"))
                .scalars()
                .all()
            )
        assert rows == ["a", "bbb"]
    finally:
        writer.close()
    with pytest.raises(InternalError):
        writer.submit(slow)


def test_times_come_back_as_utc(app: wiring.Application) -> None:
    with app.database.read() as uow:
        record = uow.tokens.list()[0]
    assert record.created_at.tzinfo == dt.timezone.utc
    assert record.created_at == app.clock.now()


def test_database_outage_is_an_internal_error() -> None:
    database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(InternalError, match="unavailable"):
        with database.read() as uow:
            uow.authorities.list()
    database.dispose()


def test_the_fast_insert_path_stores_times_as_sqlalchemy_does(app: wiring.Application, issuing: object) -> None:
    """Whole-second times written by executemany compare like those SQLAlchemy writes (SQLite text)."""
    at = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    with app.database.engine.begin() as conn:
        AuditRepository(conn).append([AuditEvent("test.fast", "tester")], at)
    found = app.audit.search(
        local_operator("t"), AuditFilter(action="test.fast", since=at, until=at + dt.timedelta(seconds=1)), 10
    )
    assert [e.occurred_at for e in found] == [at]
