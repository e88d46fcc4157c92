"""SQL of the rules domain: the rules table, and the history scans of dry runs, applies and suggestions."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    and_,
    any_,
    bindparam,
    case,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.db import copy_rows, like_escape
from fintrack.ledger.models import Account, Category, Payee, Tag
from fintrack.rules.models import Rule
from fintrack.rules.schemas import (
    AccountCondition,
    AmountCondition,
    Condition,
    DateCondition,
    DayOfMonthCondition,
    DirectionCondition,
    TextCondition,
)
from fintrack.transactions.models import Transaction, TransactionSplit, TransactionTag

T = Transaction


def _ids(name: str, values: Sequence[int]) -> Any:
    # One array parameter, not one per id: a large batch must stay below PostgreSQL's 65,535 parameters.
    return bindparam(name, list(values), type_=ARRAY(BigInteger), unique=True)


# The rules table ---------------------------------------------------------------------------------------------


async def rules(session: AsyncSession, book_id: int, *, enabled_only: bool = False) -> list[Rule]:
    query = select(Rule).where(Rule.book_id == book_id)
    if enabled_only:
        query = query.where(Rule.enabled)
    # populate_existing: positions may have moved under loaded rules (place() updates without the ORM).
    query = query.order_by(Rule.position, Rule.id).execution_options(populate_existing=True)
    return list(await session.scalars(query))


async def rule(session: AsyncSession, book_id: int, rule_id: int) -> Rule | None:
    return await session.scalar(select(Rule).where(Rule.id == rule_id, Rule.book_id == book_id))


async def lock_order(session: AsyncSession, book_id: int) -> None:
    """Serialize changes to one book's rule order until the transaction ends (two appends, one position)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('fintrack.rules', :b))"), {"b": book_id})


async def ordered_ids(session: AsyncSession, book_id: int) -> list[int]:
    query = select(Rule.id).where(Rule.book_id == book_id).order_by(Rule.position, Rule.id)
    return list(await session.scalars(query))


_PLACE = text(
    "UPDATE rules SET position = v.position FROM unnest(:ids, :positions) AS v(id, position) "
    "WHERE rules.id = v.id AND rules.book_id = :book_id AND rules.position <> v.position"
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)), bindparam("positions", type_=ARRAY(BigInteger)))


async def place(session: AsyncSession, book_id: int, ids: Sequence[int]) -> None:
    """Positions 0, 1, 2... in the order given."""
    if ids:
        params = {"ids": list(ids), "positions": list(range(len(ids))), "book_id": book_id}
        await session.execute(_PLACE, params, execution_options={"synchronize_session": False})


_ADD_HITS = text(
    "UPDATE rules SET hits = rules.hits + v.n, last_hit_at = now() "
    "FROM unnest(:ids, :ns) AS v(id, n) WHERE rules.id = v.id AND rules.book_id = :book_id"
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)), bindparam("ns", type_=ARRAY(BigInteger)))


async def add_hits(session: AsyncSession, book_id: int, counts: dict[int, int]) -> None:
    positive = {rule_id: n for rule_id, n in counts.items() if n > 0}
    if positive:
        ids = sorted(positive)
        await session.execute(_ADD_HITS, {"ids": ids, "ns": [positive[i] for i in ids], "book_id": book_id})


# What rules refer to -----------------------------------------------------------------------------------------


async def category_ids(session: AsyncSession, book_id: int) -> set[int]:
    return set(await session.scalars(select(Category.id).where(Category.book_id == book_id)))


async def category_names(session: AsyncSession, book_id: int) -> dict[int, str]:
    rows = await session.execute(select(Category.id, Category.name).where(Category.book_id == book_id))
    return {row[0]: row[1] for row in rows}


async def tag_ids(session: AsyncSession, book_id: int) -> set[int]:
    return set(await session.scalars(select(Tag.id).where(Tag.book_id == book_id)))


async def account_ids(session: AsyncSession, book_id: int) -> set[int]:
    return set(await session.scalars(select(Account.id).where(Account.book_id == book_id)))


async def payees(session: AsyncSession, book_id: int) -> list[tuple[int, str]]:
    rows = await session.execute(select(Payee.id, Payee.name).where(Payee.book_id == book_id))
    return [(row[0], row[1]) for row in rows]


# History: prefilter in SQL, exact match in Python ------------------------------------------------------------


def _text_clause(condition: TextCondition, payee_ids: list[int] | None, needed: str) -> ColumnElement[bool] | None:
    """A clause every transaction the condition matches satisfies (a superset), or None when there is none.

    Payee conditions were tested exactly on the book's payees, so they become the payees' ids. What a match of
    the description or memo must contain (`needed`: the folded literal, or a pattern's required word) uses the
    trigram index on search_text, which folds both as fintrack_fold does: with the words joined by %, since
    fold() also collapses the spaces that search_text keeps.
    """
    by_payee = T.payee_id == any_(_ids("payee_ids", payee_ids or [0])) if payee_ids is not None else None
    if condition.field == "payee":
        return by_payee
    in_text = None
    # Beyond ASCII, the database's lower() and unaccent() may not fold a character as Python does.
    if needed and needed.isascii():
        pattern = "%" + "%".join(like_escape(w) for w in needed.split()) + "%"
        # fintrack_fold is IMMUTABLE: the planner folds the pattern to a constant and can use the index.
        in_text = T.search_text.like(func.fintrack_fold(literal(pattern)))
    if condition.field in ("description", "memo") or in_text is None:
        return in_text
    return or_(in_text, by_payee) if by_payee is not None else None


def condition_clause(
    condition: Condition, payee_ids: list[int] | None = None, needed: str = ""
) -> ColumnElement[bool] | None:
    if isinstance(condition, TextCondition):
        return _text_clause(condition, payee_ids, needed)
    if isinstance(condition, AmountCondition):
        parts = []
        if condition.min is not None:
            parts.append(T.amount >= Decimal(condition.min))
        if condition.max is not None:
            parts.append(T.amount <= Decimal(condition.max))
        return and_(*parts)
    if isinstance(condition, DirectionCondition):
        return T.amount < 0 if condition.value == "debit" else T.amount > 0
    if isinstance(condition, AccountCondition):
        return T.account_id == any_(_ids("account_ids", condition.ids))
    if isinstance(condition, DateCondition):
        parts = []
        if condition.start is not None:
            parts.append(T.date >= condition.start)
        if condition.end is not None:
            parts.append(T.date <= condition.end)
        return and_(*parts)
    if isinstance(condition, DayOfMonthCondition):
        day = extract("day", T.date)
        if condition.start <= condition.end:
            return day.between(condition.start, condition.end)
        return or_(day >= condition.start, day <= condition.end)
    raise AssertionError(condition)  # pragma: no cover - the union has no other member


def prefilter(clauses: list[ColumnElement[bool] | None], match: str) -> list[ColumnElement[bool]]:
    """WHERE clauses that keep every transaction the rule could match (fewer to read in Python)."""
    if match == "all":
        return [c for c in clauses if c is not None]
    if any(c is None for c in clauses):
        return []
    return [or_(*[c for c in clauses if c is not None])]


def _payee_name() -> Any:
    # A subquery, not a join: the rows stay in index order, so the scan stops at its limit.
    return select(Payee.name).where(Payee.id == T.payee_id).scalar_subquery().label("payee")


def uncategorized() -> ColumnElement[bool]:
    return and_(T.category_id.is_(None), ~exists().where(TransactionSplit.transaction_id == T.id))


async def history(
    session: AsyncSession, book_id: int, where: list[ColumnElement[bool]], batch: int
) -> AsyncIterator[Sequence[Any]]:
    """The transactions (not transfer legs) the prefilter keeps, in batches, in no particular order.

    One query read through a server-side cursor: keyset pages ordered by date would make the database walk the
    date index and test every row for each page (1.5 s for a rare word at 1M rows, against 0.07 s for one
    scan of the trigram index); memory stays at one batch either way. Other statements may run between
    batches, on the same connection, and the cursor does not see what they change.
    Without the payee's name (the caller has the book's payees): a lookup per row costs more than the row.
    """
    query = select(
        T.id,
        T.account_id,
        T.date,
        T.amount,
        T.currency,
        T.description,
        T.memo,
        T.payee_id,
        T.category_id,
    ).where(T.book_id == book_id, T.transfer_id.is_(None), *where)
    result = await session.stream(query.execution_options(yield_per=batch))
    try:
        async for rows in result.partitions():
            yield rows
    finally:
        await result.close()


async def lock(session: AsyncSession, ids: Sequence[int]) -> None:
    """Row locks on the transactions an apply is about to change, until the request's transaction ends.

    A separate statement from state_of, so that in READ COMMITTED the state is read after any concurrent
    change to them has committed (two applies at once must not both add splits).
    """
    if ids:
        await session.execute(select(T.id).where(T.id == any_(_ids("ids", ids))).with_for_update())


async def state_of(
    session: AsyncSession, ids: Sequence[int], *, tags: bool = True, splits: bool = True
) -> dict[int, tuple[frozenset[int], bool]]:
    """Tags and whether it has splits, for each transaction id; what is not asked for reads as none."""
    if not ids or not (tags or splits):
        return {i: (frozenset(), False) for i in ids}
    tag_ids = func.array(select(TransactionTag.tag_id).where(TransactionTag.transaction_id == T.id).scalar_subquery())
    has_splits = exists().where(TransactionSplit.transaction_id == T.id)
    query = select(T.id, tag_ids if tags else literal([], ARRAY(BigInteger)), has_splits if splits else literal(False))
    rows = await session.execute(query.where(T.id == any_(_ids("ids", ids))))
    return {row[0]: (frozenset(row[1]), bool(row[2])) for row in rows}


async def write_batch(
    session: AsyncSession,
    book_id: int,
    *,
    changed: Sequence[int],
    categorize: Sequence[int],
    category_id: int | None,
    split: Sequence[int],
    repayee: Sequence[int],
    payee_id: int | None,
) -> None:
    """One UPDATE for a batch: the category (or none, for the split ones), the payee, updated_at."""
    if not changed:
        return
    statement = (
        update(T)
        .where(T.book_id == book_id, T.id == any_(_ids("changed", changed)))
        .values(
            category_id=case(
                (T.id == any_(_ids("categorize", categorize)), literal(category_id, BigInteger)),
                (T.id == any_(_ids("split", split)), literal(None, BigInteger)),
                else_=T.category_id,
            ),
            payee_id=case((T.id == any_(_ids("repayee", repayee)), literal(payee_id, BigInteger)), else_=T.payee_id),
            # The moment of the change, like an edit through the API; now() is the transaction's start.
            updated_at=func.clock_timestamp(),
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(statement)


_ADD_TAGS = text(
    "INSERT INTO transaction_tags (transaction_id, tag_id) SELECT * FROM unnest(:transaction_ids, :tag_ids) "
    "ON CONFLICT DO NOTHING"
).bindparams(bindparam("transaction_ids", type_=ARRAY(BigInteger)), bindparam("tag_ids", type_=ARRAY(BigInteger)))


async def add_tags(session: AsyncSession, pairs: Sequence[tuple[int, int]]) -> None:
    if pairs:
        await session.execute(_ADD_TAGS, {"transaction_ids": [p[0] for p in pairs], "tag_ids": [p[1] for p in pairs]})


async def add_splits(session: AsyncSession, rows: Sequence[tuple[int, int, Decimal]]) -> None:
    """(transaction_id, category_id, amount) rows."""
    if rows:
        columns = ("transaction_id", "category_id", "amount", "memo")
        await copy_rows(session, "transaction_splits", columns, ((t, c, a, None) for t, c, a in rows))


# Suggestions -------------------------------------------------------------------------------------------------


async def categorized_recent(session: AsyncSession, book_id: int, since: dt.date, limit: int) -> list[Row[Any]]:
    """The newest categorised transactions since a day (split ones have no single category; transfers none)."""
    query = (
        select(
            T.id,
            T.account_id,
            T.date,
            T.amount,
            T.currency,
            T.description,
            T.memo,
            T.payee_id,
            _payee_name(),
            T.category_id,
        )
        .where(T.book_id == book_id, T.transfer_id.is_(None), T.category_id.is_not(None), T.date >= since)
        .order_by(T.date.desc(), T.id.desc())
        .limit(limit)
    )
    return list(await session.execute(query))
