"""Transfers: two linked legs between the book's accounts, also across currencies with the rate kept."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.errors import mark
from fintrack.ledger import service as ledger
from fintrack.transactions import queries
from fintrack.transactions.errors import InvalidTransfer, TransferNotFound
from fintrack.transactions.models import Transaction, Transfer
from fintrack.transactions.schemas import TransferCreate, TransferOut
from fintrack.transactions.service import outputs

RATE_PLACES = Decimal("1e-12")


async def create(session: AsyncSession, access: BookAccess, body: TransferCreate) -> TransferOut:
    access.require_write()
    if body.from_account_id == body.to_account_id:
        raise InvalidTransfer(mark("a transfer needs two different accounts"), field="to_account_id")
    source = await ledger.get_account(session, access, body.from_account_id)
    target = await ledger.get_account(session, access, body.to_account_id)
    amount = ledger.money(body.amount, source.currency, "amount")
    if amount <= 0:
        raise InvalidTransfer(mark("amount must be positive: it is what leaves the source account"), field="amount")
    if source.currency == target.currency:
        to_amount = amount
        if body.to_amount is not None and ledger.money(body.to_amount, target.currency, "to_amount") != amount:
            raise InvalidTransfer(
                mark("to_amount must equal amount between accounts of one currency"), field="to_amount"
            )
    else:
        if body.to_amount is None:
            raise InvalidTransfer(
                mark("to_amount is required: {source} to {target}"),
                values={"source": source.currency, "target": target.currency},
                field="to_amount",
            )
        to_amount = ledger.money(body.to_amount, target.currency, "to_amount")
        if to_amount <= 0:
            raise InvalidTransfer(mark("to_amount must be positive"), field="to_amount")
    rate = (to_amount / amount).quantize(RATE_PLACES)
    transfer = Transfer(book_id=access.id, rate=rate)
    session.add(transfer)
    await session.flush()
    legs = [
        Transaction(
            book_id=access.id,
            account_id=source.id,
            date=body.date,
            amount=-amount,
            currency=source.currency,
            description=body.description,
            memo=body.memo,
            transfer_id=transfer.id,
        ),
        Transaction(
            book_id=access.id,
            account_id=target.id,
            date=body.date,
            amount=to_amount,
            currency=target.currency,
            description=body.description,
            memo=body.memo,
            transfer_id=transfer.id,
        ),
    ]
    session.add_all(legs)
    await session.flush()
    return await _out(session, access, transfer, [leg.id for leg in legs])


async def get(session: AsyncSession, access: BookAccess, transfer_id: int) -> TransferOut:
    transfer = await queries.transfer(session, access.id, transfer_id)
    if transfer is None:
        raise TransferNotFound(transfer_id=transfer_id)
    legs = await queries.transfer_legs(session, transfer.id)
    return await _out(session, access, transfer, [leg.id for leg in legs])


async def delete(session: AsyncSession, access: BookAccess, transfer_id: int) -> None:
    access.require_write()
    transfer = await queries.transfer(session, access.id, transfer_id)
    if transfer is None:
        raise TransferNotFound(transfer_id=transfer_id)
    await session.delete(transfer)
    await session.flush()


async def _out(session: AsyncSession, access: BookAccess, transfer: Transfer, leg_ids: list[int]) -> TransferOut:
    source, target = await outputs(session, access.id, leg_ids)
    return TransferOut(
        id=transfer.id, rate=format(transfer.rate.normalize(), "f"), from_transaction=source, to_transaction=target
    )
