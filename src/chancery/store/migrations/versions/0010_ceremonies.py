"""Key ceremonies: enrolled custodians (Argon2id verifiers of their passphrases) and, when the
software key store requires a quorum, each custodian's sealed share of its secret.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chancery.store.tables import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custodians",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("verifier", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_custodians"),
    )
    op.create_table(
        "keystore_shares",
        sa.Column("custodian", sa.String(32), nullable=False),
        sa.Column("quorum_id", sa.String(32), nullable=False),
        sa.Column("threshold", sa.Integer, nullable=False),
        sa.Column("share_index", sa.Integer, nullable=False),
        sa.Column("blob", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("custodian", name="pk_keystore_shares"),
        sa.ForeignKeyConstraint(["custodian"], ["custodians.name"], name="fk_keystore_shares_custodian_custodians"),
    )


def downgrade() -> None:
    op.drop_table("keystore_shares")
    op.drop_table("custodians")
