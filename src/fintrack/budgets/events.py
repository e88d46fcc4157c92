"""What a budget tells the book's members live, on their private hub channels `user.<id>` (see fintrack.hub.events).

An event `budget.crossed` when spending in a month first reaches 80 % (warning) or 100 % (over) of what the budget
has available. Its key is `budget.<id>.<month>`, so "latest per key" is each budget's latest alert of the month.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.models import Book
from fintrack.budgets.schemas import month_text
from fintrack.hub import events
from fintrack.money import format_amount

if TYPE_CHECKING:
    from fintrack.budgets.service import Crossing


def payload(book: Book, crossing: Crossing) -> dict[str, Any]:
    line, base = crossing.line, book.base_currency
    return {
        "budget_id": line.budget_id,
        "book_id": book.id,
        "category_id": line.category_id,
        "category": line.category,
        "month": month_text(line.month),
        "threshold": crossing.threshold,
        "state": line.state,
        "currency": base,
        "limit": format_amount(line.limit, base),
        "available": format_amount(line.available, base),
        "spent": format_amount(line.spent, base),
        "remaining": format_amount(line.remaining, base),
        "percent": float(line.percent) if line.percent is not None else None,
    }


async def crossed(session: AsyncSession, book: Book, user_ids: Sequence[int], crossings: Sequence[Crossing]) -> None:
    """Emit last in the transaction: each emit locks that user's channel until the commit."""
    for crossing in crossings:
        data = payload(book, crossing)
        key = f"budget.{crossing.line.budget_id}.{data['month']}"
        for user_id in user_ids:
            await events.emit(session, user_id, "budget.crossed", data, key=key, once=f"{key}.{crossing.threshold}")
