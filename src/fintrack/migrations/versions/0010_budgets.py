"""Budgets: a monthly limit per book and category, and the alert thresholds already announced per month.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Numeric(20, 6), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("rollover", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("starts_month", sa.Date(), nullable=False),
        sa.Column("ends_month", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        # One budget per category keeps status unambiguous; periods are a window on that one budget.
        sa.UniqueConstraint("book_id", "category_id", name="budgets_book_category_key"),
        sa.CheckConstraint("amount > 0", name="budgets_amount_positive"),
        sa.CheckConstraint("extract(day from starts_month) = 1", name="budgets_starts_first_of_month"),
        sa.CheckConstraint(
            "ends_month IS NULL OR (extract(day from ends_month) = 1 AND ends_month >= starts_month)",
            name="budgets_ends_after_start",
        ),
    )
    op.create_index("budgets_category_id_idx", "budgets", ["category_id"])
    op.create_table(
        "budget_alerts",
        sa.Column("budget_id", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("threshold", sa.SmallInteger(), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["budget_id"], ["budgets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("budget_id", "month", "threshold"),
    )


def downgrade() -> None:
    op.drop_table("budget_alerts")
    op.drop_index("budgets_category_id_idx", table_name="budgets")
    op.drop_table("budgets")
