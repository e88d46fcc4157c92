"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from fintrack.db import Base
from fintrack.jobs.models import include_object
from fintrack.migrate import load_models


def test_models_and_migrations_agree(database_url: str) -> None:
    load_models()
    engine = create_engine(database_url.replace("+psycopg_async", "+psycopg"))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": include_object}
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_the_job_queue_migration_goes_down_and_up_again(database_url: str) -> None:
    from sqlalchemy import text

    from fintrack import migrate, pgserver

    url = pgserver.create_database("fintrack_migrations")
    migrate.upgrade(url)
    from alembic import command

    command.downgrade(migrate.alembic_config(url), "0004")
    engine = create_engine(url)
    left = text(
        "SELECT count(*) FROM pg_class WHERE relname LIKE 'procrastinate%' OR relname = 'job_errors' "
        "UNION ALL SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%' "
        "UNION ALL SELECT count(*) FROM pg_type WHERE typname LIKE 'procrastinate%'"
    )
    try:
        with engine.connect() as connection:
            assert connection.execute(left).scalars().all() == [0, 0, 0]
        migrate.upgrade(url)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"))
    finally:
        engine.dispose()
