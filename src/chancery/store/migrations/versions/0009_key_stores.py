"""Key stores: the PKCS#11 configuration (never the PIN) and the keys Chancery uses in the token.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chancery.store.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pkcs11_settings",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("module", sa.Text, nullable=False),
        sa.Column("token_label", sa.String(32), nullable=True),
        sa.Column("slot", sa.BigInteger, nullable=True),
        sa.Column("pin_kind", sa.String(8), nullable=False),
        sa.Column("pin_reference", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pkcs11_settings"),
    )
    op.create_table(
        "hsm_keys",
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("label", sa.String(256), nullable=False),
        sa.Column("key_type", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("public_key_der", sa.LargeBinary, nullable=False),
        sa.Column("adopted", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_hsm_keys"),
    )


def downgrade() -> None:
    op.drop_table("hsm_keys")
    op.drop_table("pkcs11_settings")
