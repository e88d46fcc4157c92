"""The hub: channels with gap-free sequence counters, publications (history), namespace policies.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 06:50:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_channels",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("last_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "hub_publications",
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("producer_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ingest_time", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("publisher_user_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["hub_channels.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["publisher_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("channel_id", "seq"),
    )
    op.create_index(
        "hub_publications_idempotency",
        "hub_publications",
        ["channel_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index("hub_publications_channel_time", "hub_publications", ["channel_id", "ingest_time"])
    op.create_table(
        "hub_namespaces",
        sa.Column("pattern", sa.Text(), nullable=False),
        sa.Column("publish", sa.Text(), nullable=False),
        sa.Column("subscribe", sa.Text(), nullable=False),
        sa.Column("history", sa.Text(), nullable=False),
        sa.Column("retention_seconds", sa.BigInteger(), nullable=True),
        sa.Column("retention_count", sa.BigInteger(), nullable=True),
        sa.Column("overflow", sa.Text(), server_default="disconnect", nullable=False),
        sa.Column("json_schema", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("ttl_seconds", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("pattern"),
    )


def downgrade() -> None:
    op.drop_table("hub_namespaces")
    op.drop_index("hub_publications_channel_time", table_name="hub_publications")
    op.drop_index("hub_publications_idempotency", table_name="hub_publications")
    op.drop_table("hub_publications")
    op.drop_table("hub_channels")
