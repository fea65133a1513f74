"""ACME (RFC 8555): directories, external account binding keys, accounts, orders, authorizations,
challenges, consumed nonces and the names issued (for rate limits); the validity an RA request asks for.

Revision ID: 0012
Revises: 0011
Create Date: 2027-01-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chancery.store.tables import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An RA request may carry the validity its submitter asks for (an ACME directory's --validity-days).
    op.add_column("ra_requests", sa.Column("validity_days", sa.Integer, nullable=True))
    op.create_table(
        "acme_directories",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("ra_name", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_acme_directories"),
    )
    op.create_table(
        "acme_secrets",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value_sealed", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_acme_secrets"),
    )
    op.create_table(
        "acme_eab_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("directory", sa.String(32), nullable=False),
        sa.Column("hmac_sealed", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=True),
        sa.Column("bound_at", UTCDateTime, nullable=True),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("kid", name="pk_acme_eab_keys"),
    )
    op.create_table(
        "acme_accounts",
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("directory", sa.String(32), nullable=False),
        sa.Column("thumbprint", sa.String(64), nullable=False),
        sa.Column("jwk", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("contact", sa.Text, nullable=False),
        sa.Column("eab_kid", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_acme_accounts"),
        sa.UniqueConstraint("directory", "thumbprint", name="uq_acme_accounts_directory_thumbprint"),
    )
    op.create_table(
        "acme_orders",
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("directory", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("identifiers", sa.Text, nullable=False),
        sa.Column("authz_ids", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("not_before", UTCDateTime, nullable=True),
        sa.Column("not_after", UTCDateTime, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("request_id", sa.String(24), nullable=True),
        sa.Column("ca_name", sa.String(64), nullable=True),
        sa.Column("serial", sa.String(40), nullable=True),
        sa.Column("replaces", sa.String(200), nullable=True),
        sa.Column("finalized_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("order_id", name="pk_acme_orders"),
    )
    op.create_index("ix_acme_orders_account_id_created_at", "acme_orders", ["account_id", "created_at"])
    op.create_index("ix_acme_orders_ca_name_serial", "acme_orders", ["ca_name", "serial"])
    op.create_index("ix_acme_orders_status_expires_at", "acme_orders", ["status", "expires_at"])
    op.create_index("ix_acme_orders_replaces", "acme_orders", ["replaces"])
    op.create_table(
        "acme_authorizations",
        sa.Column("authz_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("directory", sa.String(32), nullable=False),
        sa.Column("identifier_type", sa.String(8), nullable=False),
        sa.Column("identifier_value", sa.String(255), nullable=False),
        sa.Column("wildcard", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("authz_id", name="pk_acme_authorizations"),
    )
    op.create_index(
        "ix_acme_authorizations_account_id_identifier_value", "acme_authorizations", ["account_id", "identifier_value"]
    )
    op.create_index("ix_acme_authorizations_status_expires_at", "acme_authorizations", ["status", "expires_at"])
    op.create_table(
        "acme_challenges",
        sa.Column("challenge_id", sa.String(32), nullable=False),
        sa.Column("authz_id", sa.String(32), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("validated_at", UTCDateTime, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("challenge_id", name="pk_acme_challenges"),
        sa.ForeignKeyConstraint(
            ["authz_id"], ["acme_authorizations.authz_id"], name="fk_acme_challenges_authz_id_acme_authorizations"
        ),
    )
    op.create_index("ix_acme_challenges_authz_id", "acme_challenges", ["authz_id"])
    op.create_table(
        "acme_used_nonces",
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("nonce", name="pk_acme_used_nonces"),
    )
    op.create_index("ix_acme_used_nonces_expires_at", "acme_used_nonces", ["expires_at"])
    op.create_table(
        "acme_issued_names",
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("directory", sa.String(32), nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "domain", name="pk_acme_issued_names"),
    )
    op.create_index("ix_acme_issued_names_domain_issued_at", "acme_issued_names", ["domain", "issued_at"])


def downgrade() -> None:
    op.drop_table("acme_issued_names")
    op.drop_table("acme_used_nonces")
    op.drop_table("acme_challenges")
    op.drop_table("acme_authorizations")
    op.drop_table("acme_orders")
    op.drop_table("acme_accounts")
    op.drop_table("acme_eab_keys")
    op.drop_table("acme_secrets")
    op.drop_table("acme_directories")
    with op.batch_alter_table("ra_requests") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("validity_days")
