"""Durable background jobs in PostgreSQL (procrastinate): declare with `task`, enqueue with `defer`.

Task modules are listed in fintrack.jobs.app.TASK_MODULES; workers run them (`fintrack worker`, or the one inside
`fintrack serve`).
"""

from procrastinate import RetryStrategy

from fintrack.jobs.app import TASK_MODULES, JobContext, UnknownTask, task
from fintrack.jobs.service import JobAlreadyQueued, defer, job_status, queue_stats

__all__ = [
    "TASK_MODULES",
    "JobAlreadyQueued",
    "JobContext",
    "RetryStrategy",
    "UnknownTask",
    "defer",
    "job_status",
    "queue_stats",
    "task",
]
