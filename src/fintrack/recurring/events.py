"""What detection tells the book's members live, on their private hub channels `user.<id>` (fintrack.hub.events):
an event `recurring.detected` when a background detection of the book finishes, keyed `recurring.<book id>` so
"latest per key" is the book's latest run. The recurring page waits for it after "look for them"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books import queries as book_queries
from fintrack.hub import events

if TYPE_CHECKING:
    from fintrack.recurring.service import DetectSummary


async def detected(session: AsyncSession, book_id: int, summary: DetectSummary) -> None:
    """Emit last in the transaction: each emit locks that user's channel until the commit."""
    data = {
        "book_id": book_id,
        "found": summary.found,
        "created": summary.created,
        "removed": summary.removed,
    }
    for member in await book_queries.members(session, book_id):
        await events.emit(session, member[0], "recurring.detected", data, key=f"recurring.{book_id}")
