"""SQL of the ledger domain, balances included."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Text, and_, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.ledger.models import Account, AccountMonthTotal, Category, FxRate, Payee, Tag


async def accounts(session: AsyncSession, book_id: int) -> list[Account]:
    return list(await session.scalars(select(Account).where(Account.book_id == book_id).order_by(Account.name)))


async def account(session: AsyncSession, book_id: int, account_id: int) -> Account | None:
    return await session.scalar(select(Account).where(Account.id == account_id, Account.book_id == book_id))


async def accounts_by_ids(session: AsyncSession, book_id: int, ids: set[int]) -> dict[int, Account]:
    rows = await session.scalars(select(Account).where(Account.book_id == book_id, Account.id.in_(ids)))
    return {row.id: row for row in rows}


async def account_by_name(session: AsyncSession, book_id: int, name: str) -> Account | None:
    return await session.scalar(
        select(Account).where(Account.book_id == book_id, func.lower(Account.name) == name.lower())
    )


# Balance as of a day = opening + whole months before it (from the trigger-kept totals) + that month's
# transactions up to the day (an index range scan on transactions_account_date).
_BALANCES_AS_OF = text("""
SELECT a.id, a.opening_balance
     + coalesce((SELECT sum(t.total) FROM account_month_totals t
                 WHERE t.account_id = a.id AND t.month < date_trunc('month', CAST(:as_of AS date))), 0)
     + coalesce((SELECT sum(x.amount) FROM transactions x
                 WHERE x.account_id = a.id AND x.date >= date_trunc('month', CAST(:as_of AS date))
                   AND x.date <= :as_of), 0) AS balance
FROM accounts a WHERE a.book_id = :book_id
""")


async def balances(session: AsyncSession, book_id: int, as_of: date | None = None) -> dict[int, Decimal]:
    if as_of is None:
        current = (
            select(Account.id, Account.opening_balance + func.coalesce(func.sum(AccountMonthTotal.total), 0))
            .outerjoin(AccountMonthTotal, AccountMonthTotal.account_id == Account.id)
            .where(Account.book_id == book_id)
            .group_by(Account.id)
        )
        return {row[0]: row[1] for row in await session.execute(current)}
    return {row[0]: row[1] for row in await session.execute(_BALANCES_AS_OF, {"book_id": book_id, "as_of": as_of})}


async def account_has_transactions(session: AsyncSession, account_id: int) -> bool:
    total = await session.scalar(
        select(func.coalesce(func.sum(AccountMonthTotal.n), 0)).where(AccountMonthTotal.account_id == account_id)
    )
    return bool(total)


async def categories(session: AsyncSession, book_id: int) -> list[Category]:
    query = (
        select(Category)
        .where(Category.book_id == book_id)
        .order_by(func.coalesce(Category.parent_id, Category.id), Category.parent_id.nulls_first(), Category.name)
    )
    return list(await session.scalars(query))


async def category(session: AsyncSession, book_id: int, category_id: int) -> Category | None:
    return await session.scalar(select(Category).where(Category.id == category_id, Category.book_id == book_id))


async def category_ids(session: AsyncSession, book_id: int, ids: set[int]) -> set[int]:
    rows = await session.scalars(select(Category.id).where(Category.book_id == book_id, Category.id.in_(ids)))
    return set(rows)


async def named(session: AsyncSession, model: type[Payee] | type[Tag], book_id: int) -> list[Payee | Tag]:
    rows = await session.scalars(select(model).where(model.book_id == book_id).order_by(model.name))
    return [row for row in rows if isinstance(row, Payee | Tag)]


async def named_one(
    session: AsyncSession, model: type[Payee] | type[Tag], book_id: int, item_id: int
) -> Payee | Tag | None:
    return await session.scalar(select(model).where(model.id == item_id, model.book_id == book_id))


async def named_by_names(
    session: AsyncSession, model: type[Payee] | type[Tag], book_id: int, names: set[str]
) -> dict[str, int]:
    """Map lower-cased names to ids."""
    # One array parameter: IN (...) binds one per name, and a large bulk write can pass PostgreSQL's 65,535.
    wanted = bindparam("names", sorted({n.lower() for n in names}), type_=ARRAY(Text))
    rows = await session.execute(
        select(func.lower(model.name), model.id).where(model.book_id == book_id, func.lower(model.name) == any_(wanted))
    )
    return {row[0]: row[1] for row in rows}


async def tag_ids(session: AsyncSession, book_id: int, ids: set[int]) -> set[int]:
    return set(await session.scalars(select(Tag.id).where(Tag.book_id == book_id, Tag.id.in_(ids))))


async def fx_rates(session: AsyncSession, book_id: int, currency: str | None = None) -> list[FxRate]:
    query = select(FxRate).where(FxRate.book_id == book_id)
    if currency:
        query = query.where(FxRate.currency == currency)
    return list(await session.scalars(query.order_by(FxRate.currency, FxRate.day.desc()).limit(5000)))


async def rates_on(session: AsyncSession, book_id: int, currencies: set[str], day: date | None) -> dict[str, Decimal]:
    """The latest known rate on or before `day` (today when None) for each currency."""
    if not currencies:
        return {}
    query = (
        select(FxRate.currency, FxRate.rate)
        .ext(distinct_on(FxRate.currency))
        .where(and_(FxRate.book_id == book_id, FxRate.currency.in_(currencies)))
        .order_by(FxRate.currency, FxRate.day.desc())
    )
    if day is not None:
        query = query.where(FxRate.day <= day)
    return {row[0]: row[1] for row in await session.execute(query)}


async def month_totals_since(session: AsyncSession, book_id: int, since: date) -> list[tuple[int, date, Decimal]]:
    """Each account's net change per month from `since` (the maintained totals: no scan of history)."""
    query = (
        select(AccountMonthTotal.account_id, AccountMonthTotal.month, AccountMonthTotal.total)
        .join(Account, Account.id == AccountMonthTotal.account_id)
        .where(Account.book_id == book_id, AccountMonthTotal.month >= since)
    )
    return [(r[0], r[1], r[2]) for r in await session.execute(query)]
