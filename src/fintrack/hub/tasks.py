"""Retention: publications past their namespace's age or count limit leave the history."""

from __future__ import annotations

import structlog

from fintrack.hub import queries, store
from fintrack.jobs.app import JobContext, task

log = structlog.get_logger("fintrack.hub")


@task(name="hub.retention", queue="maintenance")
async def retention(ctx: JobContext, timestamp: int | None = None) -> int:
    """Delete what each namespace no longer retains; returns how many publications went.

    Each namespace is one short transaction of its own, so publishers wait on no long delete. Workers defer it
    every ten minutes; `timestamp` is the schedule tick procrastinate passes to periodic tasks.
    """
    async with ctx.db.sessionmaker() as session:
        namespaces = await store.namespaces(session)
    removed = 0
    for ns in namespaces:
        async with ctx.db.sessionmaker() as session, session.begin():
            if ns.retention_seconds is not None:
                removed += await queries.delete_older_than(session, ns.pattern, ns.retention_seconds)
            if ns.retention_count is not None:
                removed += await queries.delete_beyond_count(session, ns.pattern, ns.retention_count)
    if removed:
        log.info("hub retention", removed=removed)
    return removed
