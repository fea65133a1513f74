"""Profiles: versioned certificate and subject-DN profiles; certificates record their profile version.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chancery.store.tables import RowId, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("profile_version", sa.Integer, nullable=True))
    op.create_table(
        "profiles",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("subject_profile", sa.String(64), nullable=True),
        sa.Column("subject_version", sa.Integer, nullable=True),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_profiles"),
        sa.UniqueConstraint("name", "version", name="uq_profiles_name_version"),
    )


def downgrade() -> None:
    op.drop_table("profiles")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("profile_version")
