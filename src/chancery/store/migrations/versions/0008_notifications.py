"""Notifications of RA request changes: webhook subscriptions, SMTP settings, the delivery outbox
and its attempts (the delivery log).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chancery.store.tables import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("subscription_id", sa.String(32), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("ra_name", sa.String(64), nullable=True),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("secret_sealed", sa.Text, nullable=False),
        sa.Column("ca_certificates_pem", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", name="pk_webhook_subscriptions"),
    )
    op.create_table(
        "smtp_settings",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("from_address", sa.String(254), nullable=False),
        sa.Column("security", sa.String(16), nullable=False),
        sa.Column("username", sa.String(255), nullable=True),
        sa.Column("password_sealed", sa.Text, nullable=True),
        sa.Column("ca_certificates_pem", sa.Text, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_smtp_settings"),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("delivery_id", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(24), nullable=False),
        sa.Column("subscription_id", sa.String(32), nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("last_attempt_at", UTCDateTime, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_notification_deliveries"),
    )
    op.create_index("ix_notification_deliveries_state_due", "notification_deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_notification_deliveries_created_at", "notification_deliveries", ["created_at"])
    op.create_table(
        "notification_attempts",
        sa.Column("delivery_id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_deliveries.delivery_id"],
            name="fk_notification_attempts_delivery_id_notification_deliveries",
        ),
        sa.PrimaryKeyConstraint("delivery_id", "number", name="pk_notification_attempts"),
    )


def downgrade() -> None:
    op.drop_table("notification_attempts")
    op.drop_index("ix_notification_deliveries_created_at", "notification_deliveries")
    op.drop_index("ix_notification_deliveries_state_due", "notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_table("smtp_settings")
    op.drop_table("webhook_subscriptions")
