"""Where other domains tell recurring detection that the history changed enough to look again."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack import jobs
from fintrack.jobs import queries as job_queries


def _lock(book_id: int) -> str:
    return f"recurring:{book_id}"


async def history_grew(session: AsyncSession, book_id: int) -> None:
    """Queue a detection of the book (one runs at a time, and one waits at most: a burst of imports runs it once
    or twice, not once each). It reads the whole window, which is seconds on a large book: never in a request.
    The recurring page's "look for them" queues it the same way."""
    lock = _lock(book_id)
    try:
        await jobs.defer(session, "recurring.detect", lock=lock, queueing_lock=lock, book_id=book_id)
    except jobs.JobAlreadyQueued:
        pass  # the waiting run reads these rows too


async def detecting(session: AsyncSession, book_id: int) -> bool:
    """Whether a detection of the book waits or runs now."""
    return await job_queries.pending(session, _lock(book_id))
