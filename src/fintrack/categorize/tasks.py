"""Background work of categorization: vectors for transactions that lack one."""

from __future__ import annotations

from fintrack.categorize import service as categorize
from fintrack.jobs import JobContext, task


@task(name="categorize.embed", queue="categorize", retry=3)
async def embed(ctx: JobContext, book_id: int) -> int:
    """Store the vector of every transaction of the book that has none, in batches that each commit."""
    total = 0
    while not ctx.should_abort():
        async with ctx.db.sessionmaker() as session, session.begin():
            done = await categorize.embed_missing(session, book_id, limit=categorize.EMBED_BATCH * 4)
        total += done
        if done < categorize.EMBED_BATCH * 4:
            break
    return total
