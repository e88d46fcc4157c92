"""Declaring tasks, the modules that hold them, and the procrastinate App a worker runs them with."""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import procrastinate
import structlog
from procrastinate.psycopg_connector import PsycopgConnector
from procrastinate.retry import RetryValue
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL, make_url

from fintrack.db import Database
from fintrack.settings import Settings

log = structlog.get_logger("fintrack.jobs")

# Every module that declares tasks: a worker imports these before it fetches a job, so it knows every task
# name a web process may defer. Adding a domain's tasks is one line here.
TASK_MODULES: list[str] = [
    "fintrack.jobs.tasks",
    "fintrack.imports.tasks",
    "fintrack.categorize.tasks",
    "fintrack.hub.tasks",
    "fintrack.recurring.tasks",
]

DEFAULT_QUEUE = "default"


@dataclass(frozen=True)
class JobContext:
    """What a task gets besides its arguments: its own database access (it opens its own transactions with
    `db.sessionmaker()`, as a request does), the settings, and which job this is."""

    db: Database
    settings: Settings
    job_id: int
    # Runs so far that ended in an error (0 on the first run): a task may resume or clean up on a retry.
    attempts: int
    queue: str
    # True once the worker is shutting down or the job was cancelled; a long task checks it between steps.
    should_abort: Callable[[], bool]


TaskFunction = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=TaskFunction)


@dataclass(frozen=True)
class Declared:
    name: str
    queue: str
    retry: RetryValue
    priority: int
    lock: str | None
    queueing_lock: str | None
    func: TaskFunction


_declared: dict[str, Declared] = {}


class UnknownTask(LookupError):
    """No task of that name is declared in the modules listed in fintrack.jobs.app.TASK_MODULES."""


def task(
    *,
    name: str,
    queue: str = DEFAULT_QUEUE,
    retry: RetryValue = False,
    priority: int = 0,
    lock: str | None = None,
    queueing_lock: str | None = None,
) -> Callable[[F], F]:
    """Declare `async def f(ctx: JobContext, **kwargs)` as the task `name`.

    The name is stored with every job, so it must outlive refactors: give it explicitly ("imports.preview").
    `retry` is procrastinate's: False (never), an int (that many retries after the first run), or a
    `RetryStrategy` (waits, which exceptions). The function comes back unchanged, so a test may call it directly.
    """

    def register(func: F) -> F:
        known = _declared.get(name)
        if known is not None and _origin(known.func) != _origin(func):
            raise ValueError(f"task {name!r} is already declared by {_origin(known.func)}")
        _declared[name] = Declared(name, queue, retry, priority, lock, queueing_lock, func)
        return func

    return register


def _origin(func: TaskFunction) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def import_task_modules() -> None:
    for module in TASK_MODULES:
        importlib.import_module(module)


def declared(name: str) -> Declared:
    import_task_modules()
    try:
        return _declared[name]
    except KeyError:
        raise UnknownTask(f"no task {name!r}; is its module listed in fintrack.jobs.app.TASK_MODULES?") from None


def conninfo(url: str | URL) -> str:
    """libpq's conninfo for our SQLAlchemy URL (`postgresql+psycopg://postgres@/db?host=/socket/dir` included)."""
    parsed = make_url(url)
    params: dict[str, Any] = {key: value for key, value in parsed.query.items() if isinstance(value, str)}
    params.update(parsed.translate_connect_args(username="user", database="dbname"))
    return make_conninfo("", **{key: value for key, value in params.items() if value is not None})


# Periodic upkeep, deferred by whichever long-running worker sees the tick first (once per tick in all).
SCHEDULE = {"jobs.remove_old": "17 4 * * *", "hub.retention": "*/10 * * * *"}


def build_app(database: Database, pool_size: int, *, periodic: bool = True) -> procrastinate.App:
    """A procrastinate App that knows every declared task, with a small pool of its own for fetching and
    finishing jobs (the tasks' own work goes through `database`)."""
    import_task_modules()
    connector = PsycopgConnector(
        conninfo=conninfo(database.engine.url),
        min_size=1,
        max_size=pool_size,
        kwargs={"application_name": "fintrack-worker"},
    )
    app = procrastinate.App(connector=connector)
    for spec in _declared.values():
        app.task(
            name=spec.name,
            queue=spec.queue,
            retry=spec.retry,
            priority=spec.priority,
            lock=spec.lock,
            queueing_lock=spec.queueing_lock,
            pass_context=True,
        )(_runner(spec))
    if periodic:
        for name, cron in SCHEDULE.items():
            app.periodic(cron=cron)(app.tasks[name])
    return app


def _runner(spec: Declared) -> Callable[..., Awaitable[Any]]:
    async def run(context: procrastinate.JobContext, **kwargs: Any) -> Any:
        extra = context.additional_context
        job = context.job
        assert job.id is not None, "a fetched job has an id"
        ctx = JobContext(
            db=extra["db"],
            settings=extra["settings"],
            job_id=job.id,
            attempts=job.attempts,
            queue=job.queue,
            should_abort=context.should_abort,
        )
        try:
            return await spec.func(ctx, **kwargs)
        except Exception as exc:
            await record_error(ctx.db, job.id, job.attempts + 1, exc)
            raise

    run.__name__ = run.__qualname__ = spec.func.__name__
    run.__module__ = spec.func.__module__
    return run


async def record_error(db: Database, job_id: int, attempt: int, exc: BaseException | str) -> None:
    """Keep why a run failed next to the job: procrastinate itself only logs it."""
    from fintrack.jobs import queries

    if isinstance(exc, BaseException):
        error = f"{type(exc).__name__}: {exc}"
        trace = "".join(traceback.format_exception(exc))
    else:
        error, trace = exc, None
    try:
        async with db.sessionmaker() as session, session.begin():
            await queries.add_error(session, job_id, attempt, error, trace)
    except Exception:
        # The job's own outcome must still be saved; a lost error message is only logged.
        log.exception("could not record a job's error", job_id=job_id)
