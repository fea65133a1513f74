"""Alembic environment: Chancery passes its own connection (see chancery.store.migrate)."""

from __future__ import annotations

from alembic import context

from chancery.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `chancery init` or chancery.store.migrate.upgrade()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
