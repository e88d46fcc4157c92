"""The fan-out of committed publications to every live subscriber: in-process, or across replicas (Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

log = structlog.get_logger("fintrack.hub")


@dataclass(frozen=True)
class Publication:
    """One committed publication, as subscribers receive it."""

    channel: str
    seq: int
    epoch: int
    producer_time: datetime | None
    ingest_time: datetime
    key: str | None
    payload: Any


Callback = Callable[[Sequence[Publication]], None]


class Broker(Protocol):
    async def publish(self, pubs: Sequence[Publication]) -> None:
        """Hand committed publications (in seq order per channel) to every subscriber."""

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call `callback(pubs)` on the event loop for every published batch; returns the unsubscribe function."""

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Call `callback()` whenever the feed is (re)established: what was published while it was down is only
        in history, and a channel that stays quiet afterwards would never show the gap."""


class MemoryBroker:
    """The broker of a single process: publish calls every subscriber's callback at once, in order."""

    def __init__(self) -> None:
        self._callbacks: list[Callback] = []

    async def publish(self, pubs: Sequence[Publication]) -> None:
        if not pubs:
            return
        for callback in list(self._callbacks):
            try:
                callback(pubs)
            except Exception:
                # One broken subscriber must not keep the publications from the others.
                log.exception("hub subscriber failed", callback=getattr(callback, "__qualname__", repr(callback)))

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """In one process the feed is never down."""


class RedisBroker:
    """The broker of several replicas: every publish goes through one Redis pub/sub channel, and every replica
    (the publishing one included) hands what it hears to its own subscribers, so all see the same order.

    Redis is only the fast path: a publication lost in a Redis outage is still in PostgreSQL, and a subscriber
    that sees a seq gap backfills it from history.
    """

    def __init__(self, url: str, channel: str = "fintrack:hub") -> None:
        self._url = url
        self._channel = channel
        self._local = MemoryBroker()
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._reconnected: list[Callable[[], None]] = []

    async def start(self) -> None:
        """Connect and subscribe before returning: nothing published after start() is missed here.

        Unless Redis is down: the replica starts anyway (publishing only needs PostgreSQL) and the listener keeps
        trying; what it missed meanwhile its subscribers backfill from history.
        """
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff

        # One quick retry covers a pooled connection that died with a restarted Redis; more would hold every
        # publisher's answer (publish runs before the response) for seconds while Redis is down.
        self._redis = redis.Redis.from_url(self._url, retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1))
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self._channel)
        except Exception:
            log.warning("hub Redis unreachable at start; delivering only after it answers")
        self._listener = asyncio.create_task(self._listen(pubsub), name="hub-redis-listener")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()

    async def publish(self, pubs: Sequence[Publication]) -> None:
        if not pubs:
            return
        if self._redis is None:
            raise RuntimeError("RedisBroker.start() was not awaited")
        try:
            await self._redis.publish(self._channel, encode(pubs))
        except Exception:
            # Committed already: subscribers repair the gap from history when the next publication arrives.
            log.exception("hub publish to Redis failed", count=len(pubs))

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        return self._local.subscribe(callback)

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        self._reconnected.append(callback)

    async def _listen(self, pubsub: Any) -> None:
        delay = 0.1
        while True:
            try:
                async for message in pubsub.listen():
                    delay = 0.1
                    kind = message.get("type")
                    if kind == "message":
                        await self._local.publish(decode(message["data"]))
                    elif kind == "subscribe":
                        # Redis confirms the subscription (again: redis-py also resubscribes by itself after a
                        # dropped connection): from here on everything reaches us; before, only history has it.
                        for callback in list(self._reconnected):
                            try:
                                callback()
                            except Exception:
                                log.exception("hub reconnect callback failed")
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                raise
            except Exception:
                log.warning("hub Redis subscription lost; reconnecting", retry_in=delay)
            with contextlib.suppress(Exception):  # a listener that dies here would never reconnect
                await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
            pubsub = self._redis.pubsub()
            with contextlib.suppress(Exception):
                await pubsub.subscribe(self._channel)


def encode(pubs: Sequence[Publication]) -> bytes:
    return json.dumps(
        [
            [
                p.channel,
                p.seq,
                p.epoch,
                p.producer_time.isoformat() if p.producer_time else None,
                p.ingest_time.isoformat(),
                p.key,
                p.payload,
            ]
            for p in pubs
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def decode(data: bytes) -> list[Publication]:
    return [
        Publication(
            channel,
            seq,
            epoch,
            datetime.fromisoformat(produced) if produced else None,
            datetime.fromisoformat(ingested),
            key,
            payload,
        )
        for channel, seq, epoch, produced, ingested, key, payload in json.loads(data)
    ]


def for_settings(redis_url: str | None) -> Broker:
    """The broker the settings ask for: Redis when REDIS_URL is set, otherwise in-process."""
    return RedisBroker(redis_url) if redis_url else MemoryBroker()
