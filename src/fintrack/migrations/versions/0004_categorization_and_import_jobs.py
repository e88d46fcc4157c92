"""Categorization (rules, transaction vectors in pgvector), CSV profiles, transfer pairing, background import state.


Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 05:40:00
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Statement-level, like the totals triggers: a bulk re-categorization is one UPDATE, and must stay one.
# A new category is copied to the vector row at once (a correction is learned when it is saved); a new text
# makes the vector stale, so it is dropped and the worker computes it again.
SYNC_FUNCTION = """
CREATE OR REPLACE FUNCTION fintrack_embedding_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM transaction_embeddings e
    USING new_rows n JOIN old_rows o ON o.id = n.id
    WHERE e.transaction_id = n.id
      AND (n.description IS DISTINCT FROM o.description OR n.memo IS DISTINCT FROM o.memo
           OR n.payee_id IS DISTINCT FROM o.payee_id);
    UPDATE transaction_embeddings e SET category_id = n.category_id
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE e.transaction_id = n.id AND n.category_id IS DISTINCT FROM o.category_id;
    RETURN NULL;
END $$
"""
SYNC_TRIGGER = (
    "CREATE TRIGGER transactions_embedding_sync AFTER UPDATE ON transactions "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION fintrack_embedding_sync()"
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "transaction_embeddings",
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("norm", sa.Text(), nullable=False),
        sa.Column("embedding", Vector(256), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["transaction_id"], ["transactions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("transaction_id"),
    )
    op.create_index(
        "transaction_embeddings_hnsw",
        "transaction_embeddings",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_ip_ops"},
    )
    op.create_index(
        "transaction_embeddings_norm",
        "transaction_embeddings",
        ["book_id", "norm", "category_id"],
        postgresql_where=sa.text("category_id IS NOT NULL"),
    )
    op.execute(SYNC_FUNCTION)
    op.execute(SYNC_TRIGGER)

    op.create_table(
        "rules",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("conditions", postgresql.JSONB(), nullable=False),
        sa.Column("actions", postgresql.JSONB(), nullable=False),
        sa.Column("hits", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_hit_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("rules_book_position", "rules", ["book_id", "position", "id"])

    op.create_table(
        "import_profiles",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("header_key", sa.String(length=64), nullable=False),
        sa.Column("mapping", postgresql.JSONB(), nullable=False),
        sa.Column("uses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("book_id", "header_key", name="import_profiles_book_header"),
    )
    op.create_table(
        "import_files",
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["import_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.add_column("import_sessions", sa.Column("options", postgresql.JSONB(), server_default="{}", nullable=False))
    op.add_column("import_sessions", sa.Column("progress", postgresql.JSONB(), nullable=True))
    op.add_column("import_sessions", sa.Column("error", postgresql.JSONB(), nullable=True))
    op.add_column("import_sessions", sa.Column("profile_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "import_sessions_profile_id_fkey",
        "import_sessions",
        "import_profiles",
        ["profile_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column("import_rows", sa.Column("category_id", sa.BigInteger(), nullable=True))
    op.add_column("import_rows", sa.Column("confidence", sa.Numeric(4, 3), nullable=True))
    op.add_column("import_rows", sa.Column("category_source", sa.String(length=8), nullable=True))
    op.add_column("import_rows", sa.Column("rule_id", sa.BigInteger(), nullable=True))
    op.add_column("import_rows", sa.Column("apply_category", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("import_rows", sa.Column("tag_ids", postgresql.ARRAY(sa.BigInteger()), nullable=True))
    op.add_column("import_rows", sa.Column("splits", postgresql.JSONB(), nullable=True))
    op.add_column("import_rows", sa.Column("transfer_with", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for column in (
        "transfer_with",
        "splits",
        "tag_ids",
        "apply_category",
        "rule_id",
        "category_source",
        "confidence",
        "category_id",
    ):
        op.drop_column("import_rows", column)
    op.drop_constraint("import_sessions_profile_id_fkey", "import_sessions", type_="foreignkey")
    for column in ("profile_id", "error", "progress", "options"):
        op.drop_column("import_sessions", column)
    op.drop_table("import_files")
    op.drop_table("import_profiles")
    op.drop_index("rules_book_position", table_name="rules")
    op.drop_table("rules")
    op.execute("DROP TRIGGER IF EXISTS transactions_embedding_sync ON transactions")
    op.execute("DROP FUNCTION IF EXISTS fintrack_embedding_sync()")
    op.drop_table("transaction_embeddings")
