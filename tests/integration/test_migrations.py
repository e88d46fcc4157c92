"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from fintrack.db import Base
from fintrack.migrate import load_models


def test_models_and_migrations_agree(database_url: str) -> None:
    load_models()
    engine = create_engine(database_url.replace("+psycopg_async", "+psycopg"))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
