"""Deferring jobs inside the caller's transaction, and what operators see of the queue."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.db import Database
from fintrack.errors import Conflict
from fintrack.jobs import queries
from fintrack.jobs.app import declared
from fintrack.ops import metrics

log = structlog.get_logger("fintrack.jobs")

STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")


class JobAlreadyQueued(Conflict):
    """The same work is already waiting in the queue."""

    code = "job_already_queued"


async def defer(
    session: AsyncSession,
    task_name: str,
    *,
    queueing_lock: str | None = None,
    lock: str | None = None,
    **kwargs: Any,
) -> int:
    """Enqueue `task_name(**kwargs)` in the session's transaction and return the job id.

    The job exists only if that transaction commits, so a worker never sees a job whose data is not committed
    (or was rolled back). Workers are woken by a NOTIFY that PostgreSQL sends at commit. kwargs must be JSON.
    `lock`: jobs sharing it never run at the same time; `queueing_lock`: at most one such job waits in the queue
    (a second raises JobAlreadyQueued, and the caller's transaction stays usable).
    """
    spec = declared(task_name)
    queueing_lock = queueing_lock if queueing_lock is not None else spec.queueing_lock

    async def insert() -> int:
        return await queries.defer(
            session,
            queue=spec.queue,
            task_name=spec.name,
            priority=spec.priority,
            lock=lock if lock is not None else spec.lock,
            queueing_lock=queueing_lock,
            args=kwargs,
        )

    if queueing_lock is None:
        return await insert()
    # A unique violation aborts a transaction: a savepoint keeps the caller's work alive.
    try:
        async with session.begin_nested():
            return await insert()
    except IntegrityError as exc:
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) == queries.QUEUEING_LOCK_INDEX:
            raise JobAlreadyQueued(queueing_lock=queueing_lock) from None
        raise


async def job_status(session: AsyncSession, job_id: int) -> dict[str, Any] | None:
    """One job as operators see it: queue, task, status, attempts, and the errors of its failed runs."""
    job = await queries.job(session, job_id)
    if job is None:
        return None
    job["errors"] = [
        {"attempt": e.attempt, "error": e.error, "at": e.at} for e in await queries.errors(session, job_id)
    ]
    return job


async def queue_stats(session: AsyncSession) -> dict[str, dict[str, int]]:
    """Jobs per queue and status, every status present (0 when none): {"imports": {"todo": 2, ...}}."""
    stats: dict[str, dict[str, int]] = {}
    for queue, status, n in await queries.counts(session):
        stats.setdefault(queue, dict.fromkeys(STATUSES, 0))[status] = n
    return stats


async def refresh_metrics(session: AsyncSession) -> dict[str, dict[str, int]]:
    stats = await queue_stats(session)
    # No await between clearing and setting: a scrape never sees the gauge half filled.
    metrics.JOB_QUEUE_DEPTH.clear()
    for queue, by_status in stats.items():
        for status, n in by_status.items():
            metrics.JOB_QUEUE_DEPTH.labels(queue=queue, status=status).set(n)
    return stats


async def publish_metrics(database: Database, interval: float = 15.0) -> None:
    """Keep job_queue_depth current for /metrics, whether or not this process runs a worker."""
    failing = False
    while True:
        try:
            async with database.sessionmaker() as session, session.begin():
                await refresh_metrics(session)
            failing = False
        except Exception as exc:
            if not failing:
                log.warning("job queue metrics unavailable", error=f"{type(exc).__name__}: {exc}")
            failing = True
        await asyncio.sleep(interval)
