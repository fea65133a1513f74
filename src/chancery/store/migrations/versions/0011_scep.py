"""SCEP: the RAs that answer SCEP (RA certificate, cipher policy), one-time challenges (digests only),
enrollment transactions and the senderNonces already seen (replay detection).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chancery.store.tables import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scep_services",
        sa.Column("ra", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("certificate", sa.LargeBinary, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("allow_3des", sa.Boolean, nullable=False),
        sa.Column("allow_des", sa.Boolean, nullable=False),
        sa.Column("next_ca", sa.String(64), nullable=True),
        sa.Column("full_chain", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("ra", name="pk_scep_services"),
        sa.ForeignKeyConstraint(["ra"], ["registration_authorities.name"], name="fk_scep_services_ra"),
    )
    op.create_table(
        "scep_challenges",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("ra", sa.String(64), nullable=False),
        sa.Column("subject_pattern", sa.String(256), nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_scep_challenges"),
    )
    op.create_index("ix_scep_challenges_expires_at", "scep_challenges", ["expires_at"])
    op.create_table(
        "scep_transactions",
        sa.Column("ra", sa.String(64), nullable=False),
        sa.Column("transaction_id", sa.String(128), nullable=False),
        sa.Column("key_digest", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(19), nullable=False),
        sa.Column("message_type", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("ra", "transaction_id", name="pk_scep_transactions"),
    )
    op.create_index("ix_scep_transactions_created_at", "scep_transactions", ["created_at"])
    op.create_table(
        "scep_nonces",
        sa.Column("ra", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
        sa.Column("repeatable", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("ra", "nonce", name="pk_scep_nonces"),
    )
    op.create_index("ix_scep_nonces_seen_at", "scep_nonces", ["seen_at"])


def downgrade() -> None:
    op.drop_table("scep_nonces")
    op.drop_table("scep_transactions")
    op.drop_table("scep_challenges")
    op.drop_table("scep_services")
