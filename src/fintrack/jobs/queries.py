"""SQL against procrastinate's tables, on the caller's session (so it joins the caller's transaction)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.jobs.models import JobError

# procrastinate's own defer query (sql/queries.sql "defer_jobs"), bound through SQLAlchemy. The insert trigger
# sends the NOTIFY that wakes workers; PostgreSQL delivers it only when this transaction commits.
DEFER = text(
    """
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(
        :queue, :task_name, :priority, :lock, :queueing_lock, CAST(:args AS jsonb), NULL::timestamptz
    )]::procrastinate_job_to_defer_v1[])) AS id
    """
)
QUEUEING_LOCK_INDEX = "procrastinate_jobs_queueing_lock_idx_v1"


async def defer(
    session: AsyncSession,
    *,
    queue: str,
    task_name: str,
    priority: int,
    lock: str | None,
    queueing_lock: str | None,
    args: dict[str, Any],
) -> int:
    job_id = await session.scalar(
        DEFER,
        {
            "queue": queue,
            "task_name": task_name,
            "priority": priority,
            "lock": lock,
            "queueing_lock": queueing_lock,
            "args": json.dumps(args),
        },
    )
    assert job_id is not None, "procrastinate_defer_jobs_v1 returns one id per job"
    return int(job_id)


async def counts(session: AsyncSession) -> list[tuple[str, str, int]]:
    rows = await session.execute(
        text("SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2 ORDER BY 1, 2")
    )
    return [(queue, status, int(n)) for queue, status, n in rows]


async def pending(session: AsyncSession, lock: str) -> bool:
    """Whether a job holding `lock` waits or runs (procrastinate indexes jobs by lock while they do)."""
    query = text("SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE lock = :lock AND status IN ('todo', 'doing'))")
    return bool(await session.scalar(query, {"lock": lock}))


async def job(session: AsyncSession, job_id: int) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(
                    "SELECT id, queue_name AS queue, task_name, status::text AS status, attempts, args, scheduled_at "
                    "FROM procrastinate_jobs WHERE id = :id"
                ),
                {"id": job_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def due_count(session: AsyncSession, queues: list[str] | None) -> int:
    """Jobs a worker would fetch now."""
    return int(
        await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' "
                "AND (scheduled_at IS NULL OR scheduled_at <= now()) "
                "AND (CAST(:queues AS varchar[]) IS NULL OR queue_name = ANY(CAST(:queues AS varchar[])))"
            ),
            {"queues": queues},
        )
        or 0
    )


async def add_error(session: AsyncSession, job_id: int, attempt: int, error: str, trace: str | None) -> None:
    session.add(JobError(job_id=job_id, attempt=attempt, error=error[:2000], traceback=trace and trace[-20000:]))
    await session.flush()


async def errors(session: AsyncSession, job_id: int) -> list[JobError]:
    return list(await session.scalars(select(JobError).where(JobError.job_id == job_id).order_by(JobError.attempt)))


async def remove_finished(session: AsyncSession, days: int) -> int:
    """Events cascade with their job; job_errors too."""
    result = await session.execute(
        text(
            "DELETE FROM procrastinate_jobs j WHERE j.status IN ('succeeded', 'cancelled') "
            "AND NOT EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id "
            "AND e.at > now() - make_interval(days => :days))"
        ),
        {"days": days},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
