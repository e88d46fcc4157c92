"""Budgets of a book: the list and its checks, each budget's status in a month, and the alerts when it crosses.

Months are `datetime.date`s on the first of the month. Amounts are Decimals in the book's base currency.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.books.models import Book
from fintrack.budgets import events, queries
from fintrack.budgets.errors import BudgetNotFound, DuplicateBudget, InvalidBudget, UnknownCategory
from fintrack.budgets.models import Budget
from fintrack.errors import NotFound, Term, mark
from fintrack.ledger.models import Category, CategoryKind
from fintrack.money import MoneyError, parse_amount, quantize

THRESHOLDS = (80, 100)
State = Literal["ok", "warning", "over"]


class Unset(enum.Enum):
    """A field update_budget leaves as it is (None would mean "no end month" for `ends`)."""

    token = 0


UNSET = Unset.token


# Months ------------------------------------------------------------------------------------------------------


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def end_of(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def _active(budget: Budget, month: dt.date) -> bool:
    return budget.starts_month <= month and (budget.ends_month is None or month <= budget.ends_month)


# The list ----------------------------------------------------------------------------------------------------


async def list_budgets(session: AsyncSession, access: BookAccess) -> list[Budget]:
    return await queries.budgets(session, access.id)


async def get_budget(session: AsyncSession, access: BookAccess, budget_id: int) -> Budget:
    found = await queries.budget(session, access.id, budget_id)
    if found is None:
        raise BudgetNotFound(budget_id=budget_id)
    return found


async def _expense_category(session: AsyncSession, book_id: int, category_id: int) -> Category:
    found = next((c for c in await queries.categories(session, book_id) if c.id == category_id), None)
    if found is None:
        # Same answer for another book's category as for none at all: ids of other households reveal nothing.
        raise UnknownCategory(
            mark("category_id: there is no category {id} in this book"),
            values={"id": category_id},
            field="category_id",
            id=category_id,
        )
    if found.kind is not CategoryKind.expense:
        raise InvalidBudget(
            mark("category_id: {name!r} is an income category; budgets limit expenses"),
            values={"name": found.name},
            field="category_id",
        )
    return found


def _limit(amount: str | Decimal, currency: str) -> Decimal:
    try:
        value = parse_amount(amount, currency) if isinstance(amount, str) else parse_amount(f"{amount:f}", currency)
    except MoneyError as exc:
        # The money error is a message of its own, translated in turn on a page.
        raise InvalidBudget(mark("amount: {problem}"), values={"problem": exc}, field="amount") from None
    if value <= 0:
        raise InvalidBudget(mark("amount: a budget's monthly limit must be above zero"), field="amount")
    return value


def _period(starts: dt.date, ends: dt.date | None) -> tuple[dt.date, dt.date | None]:
    starts, ends = month_of(starts), month_of(ends) if ends is not None else None
    if ends is not None and ends < starts:
        raise InvalidBudget(
            mark("ends: {ends:%Y-%m} is before the first month, {starts:%Y-%m}"),
            values={"ends": ends, "starts": starts},
            field="ends",
        )
    return starts, ends


async def _save(session: AsyncSession, budget: Budget) -> Budget:
    """Flush in a savepoint: a budget added for the same category meanwhile is a 409, not a broken transaction."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise DuplicateBudget(field="category_id", category_id=budget.category_id) from None
    await session.refresh(budget)
    return budget


async def _refuse_duplicate(session: AsyncSession, book_id: int, category_id: int) -> None:
    existing = await queries.budget_for_category(session, book_id, category_id)
    if existing is not None:
        raise DuplicateBudget(
            mark("category_id: category {category_id} already has budget {budget_id}; change that one instead"),
            values={"category_id": category_id, "budget_id": existing.id},
            field="category_id",
            budget_id=existing.id,
        )


async def create_budget(
    session: AsyncSession,
    access: BookAccess,
    *,
    category_id: int,
    amount: str | Decimal,
    rollover: bool = False,
    starts: dt.date | None = None,
    ends: dt.date | None = None,
) -> Budget:
    """A monthly limit on an expense category (and its children) from `starts` (default: this month) on."""
    access.require_write()
    currency = access.book.base_currency
    limit = _limit(amount, currency)
    await _expense_category(session, access.id, category_id)
    first, last = _period(starts or dt.date.today(), ends)
    await _refuse_duplicate(session, access.id, category_id)
    budget = Budget(
        book_id=access.id,
        category_id=category_id,
        amount=limit,
        currency=currency,
        rollover=rollover,
        starts_month=first,
        ends_month=last,
    )
    session.add(budget)
    return await _save(session, budget)


async def update_budget(
    session: AsyncSession,
    access: BookAccess,
    budget_id: int,
    *,
    amount: str | Decimal | Unset | None = UNSET,
    rollover: bool | Unset | None = UNSET,
    starts: dt.date | Unset | None = UNSET,
    ends: dt.date | Unset | None = UNSET,
) -> Budget:
    """Change what is given; `ends=None` makes the budget open-ended. The new limit applies to every month,
    earlier ones included (a rollover chain is recomputed with it)."""
    access.require_write()
    budget = await get_budget(session, access, budget_id)
    required = {"amount": amount, "rollover": rollover, "starts": starts}
    for name, value in required.items():
        if value is None:
            raise InvalidBudget(
                mark("{field}: give a value or leave the field out"), values={"field": Term(name)}, field=name
            )
    if not isinstance(amount, Unset) and amount is not None:
        # The book's base currency may have changed since: the limit is in the base currency of today.
        budget.currency = access.book.base_currency
        budget.amount = _limit(amount, budget.currency)
    if not isinstance(rollover, Unset) and rollover is not None:
        budget.rollover = rollover
    first = budget.starts_month if isinstance(starts, Unset) or starts is None else starts
    last = budget.ends_month if isinstance(ends, Unset) else ends
    budget.starts_month, budget.ends_month = _period(first, last)
    budget.updated_at = dt.datetime.now(dt.UTC)
    return await _save(session, budget)


async def delete_budget(session: AsyncSession, access: BookAccess, budget_id: int) -> None:
    access.require_write()
    await session.delete(await get_budget(session, access, budget_id))
    await session.flush()


# Status ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """One budget in one month, in the book's base currency."""

    budget_id: int
    category_id: int
    category: str | None
    month: dt.date
    limit: Decimal
    rollover: Decimal  # carried in from the months before: unspent adds, overspent subtracts
    available: Decimal  # limit + rollover
    spent: Decimal  # expenses net of refunds, of the category and its children
    remaining: Decimal  # available - spent
    percent: Decimal | None  # spent / available in %, one decimal; None when nothing is available
    state: State

    def crossed(self) -> tuple[int, ...]:
        """The thresholds (80, 100) spending has reached. Nothing to spend and some spending is past both."""
        if self.spent <= 0:
            return ()
        return tuple(t for t in THRESHOLDS if self.spent * 100 >= t * self.available)


@dataclass(frozen=True, slots=True)
class Status:
    month: dt.date
    currency: str
    lines: list[BudgetLine]
    missing_rates: list[str]  # currencies without an FX rate: their spending is left out


def _line(budget: Budget, name: str | None, month: dt.date, carried: Decimal, spent: Decimal) -> BudgetLine:
    available = budget.amount + carried
    remaining = available - spent
    percent = (spent * 100 / available).quantize(Decimal("0.1")) if available > 0 else None
    reached = spent > 0 and spent * 100 >= 80 * available
    state: State = "over" if (reached and spent >= available) or remaining < 0 else "warning" if reached else "ok"
    return BudgetLine(
        budget.id, budget.category_id, name, month, budget.amount, carried, available, spent, remaining, percent, state
    )


def _counted_by(categories: Sequence[Category], budgets: Sequence[Budget]) -> dict[int, list[int]]:
    """For each category, the budgets its spending counts in: its own and those of its ancestors."""
    parent = {c.id: c.parent_id for c in categories}
    budgeted: dict[int, list[int]] = defaultdict(list)
    for budget in budgets:
        budgeted[budget.category_id].append(budget.id)
    counted: dict[int, list[int]] = {}
    for category_id in parent:
        found: list[int] = []
        seen: set[int] = set()
        node: int | None = category_id
        while node is not None and node not in seen:
            seen.add(node)
            found += budgeted.get(node, [])
            node = parent.get(node)
        if found:
            counted[category_id] = found
    return counted


async def _lines(
    session: AsyncSession, book: Book, budgets: Sequence[Budget], months: Iterable[dt.date]
) -> tuple[list[BudgetLine], list[str]]:
    """Every active budget's line in each month, from one aggregate query whatever the number of budgets.

    A rollover budget's carry is chained month by month from its first month, so the query reaches back there.
    """
    wanted = sorted({month_of(m) for m in months})
    active = [(b, [m for m in wanted if _active(b, m)]) for b in budgets]
    active = [(b, ms) for b, ms in active if ms]
    if not active:
        return [], []
    first = min(b.starts_month if b.rollover else ms[0] for b, ms in active)
    last = max(ms[-1] for _, ms in active)
    base = book.base_currency
    categories = await queries.categories(session, book.id)
    names = {c.id: c.name for c in categories}
    counted_by = _counted_by(categories, [b for b, _ in active])
    rows = await queries.spending(session, book.id, base, list(counted_by), first, end_of(last))
    totals: dict[tuple[int, dt.date], Decimal] = defaultdict(Decimal)
    missing: set[str] = set()
    for row in rows:
        for budget_id in counted_by.get(row.category_id, ()):
            totals[budget_id, row.month] += row.total or Decimal(0)
        if row.month in wanted:
            missing.update(row.missing)
    lines = []
    for budget, months_wanted in active:
        wanted_here = set(months_wanted)
        month = budget.starts_month if budget.rollover else months_wanted[0]
        carried = Decimal(0)
        while month <= months_wanted[-1]:
            # Expenses are negative amounts: spending is their opposite, refunds lowering it (+ 0 turns -0 into 0).
            spent = quantize(-totals.get((budget.id, month), Decimal(0)), base) + 0
            line = _line(budget, names.get(budget.category_id), month, carried, spent)
            if month in wanted_here:
                lines.append(line)
            if budget.rollover:
                carried = line.remaining
            month = add_months(month, 1)
    return lines, sorted(missing)


async def status(session: AsyncSession, access: BookAccess, month: dt.date) -> Status:
    """Each budget active in the month (any day of it): limit, carried rollover, spent, remaining, state."""
    budgets = await queries.budgets(session, access.id)
    lines, missing = await _lines(session, access.book, budgets, [month_of(month)])
    return Status(month_of(month), access.book.base_currency, lines, missing)


async def budget_status(session: AsyncSession, access: BookAccess, budget_id: int, month: dt.date) -> BudgetLine | None:
    """One budget's line in the month; None when the budget is not active then."""
    budget = await get_budget(session, access, budget_id)
    lines, _ = await _lines(session, access.book, [budget], [month_of(month)])
    return lines[0] if lines else None


# Alerts ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Crossing:
    """A threshold a budget reached in a month, announced now for the first time."""

    line: BudgetLine
    threshold: int


async def check_crossings(session: AsyncSession, book_id: int, months: Iterable[dt.date]) -> list[Crossing]:
    """Announce the budgets that newly reached 80 % or 100 % in these months (any day of each), once per budget,
    month and threshold, on the private channel of every member of the book.

    Call it after a change to spending, in the same transaction: the announcement is recorded and published with
    the change, or not at all. Two thresholds reached at once make one event, for the higher.
    """
    budgets = await queries.budgets(session, book_id)
    if not budgets:
        return []
    book = await session.get(Book, book_id)
    if book is None:
        raise NotFound(book_id=book_id)
    lines, _ = await _lines(session, book, budgets, months)
    reached = [(line.budget_id, line.month, t) for line in lines for t in line.crossed()]
    new = await queries.record_alerts(session, reached)
    if not new:
        return []
    highest: dict[tuple[int, dt.date], int] = {}
    for budget_id, month, threshold in new:
        highest[budget_id, month] = max(threshold, highest.get((budget_id, month), 0))
    crossings = [
        Crossing(line, highest[line.budget_id, line.month]) for line in lines if (line.budget_id, line.month) in highest
    ]
    await events.crossed(session, book, await queries.member_ids(session, book_id), crossings)
    return crossings
