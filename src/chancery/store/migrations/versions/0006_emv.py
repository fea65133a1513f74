"""EMV: scheme CA keys and issuer keys with their certification (EMV Book 2).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chancery.store.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "emv_cas",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("rid", sa.String(10), nullable=False),
        sa.Column("key_index", sa.Integer, nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("modulus", sa.Text, nullable=False),
        sa.Column("exponent", sa.Integer, nullable=False),
        sa.Column("next_serial", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_emv_cas"),
        sa.UniqueConstraint("rid", "key_index", name="uq_emv_cas_rid_index"),
    )
    op.create_table(
        "emv_issuers",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("issuer_identifier", sa.String(8), nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("modulus", sa.Text, nullable=False),
        sa.Column("exponent", sa.Integer, nullable=False),
        sa.Column("next_serial", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("ca_rid", sa.String(10), nullable=True),
        sa.Column("ca_index", sa.Integer, nullable=True),
        sa.Column("certificate", sa.Text, nullable=True),
        sa.Column("remainder", sa.Text, nullable=True),
        sa.Column("certificate_exponent", sa.Text, nullable=True),
        sa.Column("expiry", sa.String(4), nullable=True),
        sa.Column("serial", sa.String(6), nullable=True),
        sa.Column("certified_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_emv_issuers"),
    )


def downgrade() -> None:
    op.drop_table("emv_issuers")
    op.drop_table("emv_cas")
