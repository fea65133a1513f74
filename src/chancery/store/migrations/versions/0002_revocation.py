"""Revocation: CRL entries and partitions on certificates, revocation events, CRLs,
pre-signed OCSP responses, delegated OCSP responders, per-CA revocation settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chancery.store.tables import RowId, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("crl_entry", sa.LargeBinary, nullable=True))
        batch.add_column(sa.Column("crl_partition", sa.Integer, nullable=True))
    op.create_table(
        "revocation_settings",
        sa.Column("ca_name", sa.String(64), nullable=False),
        sa.Column("crl_validity", sa.Integer, nullable=False),
        sa.Column("delta_validity", sa.Integer, nullable=False),
        sa.Column("partitions", sa.Integer, nullable=False),
        sa.Column("ocsp_validity", sa.Integer, nullable=False),
        sa.Column("ocsp_signing", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("ca_name", name="pk_revocation_settings"),
        sa.ForeignKeyConstraint(["ca_name"], ["authorities.name"], name="fk_revocation_settings_ca_name_authorities"),
    )
    op.create_table(
        "revocation_events",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("ca_name", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(40), nullable=False),
        sa.Column("crl_entry", sa.LargeBinary, nullable=False),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_revocation_events"),
        sa.ForeignKeyConstraint(["ca_name"], ["authorities.name"], name="fk_revocation_events_ca_name_authorities"),
    )
    op.create_index("ix_revocation_events_ca_name_id", "revocation_events", ["ca_name", "id"])
    op.create_table(
        "crls",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("ca_name", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("crl_number", sa.BigInteger, nullable=False),
        sa.Column("this_update", UTCDateTime, nullable=False),
        sa.Column("next_update", UTCDateTime, nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.Column("last_event_id", sa.BigInteger, nullable=False),
        sa.Column("base_crl_number", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_crls"),
        sa.ForeignKeyConstraint(["ca_name"], ["authorities.name"], name="fk_crls_ca_name_authorities"),
        sa.UniqueConstraint(
            "ca_name", "crl_number", "scope", "partition", name="uq_crls_ca_name_crl_number_scope_partition"
        ),
    )
    op.create_index("ix_crls_ca_name_scope_partition_id", "crls", ["ca_name", "scope", "partition", "id"])
    op.create_table(
        "ocsp_responses",
        sa.Column("ca_name", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(40), nullable=False),
        sa.Column("hash_algorithm", sa.String(16), nullable=False),
        sa.Column("cert_id", sa.LargeBinary, nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.Column("this_update", UTCDateTime, nullable=False),
        sa.Column("next_update", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("ca_name", "serial", "hash_algorithm", name="pk_ocsp_responses"),
        sa.ForeignKeyConstraint(["ca_name"], ["authorities.name"], name="fk_ocsp_responses_ca_name_authorities"),
    )
    op.create_index("ix_ocsp_responses_next_update", "ocsp_responses", ["next_update"])
    op.create_table(
        "ocsp_responders",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("ca_name", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("certificate", sa.LargeBinary, nullable=False),
        sa.Column("not_after", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ocsp_responders"),
        sa.ForeignKeyConstraint(["ca_name"], ["authorities.name"], name="fk_ocsp_responders_ca_name_authorities"),
    )
    op.create_index("ix_ocsp_responders_ca_name_id", "ocsp_responders", ["ca_name", "id"])


def downgrade() -> None:
    for table in ("ocsp_responders", "ocsp_responses", "crls", "revocation_events", "revocation_settings"):
        op.drop_table(table)
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("crl_partition")
        batch.drop_column("crl_entry")
