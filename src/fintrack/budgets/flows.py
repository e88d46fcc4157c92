"""Where other domains tell budgets that spending changed: transactions written, edited, deleted, imported or
reverted (a deleted refund raises spending).

The service announces any month it is given; which months are worth announcing is decided here. A crossing in a
month long gone is history, not news (importing two years of statements must not ring 48 alerts per budget), so
only this month and the one before are checked. A change in an earlier month also moves a rollover budget's
carry into this month, so this month is checked whenever an earlier one changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.budgets import queries, service
from fintrack.budgets.service import Crossing, add_months, month_of

MONTHS_BACK = 1


def months_worth_checking(days: Iterable[dt.date], today: dt.date | None = None) -> list[dt.date]:
    current = month_of(today or dt.date.today())
    touched = {month_of(d) for d in days}
    if touched and min(touched) < current:
        touched.add(current)
    oldest = add_months(current, -MONTHS_BACK)
    return sorted(m for m in touched if m >= oldest)


async def spending_changed(
    session: AsyncSession, book_id: int, days: Iterable[dt.date], *, today: dt.date | None = None
) -> list[Crossing]:
    """Transactions dated on these days were added or changed (any category): announce new crossings."""
    months = months_worth_checking(days, today)
    return await service.check_crossings(session, book_id, months) if months else []


async def import_months(session: AsyncSession, book_id: int, import_id: int) -> list[dt.date]:
    """The months an import's transactions fall in, or none when the book has no budgets to check."""
    if not await queries.has_budgets(session, book_id):
        return []  # most books have none: skip reading the months of a large import
    return await queries.months_of_import(session, book_id, import_id)


async def import_committed(
    session: AsyncSession, book_id: int, import_id: int, *, today: dt.date | None = None
) -> list[Crossing]:
    """An import's transactions were written: announce the crossings in the months they fall in."""
    return await spending_changed(session, book_id, await import_months(session, book_id, import_id), today=today)
