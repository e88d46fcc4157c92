"""Accounts, categories, payees, tags and FX rates of a book."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.errors import mark
from fintrack.ledger import queries
from fintrack.ledger.defaults import DEFAULT_CATEGORIES
from fintrack.ledger.errors import (
    AccountNotFound,
    CategoryNotFound,
    DuplicateName,
    InUse,
    InvalidCategoryParent,
    InvalidMoney,
    PayeeNotFound,
    TagNotFound,
)
from fintrack.ledger.models import Account, AccountType, Category, CategoryKind, FxRate, Payee, Tag
from fintrack.money import MoneyError, parse_amount, validate_currency


def money(text: str, currency: str, field: str) -> Decimal:
    try:
        return parse_amount(text, currency)
    except MoneyError as exc:
        raise InvalidMoney(exc.template, values=exc.values, field=field) from None


def currency_code(code: str, field: str = "currency") -> str:
    try:
        return validate_currency(code)
    except MoneyError as exc:
        raise InvalidMoney(exc.template, values=exc.values, field=field) from None


async def _flush_unique(session: AsyncSession, field: str = "name") -> None:
    """Flush inside a savepoint so a duplicate name becomes a 409 without poisoning the request's transaction."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise DuplicateName(field=field) from None


# Accounts


async def create_account(
    session: AsyncSession,
    access: BookAccess,
    name: str,
    type_: AccountType,
    currency: str | None,
    opening_balance: str,
    archived: bool = False,
) -> Account:
    access.require_write()
    code = currency_code(currency or access.book.base_currency)
    account = Account(
        book_id=access.id,
        name=name,
        type=type_,
        currency=code,
        opening_balance=money(opening_balance, code, "opening_balance"),
        archived=archived,
    )
    session.add(account)
    await _flush_unique(session)
    await session.refresh(account)
    return account


async def get_account(session: AsyncSession, access: BookAccess, account_id: int) -> Account:
    account = await queries.account(session, access.id, account_id)
    if account is None:
        raise AccountNotFound(account_id=account_id)
    return account


async def update_account(session: AsyncSession, access: BookAccess, account_id: int, **changes: object) -> Account:
    access.require_write()
    account = await get_account(session, access, account_id)
    if changes.get("name") is not None:
        account.name = str(changes["name"])
    if changes.get("type") is not None:
        account.type = AccountType(str(changes["type"]))
    if changes.get("archived") is not None:
        account.archived = bool(changes["archived"])
    if changes.get("opening_balance") is not None:
        account.opening_balance = money(str(changes["opening_balance"]), account.currency, "opening_balance")
    await _flush_unique(session)
    return account


async def delete_account(session: AsyncSession, access: BookAccess, account_id: int) -> None:
    access.require_write()
    account = await get_account(session, access, account_id)
    if await queries.account_has_transactions(session, account.id):
        raise InUse(mark("the account has transactions: archive it instead, or delete them first"))
    await session.delete(account)
    await session.flush()


async def accounts_with_balances(session: AsyncSession, access: BookAccess) -> list[tuple[Account, Decimal]]:
    rows = await queries.accounts(session, access.id)
    balances = await queries.balances(session, access.id)
    return [(row, balances.get(row.id, row.opening_balance)) for row in rows]


async def balance_trends(
    session: AsyncSession, access: BookAccess, today: date, months: int = 12
) -> dict[int, list[Decimal]]:
    """Each account's balance at the end of each of the last `months` months, oldest first (this month last:
    today's balance), walked back from the current balance through the maintained monthly totals."""
    first = _month_start(today, months - 1)
    current = await queries.balances(session, access.id)
    changes: dict[tuple[int, date], Decimal] = {}
    for account_id, month, total in await queries.month_totals_since(session, access.id, first):
        changes[account_id, month] = total
    starts = [_month_start(today, back) for back in range(months)]  # this month first
    trends: dict[int, list[Decimal]] = {}
    for account_id, balance in current.items():
        series = []
        for month in starts:
            series.append(balance)
            balance -= changes.get((account_id, month), Decimal(0))
        trends[account_id] = series[::-1]
    return trends


def _month_start(today: date, back: int) -> date:
    index = today.year * 12 + today.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


# Categories


async def seed_default_categories(session: AsyncSession, book_id: int, locale: str) -> None:
    for kind, parent_name, children in DEFAULT_CATEGORIES.get(locale, DEFAULT_CATEGORIES["en"]):
        parent = Category(book_id=book_id, name=parent_name, kind=CategoryKind(kind))
        session.add(parent)
        await session.flush()
        session.add_all(Category(book_id=book_id, parent_id=parent.id, name=c, kind=parent.kind) for c in children)
    await session.flush()


async def create_category(
    session: AsyncSession, access: BookAccess, name: str, kind: CategoryKind, parent_id: int | None
) -> Category:
    access.require_write()
    if parent_id is not None:
        parent = await queries.category(session, access.id, parent_id)
        if parent is None or parent.parent_id is not None or parent.kind != kind:
            raise InvalidCategoryParent(field="parent_id")
    category = Category(book_id=access.id, name=name, kind=kind, parent_id=parent_id)
    session.add(category)
    await _flush_unique(session)
    return category


async def get_category(session: AsyncSession, access: BookAccess, category_id: int) -> Category:
    category = await queries.category(session, access.id, category_id)
    if category is None:
        raise CategoryNotFound(category_id=category_id)
    return category


async def rename_category(session: AsyncSession, access: BookAccess, category_id: int, name: str) -> Category:
    access.require_write()
    category = await get_category(session, access, category_id)
    category.name = name
    await _flush_unique(session)
    return category


async def delete_category(session: AsyncSession, access: BookAccess, category_id: int) -> None:
    """Transactions keep existing; they become uncategorised."""
    access.require_write()
    await session.delete(await get_category(session, access, category_id))
    await session.flush()


async def categories(session: AsyncSession, access: BookAccess) -> list[Category]:
    return await queries.categories(session, access.id)


# Payees and tags share a shape: a named item of the book.

_NOT_FOUND = {Payee: PayeeNotFound, Tag: TagNotFound}


async def create_named(
    session: AsyncSession, access: BookAccess, model: type[Payee] | type[Tag], name: str
) -> Payee | Tag:
    access.require_write()
    item = model(book_id=access.id, name=name)
    session.add(item)
    await _flush_unique(session)
    return item


async def get_named(
    session: AsyncSession, access: BookAccess, model: type[Payee] | type[Tag], item_id: int
) -> Payee | Tag:
    item = await queries.named_one(session, model, access.id, item_id)
    if item is None:
        raise _NOT_FOUND[model](id=item_id)
    return item


async def rename_named(
    session: AsyncSession, access: BookAccess, model: type[Payee] | type[Tag], item_id: int, name: str
) -> Payee | Tag:
    access.require_write()
    item = await get_named(session, access, model, item_id)
    item.name = name
    await _flush_unique(session)
    return item


async def delete_named(session: AsyncSession, access: BookAccess, model: type[Payee] | type[Tag], item_id: int) -> None:
    access.require_write()
    await session.delete(await get_named(session, access, model, item_id))
    await session.flush()


async def list_named(session: AsyncSession, access: BookAccess, model: type[Payee] | type[Tag]) -> list[Payee | Tag]:
    return await queries.named(session, model, access.id)


async def ids_for_names(
    session: AsyncSession, book_id: int, model: type[Payee] | type[Tag], names: set[str]
) -> dict[str, int]:
    """Ids for names (case-insensitive), creating the missing ones; keys are lower-cased names."""
    known = await queries.named_by_names(session, model, book_id, names)
    missing = {n.lower(): n for n in names if n.lower() not in known}
    if missing:
        items = [model(book_id=book_id, name=n) for n in missing.values()]
        session.add_all(items)
        await session.flush()
        known.update({item.name.lower(): item.id for item in items})
    return known


# FX rates


async def put_fx_rate(session: AsyncSession, access: BookAccess, currency: str, day: date, rate: str) -> FxRate:
    access.require_write()
    code = currency_code(currency)
    if code == access.book.base_currency:
        raise InvalidMoney(mark("the base currency has no rate: it is always 1"), field="currency")
    try:
        value = Decimal(rate)
    except ArithmeticError:
        raise InvalidMoney(mark("rate {rate!r} is not a decimal string"), values={"rate": rate}, field="rate") from None
    if not value.is_finite() or value <= 0:
        raise InvalidMoney(mark("rate must be a positive decimal"), field="rate")
    row = await session.get(FxRate, (access.id, code, day))
    if row is None:
        row = FxRate(book_id=access.id, currency=code, day=day, rate=value)
        session.add(row)
    else:
        row.rate = value
    await session.flush()
    return row


async def fx_rates(session: AsyncSession, access: BookAccess, currency: str | None) -> list[FxRate]:
    return await queries.fx_rates(session, access.id, currency)
