"""Registration authorities, their per-profile approval policies, requests and approvals.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chancery.store.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registration_authorities",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("ca_name", sa.String(64), nullable=False),
        sa.Column("revocation_approvals", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("notify_emails", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_registration_authorities"),
    )
    op.create_table(
        "ra_profile_policies",
        sa.Column("ra_name", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("approvals", sa.Integer, nullable=False),
        sa.Column("approver_role", sa.String(32), nullable=False),
        sa.Column("approver_group", sa.String(200), nullable=True),
        sa.Column("allow_anonymous", sa.Boolean, nullable=False),
        sa.Column("lifetime_hours", sa.Integer, nullable=False),
        sa.Column("deny_needs_reason", sa.Boolean, nullable=False),
        sa.ForeignKeyConstraint(
            ["ra_name"],
            ["registration_authorities.name"],
            name="fk_ra_profile_policies_ra_name_registration_authorities",
        ),
        sa.PrimaryKeyConstraint("ra_name", "profile", name="pk_ra_profile_policies"),
    )
    op.create_table(
        "ra_requests",
        sa.Column("request_id", sa.String(24), nullable=False),
        sa.Column("ra_name", sa.String(64), nullable=False),
        sa.Column("ca_name", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("submitted_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("approvals_required", sa.Integer, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("sans", sa.Text, nullable=False),
        sa.Column("key_summary", sa.String(64), nullable=False),
        sa.Column("csr", sa.LargeBinary, nullable=True),
        sa.Column("key_type", sa.String(32), nullable=True),
        sa.Column("target_serial", sa.String(64), nullable=True),
        sa.Column("revocation_reason", sa.String(32), nullable=True),
        sa.Column("contact_email", sa.String(254), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", UTCDateTime, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("serial", sa.String(64), nullable=True),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("pickup_hash", sa.String(64), nullable=True),
        sa.Column("key_id", sa.String(80), nullable=True),
        sa.Column("picked_up_at", UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(
            ["ra_name"], ["registration_authorities.name"], name="fk_ra_requests_ra_name_registration_authorities"
        ),
        sa.PrimaryKeyConstraint("request_id", name="pk_ra_requests"),
    )
    op.create_index("ix_ra_requests_state_ra", "ra_requests", ["state", "ra_name"])
    op.create_index("ix_ra_requests_expires_at", "ra_requests", ["expires_at"])
    op.create_index("ix_ra_requests_ca_serial", "ra_requests", ["ca_name", "serial"])
    op.create_table(
        "ra_request_approvals",
        sa.Column("request_id", sa.String(24), nullable=False),
        sa.Column("approver", sa.String(200), nullable=False),
        sa.Column("approved_at", UTCDateTime, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["ra_requests.request_id"], name="fk_ra_request_approvals_request_id_ra_requests"
        ),
        sa.PrimaryKeyConstraint("request_id", "approver", name="pk_ra_request_approvals"),
    )


def downgrade() -> None:
    op.drop_table("ra_request_approvals")
    op.drop_index("ix_ra_requests_ca_serial", "ra_requests")
    op.drop_index("ix_ra_requests_expires_at", "ra_requests")
    op.drop_index("ix_ra_requests_state_ra", "ra_requests")
    op.drop_table("ra_requests")
    op.drop_table("ra_profile_policies")
    op.drop_table("registration_authorities")
