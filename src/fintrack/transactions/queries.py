"""SQL of the transactions domain: the filtered, searchable, keyset-paginated list and its relations."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import ColumnElement, Row, and_, delete, exists, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.ledger.models import Category, Payee, Tag
from fintrack.transactions.models import Transaction, TransactionSplit, TransactionTag, Transfer


@dataclass
class Filters:
    account_ids: list[int] = field(default_factory=list)
    category_ids: list[int] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    q: str | None = None
    uncategorized: bool = False


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(book_id: int, q: str) -> ColumnElement[bool]:
    """Every word must appear (accents and case ignored) in the description, memo or payee name.

    fintrack_fold is IMMUTABLE, so the planner folds the pattern to a constant and uses the trigram index.
    """
    conditions = []
    for word in q.split()[:8]:
        pattern = func.fintrack_fold(literal(f"%{_like_escape(word)}%"))
        payees = select(Payee.id).where(Payee.book_id == book_id, func.fintrack_fold(Payee.name).like(pattern))
        conditions.append(or_(Transaction.search_text.like(pattern), Transaction.payee_id.in_(payees)))
    return and_(*conditions)


def _where(book_id: int, f: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Transaction.book_id == book_id]
    if f.account_ids:
        where.append(Transaction.account_id.in_(f.account_ids))
    if f.category_ids:
        in_split = exists().where(
            TransactionSplit.transaction_id == Transaction.id, TransactionSplit.category_id.in_(f.category_ids)
        )
        where.append(or_(Transaction.category_id.in_(f.category_ids), in_split))
    if f.uncategorized:
        no_split = ~exists().where(TransactionSplit.transaction_id == Transaction.id)
        where.append(and_(Transaction.category_id.is_(None), no_split))
    if f.tag_ids:
        where.append(
            exists().where(TransactionTag.transaction_id == Transaction.id, TransactionTag.tag_id.in_(f.tag_ids))
        )
    if f.date_from is not None:
        where.append(Transaction.date >= f.date_from)
    if f.date_to is not None:
        where.append(Transaction.date <= f.date_to)
    if f.amount_min is not None:
        where.append(Transaction.amount >= f.amount_min)
    if f.amount_max is not None:
        where.append(Transaction.amount <= f.amount_max)
    if f.q and f.q.strip():
        where.append(search_condition(book_id, f.q))
    return where


_COLUMNS = (
    Transaction.id,
    Transaction.account_id,
    Transaction.date,
    Transaction.amount,
    Transaction.currency,
    Transaction.payee_id,
    Payee.name.label("payee"),
    Transaction.description,
    Transaction.memo,
    Transaction.category_id,
    Transaction.notes,
    Transaction.external_id,
    Transaction.import_session_id,
    Transaction.source_line,
    Transaction.transfer_id,
    Transaction.created_at,
    Transaction.updated_at,
)


async def page(
    session: AsyncSession, book_id: int, filters: Filters, after: tuple[dt.date, int] | None, limit: int
) -> list[Row]:  # type: ignore[type-arg]
    """Newest first; `after` is the (date, id) of the last row of the previous page."""
    query = select(*_COLUMNS).outerjoin(Payee, Payee.id == Transaction.payee_id).where(*_where(book_id, filters))
    if after is not None:
        query = query.where(tuple_(Transaction.date, Transaction.id) < tuple_(literal(after[0]), literal(after[1])))
    query = query.order_by(Transaction.date.desc(), Transaction.id.desc()).limit(limit)
    return list(await session.execute(query))


async def rows_by_ids(session: AsyncSession, book_id: int, ids: list[int]) -> list[Row]:  # type: ignore[type-arg]
    query = (
        select(*_COLUMNS)
        .outerjoin(Payee, Payee.id == Transaction.payee_id)
        .where(Transaction.book_id == book_id, Transaction.id.in_(ids))
    )
    return list(await session.execute(query))


async def tags_for(session: AsyncSession, ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = defaultdict(list)
    if ids:
        rows = await session.execute(
            select(TransactionTag.transaction_id, Tag.name)
            .join(Tag, Tag.id == TransactionTag.tag_id)
            .where(TransactionTag.transaction_id.in_(ids))
            .order_by(Tag.name)
        )
        for transaction_id, name in rows:
            result[transaction_id].append(name)
    return result


async def splits_for(session: AsyncSession, ids: list[int]) -> dict[int, list[TransactionSplit]]:
    result: dict[int, list[TransactionSplit]] = defaultdict(list)
    if ids:
        rows = await session.scalars(
            select(TransactionSplit).where(TransactionSplit.transaction_id.in_(ids)).order_by(TransactionSplit.id)
        )
        for split in rows:
            result[split.transaction_id].append(split)
    return result


async def transaction(session: AsyncSession, book_id: int, transaction_id: int) -> Transaction | None:
    return await session.scalar(
        select(Transaction).where(Transaction.id == transaction_id, Transaction.book_id == book_id)
    )


async def transfer(session: AsyncSession, book_id: int, transfer_id: int) -> Transfer | None:
    return await session.scalar(select(Transfer).where(Transfer.id == transfer_id, Transfer.book_id == book_id))


async def transfer_legs(session: AsyncSession, transfer_id: int) -> list[Transaction]:
    """Source leg (negative amount) first."""
    rows = await session.scalars(
        select(Transaction).where(Transaction.transfer_id == transfer_id).order_by(Transaction.amount, Transaction.id)
    )
    return list(rows)


async def with_children(session: AsyncSession, book_id: int, category_ids: list[int]) -> list[int]:
    """Filtering by a parent category includes its subcategories."""
    rows = await session.scalars(
        select(Category.id).where(
            Category.book_id == book_id, or_(Category.id.in_(category_ids), Category.parent_id.in_(category_ids))
        )
    )
    return list(rows)


async def replace_tags(session: AsyncSession, transaction_id: int, tag_ids: list[int]) -> None:
    await session.execute(delete(TransactionTag).where(TransactionTag.transaction_id == transaction_id))
    if tag_ids:
        await session.execute(
            TransactionTag.__table__.insert(),
            [{"transaction_id": transaction_id, "tag_id": tag_id} for tag_id in tag_ids],
        )


async def replace_splits(session: AsyncSession, transaction_id: int, splits: list[dict[str, object]]) -> None:
    await session.execute(delete(TransactionSplit).where(TransactionSplit.transaction_id == transaction_id))
    if splits:
        await session.execute(
            TransactionSplit.__table__.insert(), [{"transaction_id": transaction_id, **s} for s in splits]
        )
