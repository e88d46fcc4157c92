"""HTTP routes for accounts, categories, payees, tags and FX rates of a book."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from fintrack.deps import CurrentBook, SessionDep
from fintrack.idempotency import IdempotencyDep
from fintrack.ledger import service as ledger
from fintrack.ledger.models import Account, Payee, Tag
from fintrack.ledger.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    FxRateOut,
    FxRatePut,
    NamedCreate,
    NamedOut,
)
from fintrack.money import format_amount
from fintrack.schemas import CurrencyCode

router = APIRouter(prefix="/api/v1")
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def account_out(account: Account, balance: object) -> AccountOut:
    return AccountOut(
        id=account.id,
        name=account.name,
        type=account.type,
        currency=account.currency,
        opening_balance=format_amount(account.opening_balance, account.currency),
        balance=format_amount(balance, account.currency),  # type: ignore[arg-type]
        archived=account.archived,
        created_at=account.created_at,
    )


async def _account_out(session: SessionDep, book: CurrentBook, account_id: int) -> AccountOut:
    for account, balance in await ledger.accounts_with_balances(session, book):
        if account.id == account_id:
            return account_out(account, balance)
    raise AssertionError("account vanished within the transaction")  # pragma: no cover


@router.get("/accounts", tags=["accounts"], summary="Accounts of the book with their current balances")
async def list_accounts(book: CurrentBook, session: SessionDep) -> list[AccountOut]:
    return [account_out(a, b) for a, b in await ledger.accounts_with_balances(session, book)]


@router.post("/accounts", tags=["accounts"], status_code=status.HTTP_201_CREATED, summary="Open an account")
async def create_account(
    body: AccountCreate, book: CurrentBook, session: SessionDep, idem: IdempotencyDep
) -> AccountOut:
    if replay := await idem.replay():
        return replay  # type: ignore[return-value]
    account = await ledger.create_account(
        session, book, body.name, body.type, body.currency, body.opening_balance, body.archived
    )
    return await idem.save(201, await _account_out(session, book, account.id))


@router.get("/accounts/{account_id}", tags=["accounts"], summary="One account with its balance")
async def get_account(account_id: ItemId, book: CurrentBook, session: SessionDep) -> AccountOut:
    await ledger.get_account(session, book, account_id)
    return await _account_out(session, book, account_id)


@router.patch(
    "/accounts/{account_id}", tags=["accounts"], summary="Rename, retype, archive or change the opening balance"
)
async def update_account(account_id: ItemId, body: AccountUpdate, book: CurrentBook, session: SessionDep) -> AccountOut:
    await ledger.update_account(session, book, account_id, **body.model_dump(exclude_unset=True))
    return await _account_out(session, book, account_id)


@router.delete(
    "/accounts/{account_id}",
    tags=["accounts"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an account without transactions",
)
async def delete_account(account_id: ItemId, book: CurrentBook, session: SessionDep) -> None:
    await ledger.delete_account(session, book, account_id)


def category_out(c: object) -> CategoryOut:
    return CategoryOut.model_validate(c, from_attributes=True)


@router.get("/categories", tags=["categories"], summary="Categories, parents before their children")
async def list_categories(book: CurrentBook, session: SessionDep) -> list[CategoryOut]:
    return [category_out(c) for c in await ledger.categories(session, book)]


@router.post("/categories", tags=["categories"], status_code=status.HTTP_201_CREATED, summary="Add a category")
async def create_category(
    body: CategoryCreate, book: CurrentBook, session: SessionDep, idem: IdempotencyDep
) -> CategoryOut:
    if replay := await idem.replay():
        return replay  # type: ignore[return-value]
    category = await ledger.create_category(session, book, body.name, body.kind, body.parent_id)
    return await idem.save(201, category_out(category))


@router.patch("/categories/{category_id}", tags=["categories"], summary="Rename a category")
async def update_category(
    category_id: ItemId, body: CategoryUpdate, book: CurrentBook, session: SessionDep
) -> CategoryOut:
    if body.name is None:
        return category_out(await ledger.get_category(session, book, category_id))
    return category_out(await ledger.rename_category(session, book, category_id, body.name))


@router.delete(
    "/categories/{category_id}",
    tags=["categories"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a category; its transactions become uncategorised",
)
async def delete_category(category_id: ItemId, book: CurrentBook, session: SessionDep) -> None:
    await ledger.delete_category(session, book, category_id)


def _named_routes(model: type[Payee] | type[Tag], path: str, tag: str) -> None:
    """Payees and tags: the same five routes over a named item of the book."""

    async def list_items(book: CurrentBook, session: SessionDep) -> list[NamedOut]:
        return [NamedOut(id=i.id, name=i.name) for i in await ledger.list_named(session, book, model)]

    async def create_item(body: NamedCreate, book: CurrentBook, session: SessionDep, idem: IdempotencyDep) -> NamedOut:
        if replay := await idem.replay():
            return replay  # type: ignore[return-value]
        item = await ledger.create_named(session, book, model, body.name)
        return await idem.save(201, NamedOut(id=item.id, name=item.name))

    async def get_item(item_id: ItemId, book: CurrentBook, session: SessionDep) -> NamedOut:
        item = await ledger.get_named(session, book, model, item_id)
        return NamedOut(id=item.id, name=item.name)

    async def rename_item(item_id: ItemId, body: NamedCreate, book: CurrentBook, session: SessionDep) -> NamedOut:
        item = await ledger.rename_named(session, book, model, item_id, body.name)
        return NamedOut(id=item.id, name=item.name)

    async def delete_item(item_id: ItemId, book: CurrentBook, session: SessionDep) -> None:
        await ledger.delete_named(session, book, model, item_id)

    router.add_api_route(
        f"/{path}", list_items, methods=["GET"], tags=[tag], summary=f"List {path}", name=f"list_{path}"
    )
    router.add_api_route(
        f"/{path}",
        create_item,
        methods=["POST"],
        tags=[tag],
        status_code=201,
        summary=f"Add to {path}",
        name=f"create_{path}",
    )
    router.add_api_route(f"/{path}/{{item_id}}", get_item, methods=["GET"], tags=[tag], name=f"get_{path}")
    router.add_api_route(f"/{path}/{{item_id}}", rename_item, methods=["PATCH"], tags=[tag], name=f"rename_{path}")
    router.add_api_route(
        f"/{path}/{{item_id}}", delete_item, methods=["DELETE"], tags=[tag], status_code=204, name=f"delete_{path}"
    )


_named_routes(Payee, "payees", "payees")
_named_routes(Tag, "tags", "tags")


@router.get("/fx-rates", tags=["fx"], summary="Stored FX rates (units of the base currency per unit)")
async def list_fx_rates(
    book: CurrentBook, session: SessionDep, currency: Annotated[CurrencyCode | None, Query()] = None
) -> list[FxRateOut]:
    return [
        FxRateOut(currency=r.currency, day=r.day, rate=format(r.rate.normalize(), "f"))
        for r in await ledger.fx_rates(session, book, currency)
    ]


@router.put("/fx-rates", tags=["fx"], summary="Store the rate of a currency on a day")
async def put_fx_rate(body: FxRatePut, book: CurrentBook, session: SessionDep) -> FxRateOut:
    row = await ledger.put_fx_rate(session, book, body.currency, body.day, body.rate)
    return FxRateOut(currency=row.currency, day=row.day, rate=format(row.rate.normalize(), "f"))
