"""SQL of the transactions domain: the filtered, searchable, keyset-paginated list and its relations."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    any_,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from fintrack.db import copy_rows, like_escape
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


def _words(q: str | None) -> list[str]:
    return q.split()[:8] if q else []


def _pattern(word: str) -> ColumnElement[str]:
    # fintrack_fold is IMMUTABLE, so the planner folds the pattern to a constant and can use the trigram index.
    return func.fintrack_fold(literal(f"%{like_escape(word)}%"))


async def payees_matching(session: AsyncSession, book_id: int, words: list[str]) -> list[list[int]]:
    """For each word, the ids of the book's payees whose name contains it (accents and case ignored)."""
    if not words:
        return []
    per_word = [
        select(literal(n).label("word"), Payee.id).where(
            Payee.book_id == book_id, func.fintrack_fold(Payee.name).like(_pattern(word))
        )
        for n, word in enumerate(words)
    ]
    found: list[list[int]] = [[] for _ in words]
    for n, payee_id in await session.execute(union_all(*per_word)):
        found[n].append(payee_id)
    return found


def search_condition(t: type[Transaction], words: list[str], payee_ids: list[list[int]]) -> ColumnElement[bool]:
    """Every word must appear (accents and case ignored) in the description, memo or payee name.

    The payees are looked up first (payees_matching) and passed as values: as a subquery, `payee_id IN (...)`
    made the planner guess that half the book matched any word, so a word found nowhere walked all of it
    (0.95 s at 1M rows); with the ids it sees the payees' real share and picks the trigram index for rare words.
    """
    conditions = []
    for word, payees in zip(words, payee_ids, strict=True):
        in_text = t.search_text.like(_pattern(word))
        conditions.append(or_(in_text, t.payee_id.in_(payees)) if payees else in_text)
    return and_(*conditions)


def _where(book_id: int, f: Filters) -> list[ColumnElement[bool]]:
    """Every filter but the words and the category, which page() applies (see there)."""
    where: list[ColumnElement[bool]] = [Transaction.book_id == book_id]
    if f.account_ids:
        where.append(Transaction.account_id.in_(f.account_ids))
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
    return where


def _columns(t: type[Transaction], payee: Any = Payee.name) -> tuple[Any, ...]:
    return (
        t.id,
        t.account_id,
        t.date,
        t.amount,
        t.currency,
        t.payee_id,
        payee.label("payee"),
        t.description,
        t.memo,
        t.category_id,
        t.notes,
        t.external_id,
        t.import_session_id,
        t.source_line,
        t.transfer_id,
        t.created_at,
        t.updated_at,
    )


def _newest(t: type[Transaction], where: list[ColumnElement[bool]], limit: int) -> Select[Any]:
    return (
        select(*_columns(t))
        .outerjoin(Payee, Payee.id == t.payee_id)
        .where(*where)
        .order_by(t.date.desc(), t.id.desc())
        .limit(limit)
    )


# The words of one search tend to come together ("pao acucar", "posto ipiranga") but the planner multiplies
# their shares as if they were independent, expects a few hundred rows, and fetches and sorts every match from
# the trigram index (60-140 ms for a merchant's two words at 1M rows). So a search of several words first
# reads the newest RECENT_ROWS rows the other filters allow (about 1 us each): a full page there is the answer,
# since every match outside is older; otherwise the matches are sparse and the trigram index is the right plan.
RECENT_ROWS = 5000


# Matches of several words counted through the trigram indexes before the date-ordered scan is trusted.
FEW_MATCHES = 2000


async def page(
    session: AsyncSession, book_id: int, filters: Filters, after: tuple[dt.date, int] | None, limit: int
) -> list[Row]:
    """Newest first; `after` is the (date, id) of the last row of the previous page."""
    where = _where(book_id, filters)
    if after is not None:
        where.append(tuple_(Transaction.date, Transaction.id) < tuple_(literal(after[0]), literal(after[1])))
    words = _words(filters.q)
    payee_ids = await payees_matching(session, book_id, words)
    if len(words) > 1 and not filters.category_ids:
        newest = select(Transaction).where(*where).order_by(Transaction.date.desc(), Transaction.id.desc())
        recent = aliased(Transaction, newest.limit(RECENT_ROWS).subquery("recent"))
        # The payee's name as a subquery, not a join, keeps the rows in date order, so the scan stops at a page.
        payee = select(Payee.name).where(Payee.id == recent.payee_id).scalar_subquery()
        query = (
            select(*_columns(recent, payee))
            .where(search_condition(recent, words, payee_ids))
            .order_by(recent.date.desc(), recent.id.desc())
            .limit(limit)
        )
        rows = list(await session.execute(query))
        if len(rows) == limit:
            return rows
    if words:
        where.append(search_condition(Transaction, words, payee_ids))
        if len(words) > 1 and not filters.category_ids:
            # The newest rows did not fill a page: the words are rare together. The planner cannot know that
            # ("sao" and "joao" are each common) and would walk the date index through the whole book looking
            # for a page (1.8 s at 1M rows). Unordered, the matches come from the trigram indexes (a bitmap
            # scan); when they are few, sort them here.
            few = list(await session.scalars(select(Transaction.id).where(*where).limit(FEW_MATCHES + 1)))
            if len(few) <= FEW_MATCHES:
                ids = [Transaction.book_id == book_id, Transaction.id.in_(few)]
                return list(await session.execute(_newest(Transaction, ids, limit))) if few else []
    if not filters.category_ids:
        return list(await session.execute(_newest(Transaction, where, limit)))
    # A category matches a transaction's own category or one of its splits. Written as one OR, the planner
    # could use no index for it and guessed half the book matched, so a category with few transactions walked
    # every row (0.9 s at 1M rows). As two branches each gets a plan of its own: the category index (or the
    # date index, for a common category), and the few split transactions fetched by id then sorted; the
    # second branch skips rows the first has, and at most 2 * limit rows are merged here.
    in_category = Transaction.category_id.in_(filters.category_ids)
    split_ids = select(TransactionSplit.transaction_id).where(TransactionSplit.category_id.in_(filters.category_ids))
    in_split = Transaction.id == any_(func.array(split_ids.scalar_subquery()))
    both = union_all(
        _newest(Transaction, [*where, in_category], limit),
        _newest(Transaction, [*where, in_category.is_not(True), in_split], limit),
    ).subquery()
    return list(await session.execute(select(both).order_by(both.c.date.desc(), both.c.id.desc()).limit(limit)))


async def rows_by_ids(session: AsyncSession, book_id: int, ids: list[int]) -> list[Row]:
    query = (
        select(*_columns(Transaction))
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
    await insert_tags(session, [{"transaction_id": transaction_id, "tag_id": tag_id} for tag_id in tag_ids])


async def replace_splits(session: AsyncSession, transaction_id: int, splits: list[dict[str, object]]) -> None:
    await session.execute(delete(TransactionSplit).where(TransactionSplit.transaction_id == transaction_id))
    await insert_splits(session, [{"transaction_id": transaction_id, **s} for s in splits])


# Bulk writes stream through COPY. INSERT ... VALUES pages cost more on the client than in the database: the
# ORM starts a new statement wherever a row's set of None columns differs from the previous row's, and psycopg
# re-parses each page (a 1000-row page has 14,000 placeholders, too long for its statement cache).
TRANSACTION_COLUMNS = (
    "book_id",
    "account_id",
    "date",
    "amount",
    "currency",
    "payee_id",
    "description",
    "memo",
    "category_id",
    "notes",
    "external_id",
    "import_session_id",
    "source_line",
)
# COPY sends every listed column, so a missing key cannot fall back to the column's server default.
_DEFAULTS = {"description": ""}
SPLIT_COLUMNS = ("transaction_id", "category_id", "amount", "memo")
TAG_COLUMNS = ("transaction_id", "tag_id")
# COPY cannot return the ids it assigns, so they are drawn from the column's sequence first.
_NEXT_IDS = text(
    "SELECT nextval(seq) FROM (SELECT CAST(pg_get_serial_sequence('transactions', 'id') AS regclass) AS seq) s, "
    "generate_series(1, :n) ORDER BY 1"
)


async def insert_transactions(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert rows (keys: TRANSACTION_COLUMNS; missing ones are NULL, or ""); their new ids, ascending, in order."""
    if not rows:
        return []
    ids = list(await session.scalars(_NEXT_IDS, {"n": len(rows)}))
    values = (
        (i, *(row.get(c, _DEFAULTS.get(c)) for c in TRANSACTION_COLUMNS)) for i, row in zip(ids, rows, strict=True)
    )
    await copy_rows(session, "transactions", ("id", *TRANSACTION_COLUMNS), values)
    return ids


async def insert_splits(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await copy_rows(
            session, "transaction_splits", SPLIT_COLUMNS, (tuple(r.get(c) for c in SPLIT_COLUMNS) for r in rows)
        )


async def insert_tags(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await copy_rows(session, "transaction_tags", TAG_COLUMNS, ((r["transaction_id"], r["tag_id"]) for r in rows))


async def sum_after(session: AsyncSession, book_id: int, account_id: int, day: dt.date, ident: int) -> Decimal:
    """The sum of an account's transactions newer than (day, id) in register order (one range scan of
    transactions_account_date): the running balance at any row is the current balance minus this."""
    newer = tuple_(Transaction.date, Transaction.id) > tuple_(literal(day), literal(ident))
    total = await session.scalar(
        select(func.coalesce(func.sum(Transaction.amount), 0)).where(
            Transaction.book_id == book_id, Transaction.account_id == account_id, newer
        )
    )
    return Decimal(total or 0)
