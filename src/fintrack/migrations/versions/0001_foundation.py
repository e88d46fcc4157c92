"""Foundation: users, books, ledger, transactions; accent-free search; balance totals kept by triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 03:04:55.583880
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# unaccent() is only STABLE (its dictionary could change); a BEGIN ATOMIC wrapper binds the dictionary at
# creation so the fold can back a generated column and a trigram index.
FOLD_FUNCTION = """
CREATE OR REPLACE FUNCTION fintrack_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
BEGIN ATOMIC
    SELECT lower(unaccent('unaccent'::regdictionary, t));
END
"""

# Statement-level triggers with transition tables: one aggregated upsert per statement, so a bulk insert of
# 100k rows costs one GROUP BY, and balances read a few hundred month rows instead of the whole history.
TOTALS_FUNCTION = """
CREATE OR REPLACE FUNCTION fintrack_account_totals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO account_month_totals AS t (account_id, month, total, n)
        SELECT account_id, date_trunc('month', date)::date, sum(amount), count(*)
        FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (account_id, month) DO UPDATE SET total = t.total + EXCLUDED.total, n = t.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO account_month_totals AS t (account_id, month, total, n)
        SELECT account_id, date_trunc('month', date)::date, -sum(amount), -count(*)
        FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (account_id, month) DO UPDATE SET total = t.total + EXCLUDED.total, n = t.n + EXCLUDED.n;
    ELSE
        INSERT INTO account_month_totals AS t (account_id, month, total, n)
        SELECT account_id, month, sum(amount), sum(n) FROM (
            SELECT account_id, date_trunc('month', date)::date AS month, amount, 1 AS n FROM new_rows
            UNION ALL
            SELECT account_id, date_trunc('month', date)::date, -amount, -1 FROM old_rows
        ) AS d
        GROUP BY 1, 2 HAVING sum(amount) <> 0 OR sum(n) <> 0 ORDER BY 1, 2
        ON CONFLICT (account_id, month) DO UPDATE SET total = t.total + EXCLUDED.total, n = t.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$
"""

TRIGGERS = [
    "CREATE TRIGGER transactions_totals_insert AFTER INSERT ON transactions "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fintrack_account_totals()",
    "CREATE TRIGGER transactions_totals_delete AFTER DELETE ON transactions "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION fintrack_account_totals()",
    "CREATE TRIGGER transactions_totals_update AFTER UPDATE ON transactions "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION fintrack_account_totals()",
]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(FOLD_FUNCTION)
    op.create_table(
        "books",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("ip", sa.Text(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("login_attempts_email_at", "login_attempts", ["email", "at"], unique=False)
    op.create_index("login_attempts_ip_at", "login_attempts", ["ip", "at"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("default_book_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["default_book_id"], ["books.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("users_email_key", "users", [sa.literal_column("lower(email)")], unique=True)
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "type",
            sa.Enum("checking", "savings", "credit_card", "cash", "investment", "loan", "other", name="account_type"),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("opening_balance", sa.Numeric(precision=20, scale=6), server_default="0", nullable=False),
        sa.Column("archived", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("accounts_book_name_key", "accounts", ["book_id", sa.literal_column("lower(name)")], unique=True)
    op.create_index(op.f("ix_accounts_book_id"), "accounts", ["book_id"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "book_members",
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.Enum("owner", "editor", "viewer", name="book_role"), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("book_id", "user_id"),
    )
    op.create_index(op.f("ix_book_members_user_id"), "book_members", ["user_id"], unique=False)
    op.create_table(
        "categories",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Enum("income", "expense", name="category_kind"), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["parent_id"], ["categories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "categories_book_parent_name_key",
        "categories",
        ["book_id", sa.literal_column("coalesce(parent_id, 0)"), sa.literal_column("lower(name)")],
        unique=True,
    )
    op.create_index(op.f("ix_categories_book_id"), "categories", ["book_id"], unique=False)
    op.create_table(
        "fx_rates",
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("book_id", "currency", "day"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )
    op.create_table(
        "payees",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_payees_book_id"), "payees", ["book_id"], unique=False)
    op.create_index("payees_book_name_key", "payees", ["book_id", sa.literal_column("lower(name)")], unique=True)
    op.create_table(
        "tags",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_tags_book_id"), "tags", ["book_id"], unique=False)
    op.create_index("tags_book_name_key", "tags", ["book_id", sa.literal_column("lower(name)")], unique=True)
    op.create_table(
        "transfers",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_transfers_book_id"), "transfers", ["book_id"], unique=False)
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"], unique=False)
    op.create_table(
        "account_month_totals",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("total", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "month"),
    )
    op.create_table(
        "transactions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payee_id", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("import_session_id", sa.BigInteger(), nullable=True),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.Column("transfer_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "search_text",
            sa.Text(),
            sa.Computed("fintrack_fold(coalesce(description, '') || ' ' || coalesce(memo, ''))", persisted=True),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["payee_id"], ["payees.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "transactions_account_date",
        "transactions",
        ["account_id", sa.literal_column("date DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "transactions_book_category_date",
        "transactions",
        ["book_id", "category_id", sa.literal_column("date DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "transactions_book_date",
        "transactions",
        ["book_id", sa.literal_column("date DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "transactions_external",
        "transactions",
        ["account_id", "external_id"],
        unique=False,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.create_index("transactions_payee", "transactions", ["payee_id"], unique=False)
    op.create_index(
        "transactions_search",
        "transactions",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index(
        "transactions_transfer",
        "transactions",
        ["transfer_id"],
        unique=False,
        postgresql_where=sa.text("transfer_id IS NOT NULL"),
    )
    op.create_table(
        "transaction_splits",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["transaction_id"], ["transactions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_transaction_splits_category_id"), "transaction_splits", ["category_id"], unique=False)
    op.create_index(
        op.f("ix_transaction_splits_transaction_id"), "transaction_splits", ["transaction_id"], unique=False
    )
    op.create_table(
        "transaction_tags",
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("tag_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["transaction_id"], ["transactions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("transaction_id", "tag_id"),
    )
    op.create_index("transaction_tags_tag", "transaction_tags", ["tag_id", "transaction_id"], unique=False)

    op.execute(TOTALS_FUNCTION)
    for trigger in TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS fintrack_account_totals() CASCADE")
    op.drop_index("transaction_tags_tag", table_name="transaction_tags")
    op.drop_table("transaction_tags")
    op.drop_index(op.f("ix_transaction_splits_transaction_id"), table_name="transaction_splits")
    op.drop_index(op.f("ix_transaction_splits_category_id"), table_name="transaction_splits")
    op.drop_table("transaction_splits")
    op.drop_index(
        "transactions_transfer", table_name="transactions", postgresql_where=sa.text("transfer_id IS NOT NULL")
    )
    op.drop_index(
        "transactions_search",
        table_name="transactions",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.drop_index("transactions_payee", table_name="transactions")
    op.drop_index(
        "transactions_external", table_name="transactions", postgresql_where=sa.text("external_id IS NOT NULL")
    )
    op.drop_index("transactions_book_date", table_name="transactions")
    op.drop_index("transactions_book_category_date", table_name="transactions")
    op.drop_index("transactions_account_date", table_name="transactions")
    op.drop_table("transactions")
    op.drop_table("account_month_totals")
    op.drop_index(op.f("ix_web_sessions_user_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_index(op.f("ix_transfers_book_id"), table_name="transfers")
    op.drop_table("transfers")
    op.drop_index("tags_book_name_key", table_name="tags")
    op.drop_index(op.f("ix_tags_book_id"), table_name="tags")
    op.drop_table("tags")
    op.drop_index("payees_book_name_key", table_name="payees")
    op.drop_index(op.f("ix_payees_book_id"), table_name="payees")
    op.drop_table("payees")
    op.drop_table("idempotency_keys")
    op.drop_table("fx_rates")
    op.drop_index(op.f("ix_categories_book_id"), table_name="categories")
    op.drop_index("categories_book_parent_name_key", table_name="categories")
    op.drop_table("categories")
    op.drop_index(op.f("ix_book_members_user_id"), table_name="book_members")
    op.drop_table("book_members")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index(op.f("ix_accounts_book_id"), table_name="accounts")
    op.drop_index("accounts_book_name_key", table_name="accounts")
    op.drop_table("accounts")
    op.drop_index("users_email_key", table_name="users")
    op.drop_table("users")
    op.drop_index("login_attempts_ip_at", table_name="login_attempts")
    op.drop_index("login_attempts_email_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_table("books")
    op.execute("DROP FUNCTION IF EXISTS fintrack_fold(text)")
    for enum_type in ("account_type", "book_role", "category_kind"):
        op.execute(f"DROP TYPE IF EXISTS {enum_type}")
