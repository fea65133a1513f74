"""Schema migrations, run by Chancery itself (``chancery init``, start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from chancery.store.database import Database

_SCRIPTS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def upgrade(database: Database) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    config = _config()
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def is_current(database: Database) -> bool:
    """True when the schema is at the newest revision."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with database.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head
