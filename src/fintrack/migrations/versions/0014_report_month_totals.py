"""Reports: per account, month, category and currency totals of the non-transfer lines, kept by triggers.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 13:45:00

Cash flow and category reports summed every line of their range (160,000 for a year of a 1M-row book: 0.1-0.4 s).
A line is a transaction without splits, or each of its splits; these totals hold, per account and month, what
those lines add up to per category, so a report over whole months of a book in its base currency reads a few
thousand rows. Reports still read transactions for partial months and for accounts in other currencies (their
amounts are converted at each day's rate).

Inserts add to the totals (the bulk path: one aggregated upsert per statement). Updates, deletes and any change
to splits recompute the (account, month) pairs they touch from the transactions, so splits replaced or a
transaction moved to another month or account can never leave a total behind.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

LINES = """
    SELECT t.book_id, t.account_id, date_trunc('month', t.date)::date AS month,
           coalesce(s.category_id, t.category_id) AS category_id, t.currency,
           coalesce(s.amount, t.amount) AS amount
    FROM transactions t LEFT JOIN transaction_splits s ON s.transaction_id = t.id
    WHERE t.transfer_id IS NULL
"""

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION fintrack_report_recompute(pairs jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- pairs: [{{"a": account_id, "m": "YYYY-MM-01"}}, ...]
    DELETE FROM report_month_totals r
    USING jsonb_to_recordset(pairs) AS p(a bigint, m date)
    WHERE r.account_id = p.a AND r.month = p.m;
    INSERT INTO report_month_totals (book_id, account_id, month, category_id, currency, total, inflow, n)
    SELECT l.book_id, l.account_id, l.month, l.category_id, l.currency, sum(l.amount),
           sum(CASE WHEN l.amount > 0 THEN l.amount ELSE 0 END), count(*)
    FROM jsonb_to_recordset(pairs) AS p(a bigint, m date)
    CROSS JOIN LATERAL (
        {LINES.strip()}
          AND t.account_id = p.a AND t.date >= p.m AND t.date < (p.m + interval '1 month')
    ) AS l
    GROUP BY 1, 2, 3, 4, 5;
END $$;

CREATE OR REPLACE FUNCTION fintrack_report_totals_tx() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- New transactions have no splits yet (those are inserted after them, and recompute).
        INSERT INTO report_month_totals AS r (book_id, account_id, month, category_id, currency, total, inflow, n)
        SELECT book_id, account_id, date_trunc('month', date)::date, category_id, currency, sum(amount),
               sum(CASE WHEN amount > 0 THEN amount ELSE 0 END), count(*)
        FROM new_rows WHERE transfer_id IS NULL
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (account_id, month, (coalesce(category_id, 0)), currency) DO UPDATE
        SET total = r.total + excluded.total, inflow = r.inflow + excluded.inflow, n = r.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM fintrack_report_recompute(coalesce((
            SELECT jsonb_agg(jsonb_build_object('a', account_id, 'm', month)) FROM (
                SELECT DISTINCT account_id, date_trunc('month', date)::date AS month FROM old_rows) x), '[]'));
    ELSE
        PERFORM fintrack_report_recompute(coalesce((
            SELECT jsonb_agg(jsonb_build_object('a', account_id, 'm', month)) FROM (
                SELECT account_id, date_trunc('month', date)::date AS month FROM old_rows
                UNION
                SELECT account_id, date_trunc('month', date)::date FROM new_rows) x), '[]'));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION fintrack_report_totals_splits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A split's transaction gives the pair; one deleted with its transaction is recomputed by that delete.
    PERFORM fintrack_report_recompute(coalesce((
        SELECT jsonb_agg(jsonb_build_object('a', account_id, 'm', month)) FROM (
            SELECT DISTINCT t.account_id, date_trunc('month', t.date)::date AS month
            FROM transactions t
            WHERE t.id IN (
                SELECT transaction_id FROM changed_splits
            )) x), '[]'));
    RETURN NULL;
END $$;
"""

TRIGGERS = [
    "CREATE TRIGGER transactions_report_insert AFTER INSERT ON transactions "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fintrack_report_totals_tx()",
    "CREATE TRIGGER transactions_report_delete AFTER DELETE ON transactions "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION fintrack_report_totals_tx()",
    "CREATE TRIGGER transactions_report_update AFTER UPDATE ON transactions "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION fintrack_report_totals_tx()",
    "CREATE TRIGGER splits_report_insert AFTER INSERT ON transaction_splits "
    "REFERENCING NEW TABLE AS changed_splits FOR EACH STATEMENT EXECUTE FUNCTION fintrack_report_totals_splits()",
    "CREATE TRIGGER splits_report_delete AFTER DELETE ON transaction_splits "
    "REFERENCING OLD TABLE AS changed_splits FOR EACH STATEMENT EXECUTE FUNCTION fintrack_report_totals_splits()",
    # An update's old rows would do as well as its new ones: a split never moves to another transaction.
    "CREATE TRIGGER splits_report_update AFTER UPDATE ON transaction_splits "
    "REFERENCING NEW TABLE AS changed_splits FOR EACH STATEMENT EXECUTE FUNCTION fintrack_report_totals_splits()",
]


def upgrade() -> None:
    op.create_table(
        "report_month_totals",
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total", sa.Numeric(20, 6), nullable=False),
        sa.Column("inflow", sa.Numeric(20, 6), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
    )
    op.create_index(
        "report_month_totals_key",
        "report_month_totals",
        ["account_id", "month", sa.text("coalesce(category_id, 0)"), "currency"],
        unique=True,
    )
    op.create_index("report_month_totals_book_month", "report_month_totals", ["book_id", "month"])
    op.execute(FUNCTIONS)
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute(
        "INSERT INTO report_month_totals (book_id, account_id, month, category_id, currency, total, inflow, n) "
        f"SELECT book_id, account_id, month, category_id, currency, sum(amount), "
        f"sum(CASE WHEN amount > 0 THEN amount ELSE 0 END), count(*) FROM ({LINES}) l GROUP BY 1, 2, 3, 4, 5"
    )


def downgrade() -> None:
    for table, name in [
        ("transactions", "transactions_report_insert"),
        ("transactions", "transactions_report_delete"),
        ("transactions", "transactions_report_update"),
        ("transaction_splits", "splits_report_insert"),
        ("transaction_splits", "splits_report_delete"),
        ("transaction_splits", "splits_report_update"),
    ]:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute(
        "DROP FUNCTION fintrack_report_totals_splits(), fintrack_report_totals_tx(), fintrack_report_recompute(jsonb)"
    )
    op.drop_table("report_month_totals")
