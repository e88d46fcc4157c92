"""Where other domains tell recurring detection that the history changed enough to look again."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack import jobs


async def history_grew(session: AsyncSession, book_id: int) -> None:
    """Queue a detection of the book (one runs at a time, and one waits at most: a burst of imports runs it once
    or twice, not once each). It reads the whole window, which is seconds on a large book: never in a request."""
    lock = f"recurring:{book_id}"
    try:
        await jobs.defer(session, "recurring.detect", lock=lock, queueing_lock=lock, book_id=book_id)
    except jobs.JobAlreadyQueued:
        pass  # the waiting run reads these rows too
