"""The fan-out engine: committed publications → the same pre-encoded frame bytes on every subscriber's socket.

The hot path (`deliver`) runs on the event loop inside the broker's callback: one encode per publication, then
one `transport.write` per live subscriber — no task, no await, no per-socket queue. Back-pressure is the
transport's own write buffer: its high-water mark is the per-connection byte limit, and `pause_writing`
marks the connection as overflowing, which applies the subscription's overflow policy.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import structlog

from fintrack.hub import protocol as wire
from fintrack.hub.protocol import PublicationLike
from fintrack.ops import metrics

log = structlog.get_logger("fintrack.hub")
Overflow = Literal["disconnect", "conflate", "drop"]
OVERFLOWS: tuple[Overflow, ...] = ("disconnect", "conflate", "drop")
PAGE = 500


class History(Protocol):
    """Committed publications of `channel` after `after_seq` (or since `since`), oldest first, at most `limit`;
    and the oldest seq still retained (None when the channel has none)."""

    def __call__(
        self, channel: str, after_seq: int | None, limit: int, since: datetime | None = None
    ) -> Awaitable[tuple[Sequence[PublicationLike], int | None]]: ...


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def get_write_buffer_size(self) -> int: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...
    def is_closing(self) -> bool: ...
    def can_write_eof(self) -> bool: ...
    def write_eof(self) -> None: ...


class Connection:
    """One subscriber socket as the engine sees it. `paused` is set by the transport's flow control."""

    __slots__ = ("closed", "doomed", "drained", "ident", "paused", "since", "subs", "transport", "who")

    def __init__(self, transport: Transport, ident: str = "") -> None:
        self.transport = transport
        self.ident = ident  # the peer's address
        self.who: int | None = None  # the user, once authenticated (presence tells admins)
        self.since = now()
        self.paused = False
        self.closed = False
        self.doomed = False  # a slow-consumer close is scheduled
        self.subs: dict[str, Subscription] = {}
        self.drained: asyncio.Event | None = None

    def send(self, data: bytes) -> None:
        """Frame and write one control message (cold path)."""
        if not self.closed:
            self.transport.write(wire.frame(data))

    async def wait_drained(self) -> None:
        while self.paused and not self.closed:
            if self.drained is None:
                self.drained = asyncio.Event()
            self.drained.clear()
            await self.drained.wait()


@dataclass(eq=False, slots=True)
class Subscription:
    conn: Connection
    channel: str  # the channel, or the pattern for a pattern subscription
    overflow: Overflow
    joining: list[PublicationLike] | None = None  # live publications held while history is replayed
    dropped_from: int | None = None  # first seq dropped while paused (drop policy)
    dropped_to: int | None = None
    conflated: dict[str | None, PublicationLike] = field(default_factory=dict)
    resume_after: int | None = None  # replayed up to here, waiting for the broker to catch up
    # The highest seq this subscription saw that exists (from history or the broker) — unlike the client's
    # resume position, which may be ahead of the channel (a bogus or stale after_seq).
    seen: int | None = None


@dataclass(eq=False, slots=True)
class Channel:
    name: str
    live: dict[Connection, Subscription] = field(default_factory=dict)
    joining: list[Subscription] = field(default_factory=list)
    last_seq: int | None = None
    epoch: int | None = None
    repairing: list[PublicationLike] | None = None  # publications held while a seq gap is backfilled
    batch: list[PublicationLike] = field(default_factory=list)  # delivered, written at the next flush
    frames: list[bytes] = field(default_factory=list)  # their frames, encoded once
    batch_bytes: int = 0
    ttl: float | None = None  # seconds after ingest when a publication is no longer delivered live


class Hub:
    """Channels → subscribers. `deliver` is the broker's callback; `subscribe` does a race-free resume."""

    def __init__(self, history: History | None = None, *, buffer_bytes: int = 256 * 1024) -> None:
        self.history = history
        self.buffer_bytes = buffer_bytes
        self.channels: dict[str, Channel] = {}
        self.patterns: dict[str, dict[Connection, Subscription]] = {}
        self.connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dirty: list[Channel] = []  # channels with publications not yet written
        self._flush_scheduled = False

    # --- connections -------------------------------------------------------------------------------------

    def connect(self, transport: Transport, ident: str = "") -> Connection:
        conn = Connection(transport, ident)
        set_limits = getattr(transport, "set_write_buffer_limits", None)
        if set_limits is not None:
            set_limits(high=self.buffer_bytes, low=self.buffer_bytes // 4)
        self.connections.add(conn)
        metrics.HUB_CONNECTIONS.inc()
        return conn

    def disconnect(self, conn: Connection) -> None:
        """Forget a connection (its socket is closed or closing)."""
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        conn.closed = True
        for name in list(conn.subs):
            self.unsubscribe(conn, name)
        metrics.HUB_CONNECTIONS.dec()
        if conn.drained is not None:
            conn.drained.set()

    def close(self, conn: Connection, code: int, reason: str, notice: bytes | None = None) -> None:
        """Say why, send a close frame, and let the transport flush; a peer that never reads is aborted later."""
        if conn.closed:
            return
        if notice is not None:
            conn.send(notice)
        conn.transport.write(wire.close_frame(code, reason))
        self.disconnect(conn)
        if conn.transport.can_write_eof():
            # Half-close and keep reading (the protocol discards) until the peer closes too: closing a socket
            # with the peer's bytes unread (a flood being cut) makes the kernel send a reset, and a reset can
            # destroy the close frame before the peer has read why it was cut.
            conn.transport.write_eof()
        else:
            conn.transport.close()
        asyncio.get_running_loop().call_later(5.0, _abort_if_stuck, conn.transport)

    def paused(self, conn: Connection) -> None:
        """The transport's buffer went over the limit: apply each subscription's overflow policy.

        Called from inside `transport.write`, in the middle of a fan-out: the disconnect waits for the next
        loop turn, and records now the last seq each channel wrote to this socket. A subscription still
        replaying history is not "slow" (the replay waits for the drain itself).
        """
        conn.paused = True
        if any(s.overflow == "disconnect" and s.joining is None and s.resume_after is None for s in conn.subs.values()):
            self._disconnect_soon(conn, None)

    def _disconnect_soon(self, conn: Connection, unwritten: PublicationLike | None) -> None:
        if conn.doomed or conn.closed:
            return
        conn.doomed = True
        last = {name: ch.last_seq for name in conn.subs if (ch := self.channels.get(name)) is not None}
        if unwritten is not None:
            last[unwritten.channel] = unwritten.seq - 1
        asyncio.get_running_loop().call_soon(self._slow_disconnect, conn, last)

    def resumed(self, conn: Connection) -> None:
        """The buffer drained below a quarter: send what the policies held back."""
        conn.paused = False
        if conn.drained is not None:
            conn.drained.set()
        for sub in list(conn.subs.values()):
            if sub.dropped_from is not None:
                metrics.HUB_GAPS.inc()
                conn.send(wire.gap(sub.channel, sub.dropped_from, sub.dropped_to or sub.dropped_from, "slow_consumer"))
                sub.dropped_from = sub.dropped_to = None
            if sub.conflated:
                for p in sorted(sub.conflated.values(), key=lambda p: p.seq):
                    conn.send(wire.pub(p))
                sub.conflated.clear()

    def _slow_disconnect(self, conn: Connection, last: dict[str, int | None]) -> None:
        if conn.closed:
            return
        metrics.HUB_SLOW_DISCONNECTS.inc()
        notice = wire.error(
            "slow_consumer",
            "you read too slowly and your buffer overflowed; resume after last_seq",
            last_seq=last,
        )
        self.close(conn, wire.Close.SLOW_CONSUMER, "slow consumer", notice)

    # --- subscriptions -----------------------------------------------------------------------------------

    def presence(self, channel: str) -> int:
        ch = self.channels.get(channel)
        return 0 if ch is None else len(ch.live) + len(ch.joining)

    def present(self, channel: str) -> list[Connection]:
        """The connections subscribed to `channel` (by name or through a pattern), replaying ones included."""
        ch = self.channels.get(channel)
        if ch is None:
            return []
        return [*ch.live, *(sub.conn for sub in ch.joining if sub.conn not in ch.live)]

    def _channel(self, name: str) -> Channel:
        ch = self.channels.get(name)
        if ch is None:
            ch = self.channels[name] = Channel(name)
            for pattern, subs in self.patterns.items():
                if fnmatch.fnmatchcase(name, pattern):
                    ch.live.update(subs)
        return ch

    def subscribe_pattern(self, conn: Connection, pattern: str, overflow: Overflow = "drop") -> None:
        """Live publications of every channel matching `pattern` (`*` is a wildcard), from now on."""
        sub = Subscription(conn, pattern, overflow)
        conn.subs[pattern] = sub
        self.patterns.setdefault(pattern, {})[conn] = sub
        for name, ch in self.channels.items():
            if fnmatch.fnmatchcase(name, pattern):
                ch.live.setdefault(conn, sub)
        metrics.HUB_SUBSCRIPTIONS.inc()

    async def subscribe(
        self,
        conn: Connection,
        channel: str,
        start: wire.Start,
        overflow: Overflow = "disconnect",
        *,
        ttl: float | None = None,
    ) -> dict[str, Any]:
        """Register live first, replay retained history, then flush what arrived meanwhile, deduplicated by seq.

        `ttl` is the channel's (its namespace's): live publications older than that are not delivered.
        Returns what the `subscribed` reply tells the client (current epoch and last seq, when known).
        """
        ch = self._channel(channel)
        ch.ttl = ttl
        sub = Subscription(conn, channel, overflow, joining=[])
        conn.subs[channel] = sub
        ch.joining.append(sub)
        metrics.HUB_SUBSCRIPTIONS.inc()
        cursor: int | None = None
        try:
            if not isinstance(start, wire.New):
                metrics.HUB_RESUMES.inc()
                cursor = await self._replay(sub, ch, start)
        except BaseException:
            if conn.subs.get(channel) is sub:
                self.unsubscribe(conn, channel)
            raise
        if conn.closed or conn.subs.get(channel) is not sub:
            return {}
        self.flush()  # what was delivered before now belongs in `held`, not in a later write
        held = sub.joining or []
        if cursor is not None and held and held[0].seq > cursor + 1 and self.history is not None:
            # A publication committed while we replayed may sit between the replay's snapshot and the first held one.
            cursor = await self._backfill(sub, channel, cursor, held[0].seq - 1)
            self.flush()
            held = sub.joining or []
            if conn.closed or conn.subs.get(channel) is not sub:
                return {}
        for p in held:
            sub.seen = p.seq if sub.seen is None else max(sub.seen, p.seq)
            if cursor is None or p.seq > cursor:
                conn.send(wire.pub(p))
                cursor = p.seq
        sub.joining = None
        if sub.seen is not None and ch.last_seq is None:
            # A seq that exists: lets the channel see a gap in what the broker delivers next. Never the client's
            # position itself — a position past the channel's end would hold back everyone's deliveries.
            ch.last_seq = sub.seen
        if cursor is not None and (ch.last_seq is None or cursor > ch.last_seq):
            # History is ahead of the broker (a delivery still on its way), or the client's position is ahead of
            # anything seen here: stay out of the live set until the channel reaches it, or the broker's copies
            # would arrive twice.
            sub.resume_after = cursor
            return {"epoch": ch.epoch, "last_seq": cursor}
        ch.joining.remove(sub)
        ch.live[conn] = sub
        return {"epoch": ch.epoch, "last_seq": ch.last_seq}

    async def _replay(self, sub: Subscription, ch: Channel, start: wire.Start) -> int | None:
        if self.history is None:
            return None
        conn, channel = sub.conn, ch.name
        if isinstance(start, wire.AfterSeq):
            after = start.seq
            if start.epoch is not None and ch.epoch is not None and start.epoch != ch.epoch:
                self._gap(conn, channel, after + 1, (ch.last_seq or after), "epoch_changed")
                after = 0
            page, oldest = await self.history(channel, after, PAGE)
            if start.epoch is not None and ch.epoch is None and after > 0:
                # This process has not seen the channel live, so it learns the epoch from history (a reset deletes
                # the old epoch's publications: whatever is retained is the current epoch's).
                sample = page or (await self.history(channel, None, 1))[0]
                if sample and sample[0].epoch != start.epoch:
                    self._gap(conn, channel, after + 1, after + 1, "epoch_changed")
                    after = 0
                    page, oldest = await self.history(channel, after, PAGE)
            if oldest is not None and oldest > after + 1:
                self._gap(conn, channel, after + 1, oldest - 1, "not_retained")
            elif oldest is None and page == [] and ch.last_seq is not None and ch.last_seq > after:
                self._gap(conn, channel, after + 1, ch.last_seq, "not_retained")
            return await self._send_pages(sub, channel, page, after)
        if isinstance(start, wire.Since):
            page, _ = await self.history(channel, None, PAGE, start.time)
            return await self._send_pages(sub, channel, page, None)
        latest: dict[str | None, PublicationLike] = {}
        cursor: int | None = 0
        while True:
            page, _ = await self.history(channel, cursor, PAGE)
            for p in page:
                latest[p.key] = p
                cursor = p.seq
            if len(page) < PAGE:
                break
        for p in sorted(latest.values(), key=lambda p: p.seq):
            sub.conn.send(wire.pub(p))
        return cursor or None

    async def _send_pages(
        self, sub: Subscription, channel: str, page: Sequence[PublicationLike], cursor: int | None
    ) -> int | None:
        while True:
            for p in page:
                sub.seen = p.seq if sub.seen is None else max(sub.seen, p.seq)
                if cursor is None or p.seq > cursor:
                    if sub.conn.paused:
                        await sub.conn.wait_drained()
                    sub.conn.send(wire.pub(p))
                    cursor = p.seq
            if len(page) < PAGE or sub.conn.closed:
                return cursor
            assert self.history is not None
            page, _ = await self.history(channel, cursor, PAGE)

    async def _backfill(self, sub: Subscription, channel: str, after: int, to: int) -> int:
        assert self.history is not None
        page, _ = await self.history(channel, after, to - after)
        cursor = await self._send_pages(sub, channel, [p for p in page if p.seq <= to], after) or after
        if cursor < to:
            self._gap(sub.conn, channel, cursor + 1, to, "not_retained")
            cursor = to
        return cursor

    def _gap(self, conn: Connection, channel: str, from_seq: int, to_seq: int, reason: str) -> None:
        metrics.HUB_GAPS.inc()
        conn.send(wire.gap(channel, from_seq, to_seq, reason))

    def unsubscribe(self, conn: Connection, name: str) -> bool:
        sub = conn.subs.pop(name, None)
        if sub is None:
            return False
        metrics.HUB_SUBSCRIPTIONS.dec()
        if name in self.patterns:
            self.patterns[name].pop(conn, None)
            if not self.patterns[name]:
                del self.patterns[name]
            for ch in self.channels.values():
                if ch.live.get(conn) is sub:
                    del ch.live[conn]
            return True
        own = self.channels.get(name)
        if own is not None:
            if own.live.get(conn) is sub:
                del own.live[conn]
            elif sub in own.joining:
                own.joining.remove(sub)
            if not own.live and not own.joining and own.repairing is None:
                del self.channels[name]
        return True

    # --- delivery: the hot path --------------------------------------------------------------------------

    def deliver(self, pubs: Sequence[PublicationLike]) -> None:
        """The broker's callback: committed publications, per channel in seq order (a gap is repaired here)."""
        for p in pubs:
            ch = self.channels.get(p.channel)
            if ch is None:
                if not self.patterns:
                    continue
                ch = self._channel(p.channel)
                if not ch.live:
                    del self.channels[p.channel]
                    continue
            if ch.repairing is not None:
                ch.repairing.append(p)
                continue
            last = ch.last_seq
            if last is not None and ch.epoch in (None, p.epoch):
                if p.seq <= last:
                    continue  # already delivered (a broker redelivery)
                if p.seq != last + 1 and self.history is not None:
                    ch.repairing = [p]
                    self._spawn(self._repair(ch, last, p.seq - 1))
                    continue
            self._fan_out(ch, p)

    def _fan_out(self, ch: Channel, p: PublicationLike) -> None:
        ch.last_seq = p.seq
        ch.epoch = p.epoch
        if ch.ttl is not None and time.time() - p.ingest_time.timestamp() > ch.ttl:
            # Too old to act on (it waited behind a Redis outage or a backfill): say so instead of delivering it,
            # after what is already queued, so the notice keeps its place in seq order.
            self._write(ch)
            for conn in ch.live:
                self._gap(conn, ch.name, p.seq, p.seq, "expired")
            return
        if not ch.batch:
            self._dirty.append(ch)
        one = wire.frame(wire.pub(p))
        ch.batch.append(p)
        ch.frames.append(one)
        ch.batch_bytes += len(one)
        if ch.batch_bytes >= self.buffer_bytes // 4:
            self._write(ch)  # a batch stays small next to the buffer limit, so the limit holds
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write what `deliver` queued: a channel's publications since the last flush, as one write per subscriber.

        At light load that is one publication per write; when the loop is busy (a fan-out to many thousands takes
        a while) the publications that arrived meanwhile share one write — the system call per socket, not
        Python, is what a delivery costs.
        """
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        for ch in dirty:
            self._write(ch)

    def _write(self, ch: Channel) -> None:
        pubs, frames, ch.batch, ch.frames, ch.batch_bytes = ch.batch, ch.frames, [], [], 0
        if not pubs:
            return
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        sent = 0
        for conn, sub in ch.live.items():
            if conn.paused:
                for p in pubs:
                    self._held_back(conn, sub, p)
                continue
            conn.transport.write(data)
            sent += 1
        if ch.joining:
            self._to_joining(ch, pubs, frames)
        if sent:
            metrics.HUB_DELIVERIES.inc(sent * len(pubs))
            written = time.time()
            for p in pubs:
                metrics.HUB_LATENCY.observe(max(0.0, written - p.ingest_time.timestamp()))

    def _to_joining(self, ch: Channel, pubs: list[PublicationLike], frames: list[bytes]) -> None:
        for sub in list(ch.joining):
            if sub.joining is not None:
                sub.joining.extend(pubs)  # replaying history: flushed, deduplicated, when the replay ends
            elif sub.resume_after is not None and pubs[-1].seq >= sub.resume_after:
                # The channel has caught up with what this subscriber replayed: the rest is new to it.
                after = sub.resume_after
                sub.conn.transport.write(b"".join(f for p, f in zip(pubs, frames, strict=True) if p.seq > after))
                sub.resume_after = None
                ch.joining.remove(sub)
                ch.live[sub.conn] = sub

    def _held_back(self, conn: Connection, sub: Subscription, p: PublicationLike) -> None:
        if sub.overflow == "conflate":
            sub.conflated[p.key] = p
        elif sub.overflow == "drop":
            if sub.dropped_from is None:
                sub.dropped_from = p.seq
            sub.dropped_to = p.seq
        else:
            self._disconnect_soon(conn, p)

    async def _repair(self, ch: Channel, last: int, to: int) -> None:
        """Fetch the publications the broker skipped, then release everything held, in order.

        History is read page by page (a Redis outage can skip more than one read returns), and so are holes among
        the publications held meanwhile (two replicas' deliveries racing): only what history no longer has
        becomes a gap.
        """
        found: dict[int, PublicationLike] = {}
        after = last
        try:
            assert self.history is not None
            while True:
                for p in ch.repairing or ():
                    if p.seq > last:
                        found.setdefault(p.seq, p)
                while after + 1 in found:
                    after += 1
                top = max(to, *found)
                if after >= top:
                    break
                page, _ = await self.history(ch.name, after, min(PAGE, top - after))
                fresh = [p for p in page if after < p.seq <= top]
                for p in fresh:
                    found.setdefault(p.seq, p)
                after = fresh[-1].seq if fresh else top  # what history skipped is no longer retained
        except Exception:
            log.exception("hub backfill failed", channel=ch.name, after_seq=after, to_seq=to)
        held, ch.repairing = ch.repairing or [], None
        if self.channels.get(ch.name) is not ch:
            return
        expect = last + 1
        for p in sorted([*found.values(), *held], key=lambda p: p.seq):
            if p.seq < expect:
                continue
            if p.seq > expect and p.epoch == ch.epoch:
                self._write(ch)  # the publications fanned out so far go before the notice, not after it
                for conn in list(ch.live):
                    self._gap(conn, ch.name, expect, p.seq - 1, "not_retained")
            self._fan_out(ch, p)
            expect = p.seq + 1

    def catch_up(self) -> None:
        """The broker's feed is back after an outage (its `on_reconnect`): what was published meanwhile shows up
        as a seq gap only when a later publication comes — never, on a channel that went quiet. So read every
        channel's history past what it delivered now."""
        if self.history is None:
            return
        for ch in list(self.channels.values()):
            if ch.last_seq is not None:
                self._spawn(self._catch_up(ch))

    async def _catch_up(self, ch: Channel) -> None:
        assert self.history is not None
        while self.channels.get(ch.name) is ch and ch.last_seq is not None and ch.repairing is None:
            try:
                page, _ = await self.history(ch.name, ch.last_seq, PAGE)
            except Exception:
                log.exception("hub catch-up failed", channel=ch.name, after_seq=ch.last_seq)
                return
            self.deliver(page)  # as the broker would: repeats dropped, a gap repaired, held behind a repair
            if len(page) < PAGE:
                return

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _abort_if_stuck(transport: Transport) -> None:
    transport.abort()  # a no-op once the connection is gone


def now() -> datetime:
    return datetime.now(UTC)
