"""Schemathesis fuzzes every operation of the OpenAPI document: no 5xx, every 4xx in the error shape."""

from __future__ import annotations

import datetime as dt
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from fintrack import migrate, pgserver
from fintrack.db import Database
from fintrack.ledger.models import AccountType
from fintrack.settings import Settings
from tests.conftest import PASSWORD, TEST_SECRET

pytestmark = pytest.mark.slow

SEED = 20261123
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def fuzz_url(database_url: str) -> str:
    """A committed database of its own: schemathesis calls the app from its own thread and event loop,
    where the test's rolled-back connection cannot follow."""
    url = pgserver.create_database("fintrack_fuzz")
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="module")
async def fuzz_token(fuzz_url: str) -> str:
    """An admin with one of everything: the fuzzer favours small ids, so id 1 of each kind exists."""
    from fintrack.auth import service as auth
    from fintrack.auth.scopes import Scope
    from fintrack.books.access import access
    from fintrack.ledger import service as ledger
    from fintrack.transactions import service as transactions
    from fintrack.transactions import transfers
    from fintrack.transactions.schemas import SplitIn, TransactionCreate, TransferCreate

    engine = create_async_engine(fuzz_url, poolclass=NullPool)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
            user = await auth.create_user(session, "fuzz@example.com", PASSWORD, is_admin=True)
            book = await access(session, user.id, None, user.default_book_id)
            checking = await ledger.create_account(session, book, "Conta", AccountType.checking, None, "100.00")
            dollars = await ledger.create_account(session, book, "Dollars", AccountType.savings, "USD", "10.00")
            categories = await ledger.categories(session, book)
            await transactions.create(
                session,
                book,
                TransactionCreate(
                    account_id=checking.id,
                    date=dt.date(2026, 11, 2),
                    amount="-30.00",
                    payee="Mercado",
                    tags=["casa"],
                    splits=[
                        SplitIn(category_id=categories[1].id, amount="-20.00"),
                        SplitIn(category_id=categories[2].id, amount="-10.00"),
                    ],
                ),
            )
            await transfers.create(
                session,
                book,
                TransferCreate(
                    from_account_id=checking.id,
                    to_account_id=dollars.id,
                    date=dt.date(2026, 11, 3),
                    amount="54.00",
                    to_amount="10.00",
                ),
            )
            await ledger.put_fx_rate(session, book, "USD", dt.date(2026, 11, 1), "5.4")
            for n in range(3):
                await auth.create_token(session, user, f"spare {n}", [Scope.api])
            # Keep the token the fuzzer authenticates with out of DELETE /tokens/{id}'s reach.
            await session.execute(text("SELECT setval(pg_get_serial_sequence('api_tokens', 'id'), 7000000000)"))
            _, token = await auth.create_token(session, user, "fuzz", list(Scope))
    finally:
        await engine.dispose()
    return token


def _document() -> dict[str, Any]:
    """The app's OpenAPI document, read at collection time: schemathesis makes one test per operation."""
    from fintrack.main import create_app

    app = create_app(
        Settings(FINTRACK_ENV="test", SECRET_KEY=TEST_SECRET, LOG_LEVEL="WARNING"),
        database=Database(engine=None, sessionmaker=None),  # type: ignore[arg-type]
    )
    return app.openapi()


schema = schemathesis.openapi.from_dict(
    _document(),
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True},
            # An accepted event stream never ends by itself: it is read up to its first event (whatever comes first
            # comes within milliseconds, with no publication needed), then validated like any response.
            "max-stream-events": 1,
        }
    ),
)


@pytest.fixture(scope="module")
def fuzz_app(settings: Settings, fuzz_url: str):  # type: ignore[no-untyped-def]
    from fintrack.main import create_app

    # Schemathesis serves the app from its own thread and event loop, so the pool's connections belong to that
    # loop: they are closed there too, when schemathesis ends the app's lifespan.
    database = Database.connect(fuzz_url, pool_size=2)
    app = create_app(settings, database=database)

    async def served(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        finally:
            if scope["type"] == "lifespan":
                await database.close()

    yield served
    asgi.shutdown_lifespans()


def _error_shape(body: Any) -> bool:
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return False
    error = body["error"]
    return (
        set(error) == {"code", "message", "details"}
        and isinstance(error["code"], str)
        and isinstance(error["message"], str)
        and isinstance(error["details"], dict)
    )


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_no_operation_fails_on_our_side(case, fuzz_app, fuzz_token):  # type: ignore[no-untyped-def]
    response = case.call(app=fuzz_app, headers={"Authorization": f"Bearer {fuzz_token}"})
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            negative_data_rejection,
        ],
    )
    if 400 <= response.status_code < 500:
        assert _error_shape(response.json()), f"{case.method} {case.formatted_path}: {response.text}"


# What the fuzzer found, pinned so a change to the fuzz run cannot lose them.


async def test_nul_characters_are_refused_before_they_reach_the_database(alice):
    for response in (
        await alice.post("/api/v1/payees", json={"name": "\x00"}),
        await alice.post("/api/v1/auth/login", json={"email": "a@b.c\x00", "password": "x"}),
        await alice.get("/api/v1/transactions", params={"q": "caf\x00"}),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid"
    kept = await alice.post("/api/v1/payees", json={"name": "C:\\u0000 is text, not NUL"})
    assert kept.status_code == 201 and kept.json()["name"] == "C:\\u0000 is text, not NUL"


async def test_dates_are_iso_text_never_seconds_since_1970(alice):
    account = (await alice.post("/api/v1/accounts", json={"name": "Conta"})).json()
    for response in (
        await alice.get("/api/v1/reports/balances", params={"as_of": "20261101"}),
        await alice.get("/api/v1/transactions", params={"date_to": "0"}),
        await alice.post("/api/v1/transactions", json={"account_id": account["id"], "date": 0, "amount": "1"}),
        await alice.put("/api/v1/fx-rates", json={"currency": "USD", "day": 1700000000, "rate": "5"}),
        await alice.post("/api/v1/tokens", json={"expires_at": 0}),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "validation_error"
    assert (await alice.get("/api/v1/reports/balances", params={"as_of": "2026-11-01"})).status_code == 200
