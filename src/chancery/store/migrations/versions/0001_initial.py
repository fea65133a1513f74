"""Initial schema: CAs, certificates, API tokens, trust anchors, sealed keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chancery.store.tables import RowId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authorities",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("key_type", sa.String(16), nullable=False),
        sa.Column("parent_name", sa.String(64), nullable=True),
        sa.Column("certificate", sa.LargeBinary, nullable=True),
        sa.Column("chain_b64", sa.Text, nullable=False),
        sa.Column("csr", sa.LargeBinary, nullable=True),
        sa.Column("path_length", sa.Integer, nullable=True),
        sa.Column("not_after", UTCDateTime, nullable=True),
        sa.Column("crl_url", sa.Text, nullable=False),
        sa.Column("ocsp_url", sa.Text, nullable=False),
        sa.Column("ca_issuers_url", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_authorities"),
        sa.UniqueConstraint("name", name="uq_authorities_name"),
    )
    op.create_table(
        "certificates",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("ca_name", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("sans", sa.Text, nullable=False),
        sa.Column("not_before", UTCDateTime, nullable=False),
        sa.Column("not_after", UTCDateTime, nullable=False),
        sa.Column("public_key_sha256", sa.String(64), nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=True),
        sa.Column("key_id", sa.String(80), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("revocation_reason", sa.Integer, nullable=True),
        sa.Column("invalidity_date", UTCDateTime, nullable=True),
        sa.Column("renewal_of", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_certificates"),
        sa.ForeignKeyConstraint(["ca_name"], ["authorities.name"], name="fk_certificates_ca_name_authorities"),
        sa.UniqueConstraint("ca_name", "serial", name="uq_certificates_ca_name_serial"),
    )
    op.create_index("ix_certificates_ca_name_state", "certificates", ["ca_name", "state"])
    op.create_index("ix_certificates_not_after", "certificates", ["not_after"])
    op.create_index("ix_certificates_public_key_sha256", "certificates", ["public_key_sha256"])
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("token_id", name="pk_api_tokens"),
    )
    op.create_table(
        "trust_anchors",
        sa.Column("fingerprint_sha256", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("fingerprint_sha256", name="pk_trust_anchors"),
    )
    op.create_table(
        "sealed_keys",
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("key_type", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("blob", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_sealed_keys"),
    )
    op.create_table(
        "keystore_checks",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("check_blob", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_keystore_checks"),
    )


def downgrade() -> None:
    for table in ("keystore_checks", "sealed_keys", "trust_anchors", "api_tokens", "certificates", "authorities"):
        op.drop_table(table)
