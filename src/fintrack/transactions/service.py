"""Creating, changing, listing and deleting transactions; splits and tags ride along."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.errors import DomainError, mark
from fintrack.ledger import queries as ledger_queries
from fintrack.ledger import service as ledger
from fintrack.ledger.errors import AccountNotFound, CategoryNotFound
from fintrack.ledger.models import Account, Payee, Tag
from fintrack.money import format_amount
from fintrack.transactions import queries
from fintrack.transactions.errors import (
    BulkInvalid,
    CurrencyMismatch,
    InvalidCursor,
    SplitMismatch,
    TransactionNotFound,
    TransferLegLocked,
)
from fintrack.transactions.models import Tombstone
from fintrack.transactions.schemas import SplitIn, SplitOut, TransactionCreate, TransactionOut

MAX_ERRORS_REPORTED = 100


class _Refs:
    """What a batch refers to, looked up once: accounts, categories, payee and tag ids."""

    def __init__(
        self, accounts: dict[int, Account], categories: set[int], payees: dict[str, int], tags: dict[str, int]
    ) -> None:
        self.accounts, self.categories, self.payees, self.tags = accounts, categories, payees, tags

    @classmethod
    async def load(cls, session: AsyncSession, book_id: int, items: Sequence[TransactionCreate]) -> _Refs:
        account_ids = {i.account_id for i in items}
        category_ids = {i.category_id for i in items if i.category_id} | {
            s.category_id for i in items for s in (i.splits or []) if s.category_id
        }
        payee_names = {i.payee for i in items if i.payee}
        tag_names = {t for i in items for t in i.tags}
        return cls(
            await ledger_queries.accounts_by_ids(session, book_id, account_ids),
            await ledger_queries.category_ids(session, book_id, category_ids) if category_ids else set(),
            await ledger.ids_for_names(session, book_id, Payee, payee_names) if payee_names else {},
            await ledger.ids_for_names(session, book_id, Tag, tag_names) if tag_names else {},
        )

    def category(self, category_id: int | None, field: str) -> int | None:
        if category_id is not None and category_id not in self.categories:
            raise CategoryNotFound(field=field, category_id=category_id)
        return category_id


def _splits(parts: list[SplitIn], amount: Decimal, currency: str, refs: _Refs) -> list[dict[str, Any]]:
    if len(parts) < 2:
        raise SplitMismatch(mark("a split needs at least two parts"), field="splits")
    amounts = [ledger.money(p.amount, currency, f"splits[{n}].amount") for n, p in enumerate(parts)]
    rows = [
        {"category_id": refs.category(p.category_id, f"splits[{n}].category_id"), "amount": a, "memo": p.memo}
        for n, (p, a) in enumerate(zip(parts, amounts, strict=True))
    ]
    total = sum(amounts, Decimal(0))
    if total != amount:
        raise SplitMismatch(
            mark("split parts sum to {parts_total} but the amount is {amount}"),
            values={"parts_total": format_amount(total, currency), "amount": format_amount(amount, currency)},
            field="splits",
            parts_total=format_amount(total, currency),
            amount=format_amount(amount, currency),
        )
    return rows


def _row(item: TransactionCreate, book_id: int, refs: _Refs) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    account = refs.accounts.get(item.account_id)
    if account is None:
        raise AccountNotFound(field="account_id", account_id=item.account_id)
    if item.currency is not None and item.currency != account.currency:
        raise CurrencyMismatch(
            mark("the account is in {account}, the transaction in {transaction}"),
            values={"account": account.currency, "transaction": item.currency},
            field="currency",
        )
    amount = ledger.money(item.amount, account.currency, "amount")
    splits = _splits(item.splits, amount, account.currency, refs) if item.splits else []
    row = {
        "book_id": book_id,
        "account_id": account.id,
        "date": item.date,
        "amount": amount,
        "currency": account.currency,
        "payee_id": refs.payees.get(item.payee.lower()) if item.payee else None,
        "description": item.description,
        "memo": item.memo,
        "category_id": None if splits else refs.category(item.category_id, "category_id"),
        "notes": item.notes,
        "external_id": item.external_id,
    }
    return row, splits


async def create_many(
    session: AsyncSession,
    access: BookAccess,
    items: Sequence[TransactionCreate],
    *,
    import_session_id: int | None = None,
    source_lines: Sequence[int] | None = None,
) -> list[int]:
    """Validate every item, then insert all or nothing. Errors name the item's index and field."""
    access.require_write()
    refs = await _Refs.load(session, access.id, items)
    rows, split_rows, tag_rows, errors = [], [], [], []
    for index, item in enumerate(items):
        try:
            row, splits = _row(item, access.id, refs)
        except DomainError as exc:
            if len(items) == 1:
                raise
            errors.append({"index": index, "code": exc.code, "message": exc.message, **exc.details})
            continue
        row["import_session_id"] = import_session_id
        row["source_line"] = source_lines[index] if source_lines else None
        rows.append(row)
        split_rows.append(splits)
        tag_rows.append(sorted({refs.tags[t.lower()] for t in item.tags}))
    if errors:
        raise BulkInvalid(
            mark("{count} of {total} transactions are invalid; nothing was written"),
            values={"count": len(errors), "total": len(items)},
            errors=errors[:MAX_ERRORS_REPORTED],
            error_count=len(errors),
        )
    ids = await queries.insert_transactions(session, rows)
    await queries.insert_splits(
        session, [{"transaction_id": i, **s} for i, parts in zip(ids, split_rows, strict=True) for s in parts]
    )
    await queries.insert_tags(
        session, [{"transaction_id": i, "tag_id": t} for i, tag_ids in zip(ids, tag_rows, strict=True) for t in tag_ids]
    )
    return ids


async def create(session: AsyncSession, access: BookAccess, item: TransactionCreate) -> TransactionOut:
    (new_id,) = await create_many(session, access, [item])
    return (await outputs(session, access.id, [new_id]))[0]


async def get(session: AsyncSession, access: BookAccess, transaction_id: int) -> TransactionOut:
    found = await outputs(session, access.id, [transaction_id])
    if not found:
        raise TransactionNotFound(transaction_id=transaction_id)
    return found[0]


async def update(
    session: AsyncSession, access: BookAccess, transaction_id: int, changes: dict[str, Any]
) -> TransactionOut:
    """Apply only the fields the caller sent; an explicit null clears a field."""
    access.require_write()
    tx = await queries.transaction(session, access.id, transaction_id)
    if tx is None:
        raise TransactionNotFound(transaction_id=transaction_id)
    locked = {"account_id", "date", "amount", "splits"} & changes.keys()
    if tx.transfer_id is not None and locked:
        raise TransferLegLocked(fields=sorted(locked))
    probe = TransactionCreate(
        account_id=changes.get("account_id") or tx.account_id,
        date=changes.get("date") or tx.date,
        amount=changes["amount"] if changes.get("amount") is not None else format_amount(tx.amount, tx.currency),
        payee=changes.get("payee"),
        category_id=changes.get("category_id"),
        tags=changes.get("tags") or [],
        splits=[SplitIn(**s) for s in changes["splits"]] if changes.get("splits") else None,
    )
    refs = await _Refs.load(session, access.id, [probe])
    row, splits = _row(probe, access.id, refs)
    if "amount" in changes and "splits" not in changes:
        existing = (await queries.splits_for(session, [tx.id])).get(tx.id, [])
        if existing and sum((s.amount for s in existing), Decimal(0)) != row["amount"]:
            raise SplitMismatch(
                mark("the new amount differs from the sum of the splits: send new splits too"), field="amount"
            )
    for name in ("account_id", "date", "amount", "currency"):
        setattr(tx, name, row[name])
    for name in ("description", "memo", "notes"):
        if name in changes:
            setattr(tx, name, changes[name] if changes[name] is not None or name != "description" else "")
    if "payee" in changes:
        tx.payee_id = row["payee_id"]
    if "category_id" in changes:
        tx.category_id = row["category_id"]
    if "splits" in changes:
        await queries.replace_splits(session, tx.id, splits)
        if splits:
            tx.category_id = None
    if "tags" in changes:
        await queries.replace_tags(session, tx.id, sorted({refs.tags[t.lower()] for t in probe.tags}))
    tx.updated_at = dt.datetime.now(dt.UTC)
    await session.flush()
    return await get(session, access, tx.id)


async def delete(session: AsyncSession, access: BookAccess, transaction_id: int) -> dt.date:
    """Deleting one leg of a transfer deletes the transfer: half a transfer would unbalance the books.

    Returns the transaction's date (a deleted refund raises that month's spending: budgets check it)."""
    access.require_write()
    tx = await queries.transaction(session, access.id, transaction_id)
    if tx is None:
        raise TransactionNotFound(transaction_id=transaction_id)
    if tx.transfer_id is not None:
        transfer = await queries.transfer(session, access.id, tx.transfer_id)
        await session.delete(transfer)
    else:
        # The tombstone keeps a later import of the same statement from quietly bringing it back.
        session.add(
            Tombstone(
                book_id=tx.book_id,
                account_id=tx.account_id,
                date=tx.date,
                amount=tx.amount,
                description=tx.description,
                external_id=tx.external_id,
            )
        )
        await session.delete(tx)
    await session.flush()
    return tx.date


def encode_cursor(date: dt.date, transaction_id: int) -> str:
    return base64.urlsafe_b64encode(f"{date.isoformat()}|{transaction_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.date, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        day, _, ident = raw.partition("|")
        return dt.date.fromisoformat(day), int(ident)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(field="cursor") from None


async def search(
    session: AsyncSession, access: BookAccess, filters: queries.Filters, cursor: str | None, limit: int
) -> tuple[list[TransactionOut], str | None]:
    after = decode_cursor(cursor) if cursor else None
    if filters.category_ids:
        filters.category_ids = await queries.with_children(session, access.id, filters.category_ids) or [0]
    rows = await queries.page(session, access.id, filters, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    items = await _outputs_for(session, rows)
    next_cursor = encode_cursor(rows[-1].date, rows[-1].id) if more else None
    return items, next_cursor


async def outputs(session: AsyncSession, book_id: int, ids: list[int]) -> list[TransactionOut]:
    rows = await queries.rows_by_ids(session, book_id, ids)
    order = {i: n for n, i in enumerate(ids)}
    return await _outputs_for(session, sorted(rows, key=lambda r: order[r.id]))


async def _outputs_for(session: AsyncSession, rows: Sequence[Any]) -> list[TransactionOut]:
    ids = [r.id for r in rows]
    tags = await queries.tags_for(session, ids)
    splits = await queries.splits_for(session, ids)
    return [
        TransactionOut(
            **{
                k: getattr(r, k)
                for k in (
                    "id",
                    "account_id",
                    "date",
                    "currency",
                    "payee_id",
                    "payee",
                    "description",
                    "memo",
                    "category_id",
                    "notes",
                    "external_id",
                    "import_session_id",
                    "source_line",
                    "transfer_id",
                    "created_at",
                    "updated_at",
                )
            },
            amount=format_amount(r.amount, r.currency),
            tags=tags.get(r.id, []),
            splits=[
                SplitOut(id=s.id, category_id=s.category_id, amount=format_amount(s.amount, r.currency), memo=s.memo)
                for s in splits.get(r.id, [])
            ],
        )
        for r in rows
    ]


async def balance_after(
    session: AsyncSession, access: BookAccess, account_id: int, at: tuple[dt.date, int] | None
) -> Decimal:
    """An account's balance just after the transaction at `at` (date, id) in register order, or its current
    balance: what a register page starts its running balance from."""
    account = await ledger.get_account(session, access, account_id)
    current = (await ledger_queries.balances(session, access.id)).get(account.id, account.opening_balance)
    if at is None:
        return current
    return current - await queries.sum_after(session, access.id, account.id, *at)
