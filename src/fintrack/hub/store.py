"""Durable history: append publications with gap-free per-channel seqs, and read them back.

Both run inside the caller's transaction. Publications reach the broker only after that transaction commits:
`append` leaves a callback in `session.info["after_commit"]`, which the request's session owner
(fintrack.deps) runs after a successful commit and drops on rollback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.errors import InvalidInput, mark
from fintrack.hub import policy, queries
from fintrack.hub.broker import Broker, Publication
from fintrack.hub.errors import (
    BatchTooLarge,
    ChannelNotFound,
    InvalidPattern,
    InvalidSchema,
    NotAllowed,
    PayloadTooLarge,
    SchemaViolation,
)
from fintrack.hub.models import HubNamespace, HubPublication
from fintrack.hub.policy import Caller, Namespace
from fintrack.ops.metrics import HUB_PUBLICATIONS

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_BATCH = 1000
MAX_READ = 1000
# jsonb refuses the NUL character; an escaped backslash before "u0000" is an ordinary string.
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


@dataclass(frozen=True)
class Item:
    """One publication as a producer sends it."""

    payload: Any
    key: str | None = None
    idempotency_key: str | None = None
    producer_time: datetime | None = None


@dataclass(frozen=True)
class Published:
    """What the producer is told about one item: its seq, and whether it repeated an earlier idempotency key."""

    seq: int
    epoch: int
    duplicate: bool


@dataclass(frozen=True)
class History:
    channel: str
    epoch: int
    last_seq: int
    # The oldest seq still retained (None: nothing is); a caller resuming after an older seq has a gap.
    oldest_seq: int | None
    gap: bool
    publications: list[Publication]


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Run `callback` once the session's transaction has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(callback)


async def namespaces(session: AsyncSession) -> list[Namespace]:
    return policy.merged(namespace_of(row) for row in await queries.namespaces(session))


def namespace_of(row: HubNamespace) -> Namespace:
    return Namespace(
        pattern=row.pattern,
        publish=row.publish,  # type: ignore[arg-type]
        subscribe=row.subscribe,  # type: ignore[arg-type]
        history=row.history,  # type: ignore[arg-type]
        retention_seconds=row.retention_seconds,
        retention_count=row.retention_count,
        overflow=row.overflow,  # type: ignore[arg-type]
        json_schema=row.json_schema,
        ttl_seconds=row.ttl_seconds,
    )


async def governing(session: AsyncSession, channel: str) -> Namespace:
    return policy.resolve(policy.check_channel(channel), await namespaces(session))


@lru_cache(maxsize=64)
def _validator(schema_text: str) -> Draft202012Validator:
    schema = json.loads(schema_text)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise InvalidSchema(
            mark("json_schema: {problem}"), values={"problem": exc.message}, path=exc.json_path
        ) from None
    return Draft202012Validator(schema)


def check_schema(schema: dict[str, Any]) -> None:
    """InvalidSchema unless `schema` is a valid JSON schema (draft 2020-12)."""
    _validator(json.dumps(schema, sort_keys=True))


def encode(index: int, item: Item, schema: dict[str, Any] | None) -> str:
    """The item's payload as JSON text, after the checks every payload passes (size, schema, jsonb's rules)."""
    try:
        encoded = json.dumps(item.payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            mark("publication {index}: payload is not JSON: {problem}"),
            values={"index": index, "problem": exc},
            index=index,
            field="payload",
        ) from None
    size = len(encoded.encode())
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            mark("publication {index}: payload is {size} bytes, more than {limit}"),
            values={"index": index, "size": size, "limit": MAX_PAYLOAD_BYTES},
            index=index,
            size=size,
            limit=MAX_PAYLOAD_BYTES,
        )
    if _NUL.search(encoded):
        raise InvalidInput(
            mark("publication {index}: payload contains a NUL character (\\u0000)"),
            values={"index": index},
            index=index,
        )
    for name in ("key", "idempotency_key"):
        value = getattr(item, name)
        if value is not None and ("\x00" in value or not value):
            raise InvalidInput(
                mark("publication {index}: {name} is empty or contains a NUL character"),
                values={"index": index, "name": name},
                index=index,
            )
    if schema is not None:
        error = next(iter(_validator(json.dumps(schema, sort_keys=True)).iter_errors(item.payload)), None)
        if error is not None:
            raise SchemaViolation(
                mark("publication {index}: payload at {path}: {problem}"),
                values={"index": index, "path": error.json_path, "problem": error.message},
                index=index,
                path=error.json_path,
                reason=error.message,
            )
    return encoded


async def append(
    session: AsyncSession,
    channel: str,
    items: Sequence[Item],
    *,
    user: Caller,
    broker: Broker | None = None,
) -> list[Published]:
    """Store the items on the channel in order, each with the next seq; repeats of an idempotency key get the
    seq they got the first time and are neither stored nor delivered again."""
    if len(items) > MAX_BATCH:
        raise BatchTooLarge(
            mark("{count} publications in one batch; at most {limit}"),
            values={"count": len(items), "limit": MAX_BATCH},
            limit=MAX_BATCH,
        )
    ns = await governing(session, channel)
    policy.require(user, "publish", channel, ns)
    encoded = [encode(i, item, ns.json_schema) for i, item in enumerate(items)]
    if not items:
        return []
    locked = await queries.lock_channel(session, channel, ns.pattern)
    channel_id, epoch, last_seq, now = locked.id, locked.epoch, locked.last_seq, locked.now
    keys = [item.idempotency_key for item in items if item.idempotency_key is not None]
    known = await queries.seqs_of_keys(session, channel_id, keys) if keys else {}
    answers: list[Published] = []
    rows: list[tuple[Any, ...]] = []
    pubs: list[Publication] = []
    for item, payload in zip(items, encoded, strict=True):
        if item.idempotency_key is not None and item.idempotency_key in known:
            answers.append(Published(known[item.idempotency_key], epoch, duplicate=True))
            continue
        last_seq += 1
        if item.idempotency_key is not None:
            known[item.idempotency_key] = last_seq
        answers.append(Published(last_seq, epoch, duplicate=False))
        rows.append(
            (
                channel_id,
                last_seq,
                epoch,
                item.producer_time,
                now,
                item.idempotency_key,
                item.key,
                payload,
                user.user_id,
            )
        )
        pubs.append(Publication(channel, last_seq, epoch, item.producer_time, now, item.key, item.payload))
    if rows:
        await queries.set_last_seq(session, channel_id, last_seq)
        await queries.insert_publications(session, rows)
    # A repeat may be a producer's retry after a server died between its commit and the hand-off to the broker:
    # hand those publications over again (subscribers drop what they already have, by seq).
    repeated = sorted({a.seq for a in answers if a.duplicate} - {p.seq for p in pubs})
    again = (
        [_publication(channel, r) for r in await queries.publications_at(session, channel_id, repeated)]
        if repeated
        else []
    )
    if pubs or again:
        new = len(pubs)
        out = sorted([*pubs, *again], key=lambda p: p.seq)

        async def delivered() -> None:
            HUB_PUBLICATIONS.labels(namespace=ns.pattern).inc(new)
            if broker is not None:
                await broker.publish(out)

        after_commit(session, delivered)
    return answers


def _publication(channel: str, row: HubPublication) -> Publication:
    return Publication(channel, row.seq, row.epoch, row.producer_time, row.ingest_time, row.key, row.payload)


async def read(
    session: AsyncSession,
    channel: str,
    after_seq: int | None = None,
    since: datetime | None = None,
    limit: int = 100,
    *,
    user: Caller,
) -> History:
    """Retained publications in seq order: after a seq, from a time, or from the oldest retained."""
    ns = await governing(session, channel)
    policy.require(user, "history", channel, ns)
    found = await queries.channel_by_name(session, channel)
    if found is None:
        raise ChannelNotFound(channel=channel)
    rows = await queries.publications(
        session, found.id, after_seq=after_seq, since=since, limit=max(1, min(limit, MAX_READ))
    )
    oldest = await queries.oldest_seq(session, found.id)
    behind = after_seq is not None and after_seq < found.last_seq
    gap = behind and (oldest is None or after_seq + 1 < oldest)  # type: ignore[operator]
    return History(channel, found.epoch, found.last_seq, oldest, gap, [_publication(channel, r) for r in rows])


async def latest_per_key(session: AsyncSession, channel: str, limit: int = 1000, *, user: Caller) -> History:
    """The newest retained publication of each key, in seq order (what a conflating subscriber starts from)."""
    ns = await governing(session, channel)
    policy.require(user, "history", channel, ns)
    found = await queries.channel_by_name(session, channel)
    if found is None:
        raise ChannelNotFound(channel=channel)
    rows = await queries.latest_per_key(session, found.id, max(1, min(limit, MAX_READ)))
    oldest = await queries.oldest_seq(session, found.id)
    return History(channel, found.epoch, found.last_seq, oldest, False, [_publication(channel, r) for r in rows])


@dataclass(frozen=True)
class ChannelInfo:
    name: str
    namespace: str
    epoch: int
    last_seq: int


async def readable_channels(session: AsyncSession, *, user: Caller) -> list[ChannelInfo]:
    """The channels the caller may subscribe to or read the history of."""
    known = await namespaces(session)
    out = []
    for row in await queries.channels(session):
        try:
            ns = policy.resolve(row.name, known)
        except InvalidInput:
            continue
        if policy.allowed(user, "history", row.name, ns) or policy.allowed(user, "subscribe", row.name, ns):
            out.append(ChannelInfo(row.name, row.namespace, row.epoch, row.last_seq))
    return out


async def put_namespace(session: AsyncSession, ns: Namespace) -> Namespace:
    if not policy.is_pattern(ns.pattern):
        raise InvalidPattern(pattern=ns.pattern)
    if ns.json_schema is not None:
        check_schema(ns.json_schema)
    values = {
        "pattern": ns.pattern,
        "publish": ns.publish,
        "subscribe": ns.subscribe,
        "history": ns.history,
        "retention_seconds": ns.retention_seconds,
        "retention_count": ns.retention_count,
        "overflow": ns.overflow,
        "json_schema": ns.json_schema,
        "ttl_seconds": ns.ttl_seconds,
    }
    await queries.put_namespace(session, values)
    return ns


async def reset(session: AsyncSession, channel: str, *, user: Caller) -> int:
    """Start the channel over in a new epoch: its history is deleted and seqs restart at 1. Returns the epoch.

    Subscribers resuming from (old epoch, seq) can tell their position no longer means anything.
    """
    policy.check_channel(channel)
    if not (user.is_server or user.is_admin):
        raise NotAllowed(
            mark("only an administrator may reset channel {channel!r}"),
            values={"channel": channel},
            channel=channel,
            action="reset",
        )
    found = await queries.channel_by_name(session, channel)
    if found is None:
        raise ChannelNotFound(channel=channel)
    return await queries.new_epoch(session, found.id)


async def require_listen(session: AsyncSession, channel: str, *, user: Caller) -> None:
    """NotAllowed unless the caller may subscribe to the channel or read its history (who may see its presence)."""
    ns = await governing(session, channel)
    if not (policy.allowed(user, "subscribe", channel, ns) or policy.allowed(user, "history", channel, ns)):
        raise NotAllowed(
            mark("you may not subscribe to channel {channel!r}"),
            values={"channel": channel},
            channel=channel,
            action="subscribe",
        )
