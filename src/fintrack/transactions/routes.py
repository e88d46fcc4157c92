"""HTTP routes for transactions (search, bulk) and transfers."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from fintrack.budgets import flows as budget_flows
from fintrack.categorize import service as categorize
from fintrack.deps import CurrentBook, SessionDep
from fintrack.idempotency import IdempotencyDep
from fintrack.recurring import flows as recurring_flows
from fintrack.schemas import AmountStr, IsoDate, Page
from fintrack.transactions import queries, transfers
from fintrack.transactions import service as transactions
from fintrack.transactions.schemas import (
    BulkCreate,
    BulkCreated,
    TransactionCreate,
    TransactionOut,
    TransactionUpdate,
    TransferCreate,
    TransferOut,
)

router = APIRouter(prefix="/api/v1")
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Ids = Annotated[list[Annotated[int, Query(ge=1, le=2**63 - 1)]], Query(max_length=100)]


@router.get("/transactions", tags=["transactions"], summary="Search and filter, newest first, keyset-paginated")
async def list_transactions(
    book: CurrentBook,
    session: SessionDep,
    account_id: Ids = [],  # noqa: B006 - FastAPI copies defaults
    category_id: Ids = [],  # noqa: B006
    tag_id: Ids = [],  # noqa: B006
    date_from: Annotated[IsoDate | None, Query()] = None,
    date_to: Annotated[IsoDate | None, Query()] = None,
    amount_min: Annotated[AmountStr | None, Query()] = None,
    amount_max: Annotated[AmountStr | None, Query()] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Words to find in description, memo or payee; accents and case ignored"),
    ] = None,
    uncategorized: Annotated[bool, Query()] = False,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[TransactionOut]:
    filters = queries.Filters(
        account_ids=account_id,
        category_ids=category_id,
        tag_ids=tag_id,
        date_from=date_from,
        date_to=date_to,
        amount_min=Decimal(amount_min) if amount_min else None,
        amount_max=Decimal(amount_max) if amount_max else None,
        q=q,
        uncategorized=uncategorized,
    )
    items, next_cursor = await transactions.search(session, book, filters, cursor, limit)
    return Page[TransactionOut](items=items, next_cursor=next_cursor)


@router.post(
    "/transactions", tags=["transactions"], status_code=status.HTTP_201_CREATED, summary="Record a transaction"
)
async def create_transaction(
    body: TransactionCreate, book: CurrentBook, session: SessionDep, idem: IdempotencyDep
) -> TransactionOut:
    if replay := await idem.replay():
        return replay  # type: ignore[return-value]
    created = await idem.save(201, await transactions.create(session, book, body))
    await budget_flows.spending_changed(session, book.id, [created.date])  # last: it may emit hub events
    return created


@router.post(
    "/transactions/bulk",
    tags=["transactions"],
    status_code=status.HTTP_201_CREATED,
    summary="Record up to 1000 transactions at once: all or nothing",
)
async def create_transactions(
    body: BulkCreate, book: CurrentBook, session: SessionDep, idem: IdempotencyDep
) -> BulkCreated:
    if replay := await idem.replay():
        return replay  # type: ignore[return-value]
    ids = await transactions.create_many(session, book, body.transactions)
    await recurring_flows.history_grew(session, book.id)
    created = await idem.save(201, BulkCreated(created=len(ids), ids=ids))
    await budget_flows.spending_changed(session, book.id, [t.date for t in body.transactions])
    return created


@router.get("/transactions/{transaction_id}", tags=["transactions"], summary="One transaction")
async def get_transaction(transaction_id: ItemId, book: CurrentBook, session: SessionDep) -> TransactionOut:
    return await transactions.get(session, book, transaction_id)


@router.patch(
    "/transactions/{transaction_id}",
    tags=["transactions"],
    summary="Change the fields you send; null clears an optional field",
)
async def update_transaction(
    transaction_id: ItemId, body: TransactionUpdate, book: CurrentBook, session: SessionDep
) -> TransactionOut:
    changes = body.model_dump(exclude_unset=True)
    updated = await transactions.update(session, book, transaction_id, changes)
    if changes.keys() & {"category_id", "description", "memo", "payee", "splits"}:
        # A correction is learned at once: the next suggestion already counts this transaction.
        await categorize.learn(session, book.id, [updated.id])
    if changes.keys() & {"account_id", "date", "amount", "category_id", "splits"}:
        await budget_flows.spending_changed(session, book.id, [updated.date])
    return updated


@router.delete(
    "/transactions/{transaction_id}",
    tags=["transactions"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a transaction (both legs, for a transfer)",
)
async def delete_transaction(transaction_id: ItemId, book: CurrentBook, session: SessionDep) -> None:
    day = await transactions.delete(session, book, transaction_id)
    await budget_flows.spending_changed(session, book.id, [day])


@router.post(
    "/transfers",
    tags=["transfers"],
    status_code=status.HTTP_201_CREATED,
    summary="Move money between two accounts of the book, also across currencies",
)
async def create_transfer(
    body: TransferCreate, book: CurrentBook, session: SessionDep, idem: IdempotencyDep
) -> TransferOut:
    if replay := await idem.replay():
        return replay  # type: ignore[return-value]
    return await idem.save(201, await transfers.create(session, book, body))


@router.get("/transfers/{transfer_id}", tags=["transfers"], summary="One transfer with both legs")
async def get_transfer(transfer_id: ItemId, book: CurrentBook, session: SessionDep) -> TransferOut:
    return await transfers.get(session, book, transfer_id)


@router.delete(
    "/transfers/{transfer_id}",
    tags=["transfers"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a transfer and both its legs",
)
async def delete_transfer(transfer_id: ItemId, book: CurrentBook, session: SessionDep) -> None:
    await transfers.delete(session, book, transfer_id)
