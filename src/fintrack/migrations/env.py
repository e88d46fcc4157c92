"""Alembic environment: a synchronous psycopg connection to the URL given by fintrack.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from fintrack.db import Base
from fintrack.jobs.models import include_object
from fintrack.migrate import load_models

load_models()
config = context.config
url = config.attributes["url"]


def run() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        # Two processes starting at once must not both migrate.
        connection.exec_driver_sql("SELECT pg_advisory_lock(7242001)")
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                compare_type=True,
                include_object=include_object,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.exec_driver_sql("SELECT pg_advisory_unlock(7242001)")
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `fintrack db upgrade`")
run()
