"""The engine, one transaction per request, and the URL the settings point at."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from fintrack.settings import Settings

log = structlog.get_logger("fintrack")


class Base(DeclarativeBase):
    pass


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL: DATABASE_URL if set, otherwise the embedded server (started here)."""
    if settings.DATABASE_URL:
        url = settings.DATABASE_URL
        for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url.removeprefix(prefix)
        return url
    from fintrack import pgserver

    return pgserver.start(settings.FINTRACK_DATA_DIR)


@dataclass
class Database:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Where committed hub publications go (fintrack.hub.broker), for work done outside a request: a job's events
    # reach live subscribers through it. None: they are stored, and read from history.
    broker: Any = None

    @classmethod
    def connect(cls, url: str, pool_size: int = 10) -> Database:
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args={"application_name": "fintrack"},
        )
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The one owner of a unit of work outside a request (jobs, the hub's data plane): commit when the block
        ends, roll back if it raises, then run what services left for after the commit.

        Services flush, never commit; slow I/O belongs after this block.
        """
        async with self.sessionmaker() as session:
            session.info["hub_broker"] = self.broker
            try:
                async with session.begin():
                    yield session
            except BaseException:
                session.info.pop("after_commit", None)
                raise
            await run_after_commit(session)

    async def close(self) -> None:
        await self.engine.dispose()


async def run_after_commit(session: AsyncSession) -> None:
    """Run what services left in `session.info["after_commit"]` (async callables, in order): work that must
    only happen for committed data, such as handing hub publications to subscribers."""
    for callback in session.info.pop("after_commit", []):
        try:
            await callback()
        except Exception:
            # The data is committed and the caller will be told so; a failed follow-up is logged, not raised.
            log.exception("after-commit callback failed")


async def copy_rows(
    session: AsyncSession, table: str, columns: Sequence[str], values: Iterable[tuple[Any, ...]]
) -> None:
    """COPY FROM STDIN on the session's own connection, so the rows join the session's transaction.

    Bulk writes use this: INSERT ... VALUES pages cost far more on the client (statement splitting, re-parsing)
    than COPY costs in the database.
    """
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    connection = (await (await session.connection()).get_raw_connection()).driver_connection
    assert connection is not None, "the session's connection is open"
    async with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for value in values:
            await copy.write_row(value)


async def plan_for_these_values(session: AsyncSession) -> None:
    """Have PostgreSQL plan each statement of this transaction for its actual values.

    psycopg prepares a statement run five times on a connection, and after a few more runs PostgreSQL may keep
    one generic plan for any values. For a report that is the plan for a book and a range it cannot see: a
    12-year report then scans the whole table (145 ms instead of 25). Planning anew costs about a millisecond.
    """
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def like_escape(text: str) -> str:
    """Text to find inside a LIKE pattern as itself: its %, _ and backslashes escaped (backslash is LIKE's escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
