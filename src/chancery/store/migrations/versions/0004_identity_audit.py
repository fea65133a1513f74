"""Identity, audit and dual control: users, groups, role grants, directory settings, sessions,
the hash-chained audit log with checkpoints, pending operations and their approvals, policies;
API tokens may belong to a user and be limited to a CA.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chancery.store.tables import RowId, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("user_name", sa.String(128), nullable=True))
        batch.add_column(sa.Column("ca_scope", sa.String(64), nullable=True))
    op.create_table(
        "users",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("totp_sealed", sa.Text, nullable=True),
        sa.Column("totp_last_step", sa.BigInteger, nullable=True),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", UTCDateTime, nullable=True),
        sa.Column("last_login_at", UTCDateTime, nullable=True),
        sa.Column("directory_groups", sa.Text, nullable=False),
        sa.Column("certificate_match", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_users"),
    )
    op.create_table(
        "groups",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_groups"),
    )
    op.create_table(
        "group_members",
        sa.Column("group_name", sa.String(128), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("group_name", "user_name", name="pk_group_members"),
        sa.ForeignKeyConstraint(["group_name"], ["groups.name"], name="fk_group_members_group_name_groups"),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"], name="fk_group_members_user_name_users"),
    )
    op.create_table(
        "role_grants",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("grantee_kind", sa.String(8), nullable=False),
        sa.Column("grantee", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("ca", sa.String(64), nullable=True),
        sa.Column("profile", sa.String(64), nullable=True),
        sa.Column("ra", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_role_grants"),
    )
    op.create_index("ix_role_grants_grantee_kind_grantee", "role_grants", ["grantee_kind", "grantee"])
    op.create_table(
        "ldap_settings",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("base_dn", sa.Text, nullable=False),
        sa.Column("bind_dn", sa.Text, nullable=False),
        sa.Column("bind_password_sealed", sa.Text, nullable=False),
        sa.Column("user_filter", sa.Text, nullable=False),
        sa.Column("start_tls", sa.Boolean, nullable=False),
        sa.Column("ca_certificates_pem", sa.Text, nullable=True),
        sa.Column("group_mappings", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ldap_settings"),
    )
    op.create_table(
        "sessions",
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_seen_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("csrf_hash", sa.String(64), nullable=False),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("session_hash", name="pk_sessions"),
    )
    op.create_table(
        "audit_log",
        sa.Column("sequence", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("ca", sa.String(64), nullable=True),
        sa.Column("target", sa.Text, nullable=True),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_occurred_at", "audit_log", ["occurred_at"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    # The chain's head starts at the genesis hash: appends only ever update this row.
    op.execute("INSERT INTO audit_head (id, sequence, entry_hash) VALUES (1, 0, '" + "0" * 64 + "')")
    op.create_table(
        "audit_checkpoints",
        sa.Column("sequence", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", UTCDateTime, nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("sequence", name="pk_audit_checkpoints"),
    )
    op.create_table(
        "pending_operations",
        sa.Column("operation_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("approvals_required", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("result", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("operation_id", name="pk_pending_operations"),
    )
    op.create_table(
        "operation_approvals",
        sa.Column("operation_id", sa.String(32), nullable=False),
        sa.Column("approver", sa.String(200), nullable=False),
        sa.Column("approved_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("operation_id", "approver", name="pk_operation_approvals"),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["pending_operations.operation_id"],
            name="fk_operation_approvals_operation_id_pending_operations",
        ),
    )
    op.create_table(
        "policies",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_policies"),
    )


def downgrade() -> None:
    for table in (
        "policies",
        "operation_approvals",
        "pending_operations",
        "audit_checkpoints",
        "audit_head",
        "audit_log",
        "sessions",
        "ldap_settings",
        "role_grants",
        "group_members",
        "groups",
        "users",
    ):
        op.drop_table(table)
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("ca_scope")
        batch.drop_column("user_name")
