"""SQLite: certificate times written by the fast insert path get SQLAlchemy's text form.

Before this revision the executemany path (store/fast_statements.py) stored whole-second
times as 'YYYY-MM-DD HH:MM:SS' where SQLAlchemy writes 'YYYY-MM-DD HH:MM:SS.000000';
SQLite compares the text, so a filter at exactly such a second could miss a row. PostgreSQL
stores timestamps, not text: nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = {
    "certificates": ("not_before", "not_after", "created_at", "revoked_at", "invalidity_date"),
    "audit_log": ("occurred_at",),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in _COLUMNS.items():
        for column in columns:
            op.execute(
                f"UPDATE {table} SET {column} = {column} || '.000000' "  # noqa: S608 - fixed names above
                f"WHERE {column} IS NOT NULL AND length({column}) = 19"
            )


def downgrade() -> None:
    pass  # the longer form is what SQLAlchemy itself writes
