"""Running a worker: standalone (`fintrack worker`), inside `fintrack serve`, or until the queue is idle (tests)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterable

import procrastinate
import structlog
from procrastinate.app import WorkerOptions
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Status

from fintrack.db import Database
from fintrack.jobs import queries
from fintrack.jobs.app import build_app, record_error
from fintrack.settings import Settings

log = structlog.get_logger("fintrack.jobs")

# A worker writes a heartbeat every HEARTBEAT_SECONDS; one silent for STALLED_AFTER_SECONDS is taken for dead
# (killed, crashed, its machine gone) and the jobs it held are run again. A task must therefore never block the
# event loop that long: CPU-heavy steps go to a thread.
HEARTBEAT_SECONDS = 10.0
STALLED_AFTER_SECONDS = 30.0
RECOVERY_INTERVAL_SECONDS = 60.0
# A job whose worker died this many times is probably what kills it: it fails instead of looping forever.
STALLED_MAX_ATTEMPTS = 3
RESTART_DELAY_SECONDS = 5.0


async def run(
    database: Database,
    settings: Settings,
    *,
    queues: Iterable[str] | None = None,
    concurrency: int = 1,
    wait: bool = True,
    name: str = "fintrack-worker",
) -> None:
    """Fetch and run jobs until cancelled (wait=True) or until none is due (wait=False).

    Cancelling this coroutine stops the worker gracefully: it fetches nothing more and lets running jobs finish.
    """
    # A worker that stops when idle (tests) defers no periodic jobs: they would appear at random times of day.
    app = build_app(database, pool_size=concurrency + 2, periodic=wait)
    options: WorkerOptions = {
        "concurrency": concurrency,
        "wait": wait,
        "name": name,
        "listen_notify": wait,
        "install_signal_handlers": False,
        "additional_context": {"db": database, "settings": settings},
        "update_heartbeat_interval": HEARTBEAT_SECONDS,
        "stalled_worker_timeout": STALLED_AFTER_SECONDS,
    }
    if queues:
        options["queues"] = list(queues)  # absent means every queue
    async with app.open_async():
        await recover_stalled(app, database)
        recovery = asyncio.create_task(_recover_periodically(app, database)) if wait else None
        try:
            await app.run_worker_async(**options)
        finally:
            if recovery is not None:
                recovery.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await recovery


async def run_until_idle(
    database: Database, settings: Settings, *, queues: Iterable[str] | None = None, rounds: int = 20
) -> None:
    """Run every due job, including retries due at once and jobs the tasks defer, then return."""
    queue_list = list(queues) if queues else None
    for _ in range(rounds):
        await run(database, settings, queues=queue_list, wait=False, name="fintrack-drain")
        async with database.sessionmaker() as session:
            if not await queries.due_count(session, queue_list):
                return
    raise RuntimeError(f"jobs were still due after {rounds} worker runs")


async def recover_stalled(app: procrastinate.App, database: Database) -> list[int]:
    """Put the jobs of dead workers back in the queue (or fail them, see STALLED_MAX_ATTEMPTS); return their ids."""
    manager = app.job_manager
    await manager.prune_stalled_workers(STALLED_AFTER_SECONDS)
    recovered = []
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
        assert job.id is not None
        try:
            if job.attempts + 1 >= STALLED_MAX_ATTEMPTS:
                await manager.finish_job(job, Status.FAILED, delete_job=False)
                await record_error(database, job.id, job.attempts + 1, "the worker running this job stopped")
            else:
                await manager.retry_job(job)
        except ConnectorException:
            continue  # another worker recovered it first
        log.warning("recovered a job from a stopped worker", job_id=job.id, task=job.task_name, attempts=job.attempts)
        recovered.append(job.id)
    return recovered


async def _recover_periodically(app: procrastinate.App, database: Database) -> None:
    while True:
        await asyncio.sleep(RECOVERY_INTERVAL_SECONDS)
        try:
            await recover_stalled(app, database)
        except Exception:
            log.exception("stalled job recovery failed; trying again later")


async def run_standalone(database: Database, settings: Settings, *, queues: list[str] | None, concurrency: int) -> None:
    """`fintrack worker`: run until SIGTERM or SIGINT, then let running jobs finish and return."""
    loop = asyncio.get_running_loop()
    broker = None
    if settings.REDIS_URL:
        # Jobs publish events (an import's progress) for users' live sockets; without Redis they are stored only,
        # and the servers' subscribers read them from history.
        from fintrack.hub.broker import RedisBroker

        broker = database.broker = RedisBroker(settings.REDIS_URL)
        await broker.start()
    worker = asyncio.create_task(run(database, settings, queues=queues, concurrency=concurrency))
    stops = 0

    def stop() -> None:
        # The first signal stops fetching and waits for running jobs; a second abandons them to stalled-job
        # recovery (another worker re-runs them after STALLED_AFTER_SECONDS).
        nonlocal stops
        stops += 1
        log.info("stopping worker", graceful=stops == 1)
        worker.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    log.info("worker started", queues=queues or "all", concurrency=concurrency)
    try:
        await worker
    except asyncio.CancelledError:
        if not stops:
            raise
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if broker is not None:
            await broker.close()
    log.info("worker stopped")


class InProcess:
    """The worker `fintrack serve` runs beside the web app (unless WORKER_IN_PROCESS=false), and the queue gauge."""

    def __init__(self, database: Database, settings: Settings) -> None:
        from fintrack.jobs.service import publish_metrics

        self.tasks = [asyncio.create_task(publish_metrics(database), name="job queue metrics")]
        if settings.WORKER_IN_PROCESS:
            self.tasks.append(asyncio.create_task(self._keep_running(database, settings), name="in-process worker"))

    @staticmethod
    async def _keep_running(database: Database, settings: Settings) -> None:
        # A lost database connection ends a procrastinate worker; the web process must not go on without one.
        while True:
            try:
                await run(database, settings, concurrency=settings.WORKER_CONCURRENCY)
                return
            except Exception:
                log.exception("in-process worker stopped; restarting", delay=RESTART_DELAY_SECONDS)
            await asyncio.sleep(RESTART_DELAY_SECONDS)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
