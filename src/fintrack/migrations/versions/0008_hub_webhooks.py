"""Hub webhooks (TradingView-style alerts) and the bodies each one received within its dedupe window.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 08:35:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_webhooks",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("secret_in", sa.Text(), nullable=False),
        sa.Column("hook_id", sa.Text(), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("secret_prefix", sa.String(length=16), nullable=False),
        sa.Column("allow", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("dedupe_seconds", sa.Integer(), server_default="60", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hook_id"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_index("ix_hub_webhooks_user_id", "hub_webhooks", ["user_id"])
    op.create_table(
        "hub_webhook_deliveries",
        sa.Column("webhook_id", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["webhook_id"], ["hub_webhooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("webhook_id", "digest"),
    )
    op.create_index("hub_webhook_deliveries_received", "hub_webhook_deliveries", ["webhook_id", "received_at"])


def downgrade() -> None:
    op.drop_index("hub_webhook_deliveries_received", table_name="hub_webhook_deliveries")
    op.drop_table("hub_webhook_deliveries")
    op.drop_index("ix_hub_webhooks_user_id", table_name="hub_webhooks")
    op.drop_table("hub_webhooks")
