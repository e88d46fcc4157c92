"""The queue's own upkeep: finished jobs are kept for a while for operators, then removed."""

from __future__ import annotations

from fintrack.jobs import queries
from fintrack.jobs.app import JobContext, task

KEEP_DAYS = 30


@task(name="jobs.remove_old", queue="maintenance")
async def remove_old(ctx: JobContext, days: int = KEEP_DAYS, timestamp: int | None = None) -> int:
    """Delete jobs that succeeded or were cancelled more than `days` ago (failed ones stay for a person to see).

    Workers defer it daily; `timestamp` is the schedule tick procrastinate passes to periodic tasks.
    """
    async with ctx.db.sessionmaker() as session, session.begin():
        return await queries.remove_finished(session, days)
