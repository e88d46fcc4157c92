"""Shared fixtures: one embedded PostgreSQL per run, each test inside a transaction rolled back at its end."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from fintrack import migrate, pgserver
from fintrack.db import Database
from fintrack.settings import Settings

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
PASSWORD = "correct horse battery staple"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def pg_data_dir() -> Iterator[Path]:
    # Short path: the server's unix socket lives here and socket paths are limited to ~100 bytes.
    with tempfile.TemporaryDirectory(prefix="ft-pg-") as path:
        yield Path(path)


@pytest.fixture(scope="session")
def database_url(pg_data_dir: Path) -> str:
    url = pgserver.start(pg_data_dir, database="fintrack_test")
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(pg_data_dir: Path, database_url: str) -> Settings:
    return Settings(
        FINTRACK_ENV="test",
        FINTRACK_DATA_DIR=pg_data_dir,
        DATABASE_URL=database_url,
        SECRET_KEY=TEST_SECRET,
        LOG_LEVEL="WARNING",
        WORKER_IN_PROCESS=False,
    )


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


@pytest.fixture
def db(engine: AsyncEngine, connection: AsyncConnection) -> Database:
    """A Database whose sessions all join the test's transaction through savepoints."""
    maker = async_sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
    return Database(engine=engine, sessionmaker=maker)


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    async with db.sessionmaker() as session, session.begin():
        yield session


@pytest.fixture(scope="session")
def app(settings: Settings):  # type: ignore[no-untyped-def]
    from fintrack.main import create_app

    return create_app(settings, database=Database(engine=None, sessionmaker=None))  # type: ignore[arg-type]


@pytest.fixture
async def client(app, db: Database) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    app.state.db = db
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@dataclass
class Committed:
    """A database whose writes are committed, so a worker (another connection) sees them; empty at each test."""

    db: Database
    settings: Settings

    async def run_jobs(self, queues: list[str] | None = None) -> None:
        """Run a worker until no job is due: retries due at once and jobs deferred by jobs included."""
        from fintrack.jobs.worker import run_until_idle

        await run_until_idle(self.db, self.settings, queues=queues)


@pytest.fixture(scope="session")
def committed_url(database_url: str) -> str:
    url = pgserver.create_database("fintrack_committed")
    migrate.upgrade(url)
    return url


@pytest.fixture
async def committed(committed_url: str, settings: Settings) -> AsyncIterator[Committed]:
    """For tests of background jobs: write with `committed.db.sessionmaker()` (commit), then `run_jobs()`."""
    from sqlalchemy import text

    database = Database.connect(committed_url, pool_size=4)
    async with database.engine.begin() as connection:
        tables = await connection.scalars(
            text(
                "SELECT quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
            )
        )
        await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    yield Committed(database, settings.model_copy(update={"DATABASE_URL": committed_url}))
    await database.close()


@pytest.fixture
async def committed_client(app, committed: Committed) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The API on the committed database: what a request defers, `committed.run_jobs()` then runs."""
    app.state.db = committed.db
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@dataclass
class Persona:
    """A user with a token, and a client that sends it."""

    email: str
    user_id: int
    book_id: int
    token: str
    client: httpx.AsyncClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, url: str, **kw: object) -> httpx.Response:
        return await self.client.get(url, headers=self.headers, **kw)  # type: ignore[arg-type]

    async def post(self, url: str, **kw: object) -> httpx.Response:
        return await self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)  # type: ignore[arg-type, dict-item]

    async def patch(self, url: str, **kw: object) -> httpx.Response:
        return await self.client.patch(url, headers=self.headers, **kw)  # type: ignore[arg-type]

    async def put(self, url: str, **kw: object) -> httpx.Response:
        return await self.client.put(url, headers=self.headers, **kw)  # type: ignore[arg-type]

    async def delete(self, url: str, **kw: object) -> httpx.Response:
        return await self.client.delete(url, headers=self.headers, **kw)  # type: ignore[arg-type]


async def make_persona(
    db: Database,
    client: httpx.AsyncClient,
    email: str,
    *,
    locale: str = "pt-BR",
    currency: str = "BRL",
    scopes: list[str] | None = None,
) -> Persona:
    from fintrack.auth import service as auth
    from fintrack.auth.scopes import Scope

    async with db.sessionmaker() as session, session.begin():
        user = await auth.create_user(session, email, PASSWORD, locale=locale, base_currency=currency)
        _, token = await auth.create_token(session, user, "test", [Scope(s) for s in (scopes or ["api"])])
        return Persona(email, user.id, user.default_book_id or 0, token, client)


@pytest.fixture
async def alice(db: Database, client: httpx.AsyncClient) -> Persona:
    return await make_persona(db, client, "alice@example.com")


@pytest.fixture
async def bob(db: Database, client: httpx.AsyncClient) -> Persona:
    """Bob keeps his own household's book: he must never see or touch Alice's."""
    return await make_persona(db, client, "bob@example.com", locale="en", currency="USD")


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/fintrack-runtime-{os.getuid()}")
