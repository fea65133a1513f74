"""Schema migrations, run by Chancery itself (``chancery init``, start-up).

Alembic is imported only when migrating, so everyday commands start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text

from chancery.store.database import Database

_SCRIPTS = Path(__file__).with_name("migrations")

# The newest revision in migrations/versions (a test checks it against Alembic's view).
HEAD = "0012"


def _config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def upgrade(database: Database) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    from alembic import command

    config = _config()
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def script_head() -> str | None:
    """The head revision as Alembic sees the scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def is_current(database: Database) -> bool:
    """True when the schema is at the newest revision."""
    return current_revision(database) == HEAD
