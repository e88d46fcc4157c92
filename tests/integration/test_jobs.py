"""The job queue: a job exists only if its transaction commits, runs in a worker, retries, fails with its error."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from fintrack.auth import service as auth
from fintrack.auth.models import User
from fintrack.jobs import JobAlreadyQueued, JobContext, RetryStrategy, UnknownTask, defer, job_status, queue_stats, task
from fintrack.ops import metrics
from tests.conftest import PASSWORD, Committed

runs: list[tuple[str, int, int]] = []


@task(name="tests.jobs.promote", queue="tests")
async def promote(ctx: JobContext, user_id: int) -> None:
    """Reads what the deferring transaction committed and writes in a transaction of its own."""
    async with ctx.db.sessionmaker() as session, session.begin():
        user = await session.get(User, user_id)
        assert user is not None, "the job sees the committed user"
        user.is_admin = True
    runs.append(("promote", ctx.job_id, ctx.attempts))


@task(name="tests.jobs.flaky", queue="tests", retry=RetryStrategy(max_attempts=2))
async def flaky(ctx: JobContext, label: str) -> None:
    runs.append((label, ctx.job_id, ctx.attempts))
    raise ValueError(f"{label} broke on run {ctx.attempts + 1}")


@task(name="tests.jobs.chain", queue="tests")
async def chain(ctx: JobContext, user_id: int) -> None:
    async with ctx.db.sessionmaker() as session, session.begin():
        await defer(session, "tests.jobs.promote", user_id=user_id)


async def new_user(committed: Committed, email: str) -> int:
    async with committed.db.sessionmaker() as session, session.begin():
        return (await auth.create_user(session, email, PASSWORD)).id


async def is_admin(committed: Committed, user_id: int) -> bool:
    async with committed.db.sessionmaker() as session:
        return bool(await session.scalar(select(User.is_admin).where(User.id == user_id)))


@pytest.fixture(autouse=True)
def _forget_runs() -> None:
    runs.clear()


async def test_a_job_deferred_in_a_rolled_back_transaction_never_runs(committed: Committed) -> None:
    user_id = await new_user(committed, "ana@example.com")
    async with committed.db.sessionmaker() as session:
        await session.begin()
        await defer(session, "tests.jobs.promote", user_id=user_id)
        await session.rollback()
    await committed.run_jobs()
    assert runs == []
    async with committed.db.sessionmaker() as session:
        assert await queue_stats(session) == {}
    assert not await is_admin(committed, user_id)


async def test_a_committed_job_runs_and_its_task_reads_and_writes_committed_data(committed: Committed) -> None:
    async with committed.db.sessionmaker() as session, session.begin():
        # The user and the job commit together: the worker can never see the job without the user.
        user = await auth.create_user(session, "bia@example.com", PASSWORD)
        job_id = await defer(session, "tests.jobs.promote", user_id=user.id)
    await committed.run_jobs()
    assert runs == [("promote", job_id, 0)]
    assert await is_admin(committed, user.id)
    async with committed.db.sessionmaker() as session:
        status = await job_status(session, job_id)
    assert status is not None
    assert (status["status"], status["queue"], status["args"], status["errors"]) == (
        "succeeded",
        "tests",
        {"user_id": user.id},
        [],
    )


async def test_a_job_sees_nothing_until_its_transaction_commits(committed: Committed) -> None:
    async with committed.db.sessionmaker() as session:
        await session.begin()
        user = await auth.create_user(session, "caio@example.com", PASSWORD)
        await defer(session, "tests.jobs.promote", user_id=user.id)
        await committed.run_jobs()  # while the request is still open
        assert runs == []
        await session.commit()
    await committed.run_jobs()
    assert [name for name, _, _ in runs] == ["promote"]


async def test_a_failing_task_is_retried_then_fails_with_its_errors_recorded(committed: Committed) -> None:
    async with committed.db.sessionmaker() as session, session.begin():
        job_id = await defer(session, "tests.jobs.flaky", label="sync")
    await committed.run_jobs()
    assert runs == [("sync", job_id, 0), ("sync", job_id, 1), ("sync", job_id, 2)]
    async with committed.db.sessionmaker() as session:
        status = await job_status(session, job_id)
    assert status is not None and (status["status"], status["attempts"]) == ("failed", 3)
    assert [(e["attempt"], e["error"]) for e in status["errors"]] == [
        (1, "ValueError: sync broke on run 1"),
        (2, "ValueError: sync broke on run 2"),
        (3, "ValueError: sync broke on run 3"),
    ]
    async with committed.db.sessionmaker() as session, session.begin():
        # What docs/operations.md tells an operator to run once the cause is fixed.
        await session.execute(text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)"), {"id": job_id})
    await committed.run_jobs()
    assert len(runs) == 4


async def test_a_task_may_defer_further_jobs(committed: Committed) -> None:
    user_id = await new_user(committed, "duda@example.com")
    async with committed.db.sessionmaker() as session, session.begin():
        await defer(session, "tests.jobs.chain", user_id=user_id)
    await committed.run_jobs()
    assert await is_admin(committed, user_id)


async def test_a_queueing_lock_keeps_one_job_waiting_and_the_transaction_usable(committed: Committed) -> None:
    user_id = await new_user(committed, "eva@example.com")
    async with committed.db.sessionmaker() as session, session.begin():
        first = await defer(session, "tests.jobs.promote", queueing_lock=f"user-{user_id}", user_id=user_id)
        with pytest.raises(JobAlreadyQueued):
            await defer(session, "tests.jobs.promote", queueing_lock=f"user-{user_id}", user_id=user_id)
        assert await session.scalar(text("SELECT 1")) == 1
    await committed.run_jobs()
    assert [job_id for _, job_id, _ in runs] == [first]


async def test_an_unknown_task_name_is_refused_at_defer_time(session) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownTask, match="TASK_MODULES"):
        await defer(session, "tests.jobs.no_such_task")


async def test_queue_stats_and_metrics_count_jobs_per_queue_and_status(committed: Committed) -> None:
    from fintrack.jobs.service import refresh_metrics

    async with committed.db.sessionmaker() as session, session.begin():
        await defer(session, "tests.jobs.flaky", label="counted")
    await committed.run_jobs()
    user_id = await new_user(committed, "fia@example.com")
    async with committed.db.sessionmaker() as session, session.begin():
        await defer(session, "tests.jobs.promote", user_id=user_id)
        await defer(session, "tests.jobs.promote", user_id=user_id)
    async with committed.db.sessionmaker() as session:
        stats = await refresh_metrics(session)
    assert stats == {
        "tests": {"todo": 2, "doing": 0, "succeeded": 0, "failed": 1, "cancelled": 0, "aborted": 0},
    }
    rendered = metrics.render().decode()
    assert 'job_queue_depth{queue="tests",status="todo"} 2.0' in rendered
    assert 'job_queue_depth{queue="tests",status="failed"} 1.0' in rendered


async def test_the_jobs_of_a_worker_that_died_are_run_again(committed: Committed) -> None:
    user_id = await new_user(committed, "gil@example.com")
    async with committed.db.sessionmaker() as session, session.begin():
        job_id = await defer(session, "tests.jobs.promote", user_id=user_id)
        # A worker took the job, then went silent (SIGKILL, a lost machine): its heartbeat is a minute old.
        worker_id = await session.scalar(
            text("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 minute') RETURNING id")
        )
        await session.execute(
            text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w WHERE id = :id"),
            {"w": worker_id, "id": job_id},
        )
    await committed.run_jobs()
    assert runs == [("promote", job_id, 1)]
    assert await is_admin(committed, user_id)


async def test_upkeep_removes_finished_jobs_but_keeps_failed_ones(committed: Committed) -> None:
    user_id = await new_user(committed, "hugo@example.com")
    async with committed.db.sessionmaker() as session, session.begin():
        done = await defer(session, "tests.jobs.promote", user_id=user_id)
        broken = await defer(session, "tests.jobs.flaky", label="kept")
    await committed.run_jobs()
    async with committed.db.sessionmaker() as session, session.begin():
        upkeep = await defer(session, "jobs.remove_old", days=0)
    await committed.run_jobs()
    async with committed.db.sessionmaker() as session:
        assert await job_status(session, done) is None
        kept = await job_status(session, broken)
        assert kept is not None and kept["status"] == "failed" and len(kept["errors"]) == 3
        assert (await job_status(session, upkeep) or {}).get("status") == "succeeded"


def test_the_worker_connects_with_libpq_conninfo_from_our_url() -> None:
    from psycopg.conninfo import conninfo_to_dict

    from fintrack.jobs.app import conninfo

    embedded = conninfo_to_dict(conninfo("postgresql+psycopg://postgres@/fintrack?host=/tmp/ft-pg/sock"))
    assert embedded == {"host": "/tmp/ft-pg/sock", "user": "postgres", "dbname": "fintrack"}
    external = conninfo_to_dict(conninfo("postgresql+psycopg://app:p%40ss%20w@db.lan:5433/ft?sslmode=require"))
    assert external == {
        "host": "db.lan",
        "port": "5433",
        "user": "app",
        "password": "p@ss w",
        "dbname": "ft",
        "sslmode": "require",
    }
