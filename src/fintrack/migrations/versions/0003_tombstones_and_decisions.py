"""Tombstones of deleted transactions, and the user's decisions on import rows (remembered).


Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 04:57:02.347202
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_not_duplicates",
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("row_key", sa.String(length=40), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("book_id", "row_key", "transaction_id"),
    )
    op.create_table(
        "transaction_tombstones",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "transaction_tombstones_account_date", "transaction_tombstones", ["account_id", "date"], unique=False
    )
    op.add_column("import_rows", sa.Column("decision", sa.String(length=8), nullable=True))
    op.add_column("import_rows", sa.Column("row_key", sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.drop_column("import_rows", "row_key")
    op.drop_column("import_rows", "decision")
    op.drop_index("transaction_tombstones_account_date", table_name="transaction_tombstones")
    op.drop_table("transaction_tombstones")
    op.drop_table("import_not_duplicates")
