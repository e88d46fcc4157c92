"""Recurring series: subscriptions and bills detected from a book's history, confirmed or dismissed by the user.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 12:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

AMOUNT = sa.Numeric(20, 6)


def upgrade() -> None:
    op.create_table(
        "recurring_series",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("typical_amount", AMOUNT, nullable=False),
        sa.Column("expected_amount", AMOUNT, nullable=True),
        sa.Column("amount_min", AMOUNT, nullable=False),
        sa.Column("amount_max", AMOUNT, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("next_date", sa.Date(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), server_default="detected", nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        # Detection upserts on this: re-running it finds the same row, whatever the user did to it.
        sa.UniqueConstraint("book_id", "key", "account_id", name="recurring_series_book_key_account"),
        sa.CheckConstraint("status IN ('detected', 'confirmed', 'dismissed')", name="recurring_series_status"),
        sa.CheckConstraint(
            "period IN ('weekly', 'biweekly', 'monthly', 'quarterly', 'semiannual', 'yearly')",
            name="recurring_series_period",
        ),
        sa.CheckConstraint("direction IN ('debit', 'credit')", name="recurring_series_direction"),
    )
    op.create_index("recurring_series_book_next", "recurring_series", ["book_id", "next_date"])
    op.create_index("recurring_series_account_id_idx", "recurring_series", ["account_id"])
    op.create_index("recurring_series_category_id_idx", "recurring_series", ["category_id"])


def downgrade() -> None:
    op.drop_table("recurring_series")
