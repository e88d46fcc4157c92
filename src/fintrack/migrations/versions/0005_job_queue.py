"""The background job queue: procrastinate 3.10.0's schema, and the errors of failed job runs.

The schema is a copy of the SQL procrastinate 3.10.0 ships (0005_job_queue.sql, unchanged), not the installed
package's current file: upgrading procrastinate must not change what an old migration creates. A later
procrastinate version arrives as a new migration applying its sql/migrations files (docs/operations.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = Path(__file__).with_suffix(".sql")

# Every object procrastinate's schema creates is named procrastinate_*: dropping by prefix removes exactly them.
DROP_SCHEMA = """
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers
    CASCADE;
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                WHERE p.proname LIKE 'procrastinate\\_%' AND p.pronamespace = current_schema()::regnamespace LOOP
        EXECUTE 'DROP FUNCTION ' || item.signature || ' CASCADE';
    END LOOP;
    FOR item IN SELECT t.typname FROM pg_type t
                WHERE t.typname LIKE 'procrastinate\\_%' AND t.typtype IN ('e', 'c')
                  AND t.typnamespace = current_schema()::regnamespace LOOP
        EXECUTE format('DROP TYPE %I CASCADE', item.typname);
    END LOOP;
END $$;
"""


def _run_script(script: str) -> None:
    # Straight to psycopg without parameters: the script's colons and percent signs are SQL, not placeholders,
    # and several statements may go in one call. It still runs in the migration's transaction.
    connection = op.get_bind().connection.driver_connection
    assert connection is not None
    connection.execute(script)


def upgrade() -> None:
    _run_script(SCHEMA.read_text(encoding="utf-8"))
    op.create_table(
        "job_errors",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "job_id", sa.BigInteger(), sa.ForeignKey("procrastinate_jobs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("job_errors_job", "job_errors", ["job_id", "attempt"])


def downgrade() -> None:
    op.drop_table("job_errors")
    _run_script(DROP_SCHEMA)
