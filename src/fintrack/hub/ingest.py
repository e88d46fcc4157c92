"""Publishing from long-lived producers (the WebSocket data plane): per-channel group commit.

A producer on a socket sends one publication per message, often hundreds a second. One transaction per
message would cap a channel at the rate PostgreSQL commits; instead each channel has a queue and one drainer:
everything that arrived while the previous commit was in flight goes into the next `store.append`, in arrival
order, so a producer's publications keep their order and still wait for their own commit before being answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.errors import DomainError
from fintrack.hub import store
from fintrack.hub.broker import Broker
from fintrack.hub.policy import Caller

log = structlog.get_logger("fintrack.hub")
Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(eq=False)
class _Pending:
    caller: Caller
    item: store.Item
    answer: asyncio.Future[store.Published] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit:
    """`await publish(caller, channel, item)` → the item's seq once it is committed (DomainError if refused)."""

    def __init__(self, transaction: Transaction, broker: Broker | None) -> None:
        self.transaction = transaction
        self.broker = broker
        self.queues: dict[str, list[_Pending]] = {}
        self.draining: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def publish(self, caller: Caller, channel: str, item: store.Item) -> store.Published:
        pending = _Pending(caller, item)
        self.queues.setdefault(channel, []).append(pending)
        if channel not in self.draining:
            self.draining.add(channel)
            task = asyncio.ensure_future(self._drain(channel))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await pending.answer

    async def _drain(self, channel: str) -> None:
        try:
            while queue := self.queues.pop(channel, None):
                while queue:
                    # One append per run of the same caller (append checks one caller's rights), at most a batch.
                    run = [queue.pop(0)]
                    while queue and queue[0].caller == run[0].caller and len(run) < store.MAX_BATCH:
                        run.append(queue.pop(0))
                    await self._commit(channel, run)
        finally:
            self.draining.discard(channel)
            if self.queues.get(channel):  # arrived after the last pop, before the discard
                self.draining.add(channel)
                task = asyncio.ensure_future(self._drain(channel))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _commit(self, channel: str, run: list[_Pending]) -> None:
        try:
            answers = await self._append(channel, run[0].caller, [p.item for p in run])
        except DomainError as problem:
            if len(run) == 1:
                _settle(run[0], problem)
                return
            # One bad item refuses the whole batch: commit the others one by one, so only it is refused.
            for pending in run:
                try:
                    _settle(pending, (await self._append(channel, pending.caller, [pending.item]))[0])
                except Exception as exc:  # handed to the waiting producer
                    _settle(pending, exc)
            return
        except Exception as exc:  # the database is down: every waiting producer hears it
            log.exception("hub publish failed", channel=channel, count=len(run))
            for pending in run:
                _settle(pending, exc)
            return
        for pending, answer in zip(run, answers, strict=True):
            _settle(pending, answer)

    async def _append(self, channel: str, caller: Caller, items: list[store.Item]) -> list[store.Published]:
        async with self.transaction() as session:
            return await store.append(session, channel, items, user=caller, broker=self.broker)


def _settle(pending: _Pending, outcome: Any) -> None:
    if pending.answer.done():  # the producer went away meanwhile
        return
    if isinstance(outcome, BaseException):
        pending.answer.set_exception(outcome)
    else:
        pending.answer.set_result(outcome)
