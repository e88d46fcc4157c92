"""Durable consumers: at-least-once delivery for bots.

A consumer is a name a user gives to their reading of one channel. Its cursor — the last seq they acknowledged —
is committed to PostgreSQL; subscribing with the consumer's name resumes after it, so everything delivered but
not acknowledged before a crash or a reconnect is delivered again. Acks are cumulative (acking seq N acknowledges
everything up to N), like a Kafka offset commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.errors import InvalidInput
from fintrack.hub import policy, queries, store
from fintrack.hub.errors import AckBeyondLast, ConsumerNotFound
from fintrack.hub.policy import Caller

NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


@dataclass(frozen=True)
class Cursor:
    """Where a consumer resumes: after `acked_seq` of `epoch`.

    `restarted_after` is the seq the cursor stood at in the previous epoch when the channel was reset since
    (the consumer then starts over at the new epoch's first publication, and is told so with a gap notice).
    """

    channel: str
    name: str
    epoch: int | None
    acked_seq: int
    created: bool
    restarted_after: int | None = None


@dataclass(frozen=True)
class ConsumerInfo:
    channel: str
    name: str
    epoch: int | None
    acked_seq: int
    # Publications not yet acknowledged (None when the channel has none yet or was reset since).
    pending: int | None
    created_at: datetime
    acked_at: datetime | None


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise InvalidInput(
            "a consumer name is 1 to 200 letters, digits, '_', '.', ':' or '-'", field="consumer", value=name[:60]
        )
    return name


async def attach(
    session: AsyncSession, channel: str, name: str, *, user: Caller, after_seq: int | None = None
) -> Cursor:
    """The consumer's cursor, created if new: after `after_seq` when given, otherwise at the channel's last seq
    (a new consumer starts with what is published from now on)."""
    assert user.user_id is not None, "a consumer belongs to a user"
    check_name(name)
    ns = await store.governing(session, channel)
    policy.require(user, "subscribe", channel, ns)
    found = await queries.channel_by_name(session, channel)
    epoch, last = (found.epoch, found.last_seq) if found is not None else (None, 0)
    row = await queries.consumer(session, user.user_id, channel, name)
    if row is None:
        start = last if after_seq is None else after_seq
        row = await queries.create_consumer(session, user.user_id, channel, name, epoch, start)
        return Cursor(channel, name, row.epoch, row.acked_seq, created=True)
    if epoch is not None and row.epoch is None:  # created before the channel's first publication
        await queries.move_consumer(session, row.id, epoch, row.acked_seq)
    elif epoch is not None and row.epoch != epoch:
        await queries.move_consumer(session, row.id, epoch, 0)
        return Cursor(channel, name, epoch, 0, created=False, restarted_after=row.acked_seq)
    return Cursor(channel, name, epoch, row.acked_seq, created=False)


async def ack(session: AsyncSession, channel: str, name: str, seq: int, *, user: Caller) -> int:
    """Acknowledge everything up to `seq`; returns the committed cursor (which never moves back)."""
    assert user.user_id is not None, "a consumer belongs to a user"
    found = await queries.channel_by_name(session, channel)
    if found is None or seq > found.last_seq:
        last = found.last_seq if found is not None else 0
        raise AckBeyondLast(
            f"seq {seq} is beyond the last seq of {channel} ({last})", channel=channel, seq=seq, last_seq=last
        )
    acked = await queries.ack_consumer(session, user.user_id, channel, name, found.epoch, seq)
    if acked is None:
        raise ConsumerNotFound(channel=channel, consumer=name)
    return acked


async def put(session: AsyncSession, channel: str, name: str, after_seq: int | None, *, user: Caller) -> Cursor:
    """Create the consumer, or move its cursor — back too: after_seq 0 replays everything still retained."""
    assert user.user_id is not None, "a consumer belongs to a user"
    check_name(name)
    ns = await store.governing(session, channel)
    policy.require(user, "subscribe", channel, ns)
    found = await queries.channel_by_name(session, channel)
    epoch, last = (found.epoch, found.last_seq) if found is not None else (None, 0)
    seq = last if after_seq is None else after_seq
    if seq > last:
        raise AckBeyondLast(
            f"after_seq {seq} is beyond the last seq of {channel} ({last})", channel=channel, seq=seq, last_seq=last
        )
    row = await queries.consumer(session, user.user_id, channel, name)
    if row is None:
        row = await queries.create_consumer(session, user.user_id, channel, name, epoch, seq)
        return Cursor(channel, name, row.epoch, row.acked_seq, created=True)
    if epoch is not None:
        await queries.move_consumer(session, row.id, epoch, seq)
    return Cursor(channel, name, epoch, seq, created=False)


async def list_for(session: AsyncSession, *, user: Caller) -> list[ConsumerInfo]:
    assert user.user_id is not None
    out = []
    for row in await queries.consumers_of(session, user.user_id):
        same_epoch = row.channel_last_seq is not None and row.epoch in (None, row.channel_epoch)
        pending = max(0, row.channel_last_seq - row.acked_seq) if same_epoch else None
        out.append(ConsumerInfo(row.channel, row.name, row.epoch, row.acked_seq, pending, row.created_at, row.acked_at))
    return out


async def delete(session: AsyncSession, channel: str, name: str, *, user: Caller) -> None:
    assert user.user_id is not None
    if not await queries.delete_consumer(session, user.user_id, channel, name):
        raise ConsumerNotFound(channel=channel, consumer=name)
