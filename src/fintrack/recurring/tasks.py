"""Background detection: after an import commits (and when the recurring page asks), the book's series are brought
up to date off the request, so the dashboard's bills due move on and new subscriptions appear; seconds on a
large book, which no page should wait for."""

from __future__ import annotations

from fintrack.books.access import on_behalf_of
from fintrack.jobs import JobContext, task
from fintrack.recurring import events
from fintrack.recurring import service as recurring


@task(name="recurring.detect", queue="recurring", retry=2)
async def detect(ctx: JobContext, book_id: int) -> dict[str, int] | None:
    async with ctx.db.transaction() as session:
        book = await on_behalf_of(session, book_id)
        if book is None:
            return None  # the book was deleted since
        found = await recurring.detect(session, book)
        await events.detected(session, book_id, found)  # last: it locks the members' event channels
    return {"found": found.found, "created": found.created, "removed": found.removed}
