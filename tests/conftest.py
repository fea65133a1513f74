"""Shared fixtures: a fixed clock, a real database (SQLite and PostgreSQL), the wired application.

Every test that takes ``app`` runs twice: on SQLite (a fresh file per test,
copied from a migrated template) and on the PostgreSQL server on 127.0.0.1
(one database per test session, migrated once, truncated after each test).
Set CHANCERY_TEST_DATABASES=sqlite to run only SQLite while iterating.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.audit import GENESIS_HASH
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Principal, local_operator
from chancery.domain.records import CertificateAuthorityRecord
from chancery.services.authority.hierarchy import NewCA
from chancery.settings import Settings, load_settings
from chancery.store import migrate
from chancery.store.database import Database
from chancery.store.tables import audit_head, metadata

# One hour before the session started: certificates are valid "now" for openssl too.
BASE_TIME = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=1)
PASSPHRASE = b"correct horse battery staple"
POSTGRES_ADMIN_URL = os.environ.get(
    "CHANCERY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [b for b in os.environ.get("CHANCERY_TEST_DATABASES", "sqlite,postgresql").split(",") if b]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "chancery.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    with database.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"chancery_test_{os.getpid()}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        target = tmp_path / "data" / "chancery.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # Rows the migrations seed: the audit chain's genesis head.
        conn.execute(audit_head.insert().values(id=1, sequence=0, entry_hash=GENESIS_HASH))
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BASE_TIME)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings({}, data_dir=str(tmp_path / "data"), database_url=database_url, kdf_scrypt_n=2**14)


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Iterator[wiring.Application]:
    application = wiring.build(settings, PASSPHRASE, clock)
    try:
        wiring.initialise(application, local_operator("setup"))
        yield application
    finally:
        application.close()


@pytest.fixture
def admin() -> Principal:
    return local_operator("tester")


@pytest.fixture
def root(app: wiring.Application, admin: Principal) -> CertificateAuthorityRecord:
    return app.hierarchy.create_root(admin, NewCA("root", "CN=Test Root CA,O=Chancery Tests", KeyType.EC_P384))


@pytest.fixture
def issuing(app: wiring.Application, admin: Principal, root: CertificateAuthorityRecord) -> CertificateAuthorityRecord:
    return app.hierarchy.create_intermediate(
        admin, NewCA("issuing", "CN=Test Issuing CA,O=Chancery Tests", KeyType.EC_P256, parent="root")
    )
