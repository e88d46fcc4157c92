"""Server-Sent Events: one channel as a `text/event-stream`, for clients that cannot hold a WebSocket.

A stream is one more subscriber of the fan-out engine. `EventBuffer` is the engine's `Transport` for it: it takes
the WebSocket frames the engine writes, turns each message into an event, holds the bytes for the response and
reports their size — so resume, gaps, flow control and the channel's overflow policy are the engine's own, not a
second implementation of them.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import anyio
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from fintrack.hub import protocol as wire
from fintrack.hub import queries, sources, store
from fintrack.hub.errors import InvalidPosition, NotAllowed
from fintrack.hub.server import Connection, Hub, Overflow
from fintrack.hub.ws import Principal, Revalidate, hub_of

log = structlog.get_logger("fintrack.hub")
RETRY_MS = 3000  # how long EventSource waits before it reconnects
KEEPALIVE_SECONDS = 15.0  # below the idle timeout of common proxies (nginx: 60 s)
KEEPALIVE = b": keep-alive\n\n"
RECHECK_SECONDS = 30.0  # as on /ws: a revoked token's streams end within this
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no caching; nginx must not buffer the stream
EVENT_ID_FORM = "<epoch>:<seq>, the id of the last event received (such as 1:42)"
EVENT_SCHEMA = {  # one event, as the OpenAPI document describes it
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "examples": ["pub", "gap", "subscribed", "hub-error"]},
        "id": {"type": "string", "pattern": "^[0-9]+:[0-9]+$", "description": "<epoch>:<seq>, on pub events"},
        "data": {"type": "string", "contentMediaType": "application/json", "description": "The /ws message"},
    },
}
_EVENT_ID = re.compile(r"^([0-9]{1,19}):([0-9]{1,19})$")
_EVENT_NAMES = {"error": b"hub-error"}  # EventSource fires its own "error" on every dropped connection


def start_of(
    last_event_id: str | None,
    after_seq: int | None,
    epoch: int | None,
    since: datetime | None,
    latest_per_key: bool,
) -> wire.Start:
    """Where the stream starts. `Last-Event-ID` wins: EventSource reconnects to the same URL, query and all, and
    sends the id of the last event it got — the query's position only counts for the first connection. An empty
    one is no id at all (what EventSource holds before its first event)."""
    if last_event_id is not None and last_event_id.strip():
        found = _EVENT_ID.match(last_event_id.strip())
        if found is None or max(int(found[1]), int(found[2])) >= 2**63:
            text = f"Last-Event-ID must be {EVENT_ID_FORM}"
            raise InvalidPosition(text, header="Last-Event-ID", expected="<epoch>:<seq>")
        return wire.AfterSeq(int(found[2]), int(found[1]))
    given = [name for name, value in (("after_seq", after_seq), ("since", since)) if value is not None]
    given += ["latest_per_key"] if latest_per_key else []
    if len(given) > 1:
        raise InvalidPosition(f"give one start position, not {' and '.join(given)}", given=given)
    if epoch is not None and after_seq is None:
        raise InvalidPosition("epoch goes with after_seq", field="epoch")
    if after_seq is not None:
        return wire.AfterSeq(after_seq, epoch)
    if since is not None:
        return wire.Since(since)
    return wire.LatestPerKey() if latest_per_key else wire.New()


def event(message: bytes) -> bytes:
    """One JSON message of the WebSocket protocol → one event: `pub` with `id: <epoch>:<seq>` (what EventSource
    sends back as Last-Event-ID), anything else (`gap`, `error`…) without an id, so that stays at the last pub."""
    body = json.loads(message)
    kind = str(body.get("type"))
    data = b"data: " + message.replace(b"\n", b"\ndata: ") + b"\n\n"  # JSON has no raw newline; never split a line
    if kind == "pub":
        return b"id: %d:%d\nevent: pub\n" % (body["epoch"], body["seq"]) + data
    return b"event: " + _EVENT_NAMES.get(kind, kind.encode()) + b"\n" + data


class EventBuffer:
    """The engine's `Transport` for one stream: frames in, events out, with the flow control of an asyncio transport.

    The engine writes whole server frames (unmasked, sometimes several in one write); a close frame ends the
    stream once what came before it is sent. The buffer's size counts the events not yet taken plus the chunk the
    response took last, until it comes back for more (by then that chunk is in the socket's hands). Over the
    high-water mark the engine is told `paused` — the subscription's overflow policy applies — and `resumed` once
    the size is down to the low mark (a quarter).

    One exception, as with a real socket, whose kernel buffer takes a burst at once: while the response is idle,
    waiting for events, a burst of up to `BURST` limits does not pause — the response takes it all on its next
    step. Without it one large batch, written in a single loop turn, would cut a reader that keeps up.
    """

    BURST = 4

    def __init__(self) -> None:
        self.hub: Hub | None = None
        self.conn: Connection | None = None
        self.response: anyio.CancelScope | None = None  # the response's, while it runs
        self._frames = bytearray()
        self._events: list[bytes] = []
        self._size = 0
        self._in_flight = 0
        self._high, self._low = 256 * 1024, 64 * 1024
        self._idle = False
        self._closing = False
        self._paused = False
        self._ready = asyncio.Event()

    def attach(self, hub: Hub, ident: str) -> Connection:
        self.hub = hub
        self.conn = hub.connect(self, ident)
        return self.conn

    def push(self, data: bytes) -> None:
        """Add one encoded event (or our own `retry:` line)."""
        self._events.append(data)
        self._size += len(data)
        self._ready.set()

    # --- server.Transport --------------------------------------------------------------------------------

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        self._high, self._low = high, low

    def write(self, data: bytes) -> None:
        if self._closing:
            return
        self._frames += data
        for opcode, payload in self._whole_frames():
            if opcode == 0x1:
                self.push(event(payload))
            elif opcode == 0x8:
                self.close()
                break
            # Pings and pongs keep a WebSocket alive; a stream has its own keep-alive comment.
        over = self._size > (self.BURST * self._high if self._idle else self._high)
        if over and not self._paused and self.hub is not None and self.conn is not None:
            self._paused = True
            self.hub.paused(self.conn)

    def get_write_buffer_size(self) -> int:
        return self._size

    def close(self) -> None:
        self._closing = True
        self._ready.set()

    def abort(self) -> None:
        """The engine gave up on a peer that stopped reading (5 s after closing it): end the response even if it
        is stuck waiting for the socket to drain, so the server closes the connection."""
        self.close()
        self._events.clear()
        self._size = self._in_flight = 0
        if self.response is not None:
            self.response.cancel()

    def is_closing(self) -> bool:
        return self._closing

    def can_write_eof(self) -> bool:
        return False  # a response has no half-close: the engine ends it with close()

    def write_eof(self) -> None:
        self.close()

    def _whole_frames(self) -> list[tuple[int, bytes]]:
        buf, found = self._frames, []
        while len(buf) >= 2:
            length, pos = buf[1] & 0x7F, 2
            if length == 126:
                length, pos = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                length, pos = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < pos + length:
                break
            found.append((buf[0] & 0x0F, bytes(buf[pos : pos + length])))
            del buf[: pos + length]
        return found

    # --- the response's side -----------------------------------------------------------------------------

    async def take(self, idle: float) -> bytes | None:
        """Everything buffered, a keep-alive comment after `idle` seconds of nothing, or None: the stream ended.

        Called again only once the previous chunk was handed to the socket, which is when it stops counting.
        """
        self._size -= self._in_flight
        self._in_flight = 0
        if self._paused and self._size <= self._low and self.hub is not None and self.conn is not None:
            self._paused = False
            self.hub.resumed(self.conn)  # may write what the policy held back: taken just below
        if not self._events:
            if self._closing:
                return None
            self._ready.clear()
            self._idle = True
            try:
                async with asyncio.timeout(idle):
                    await self._ready.wait()
            except TimeoutError:
                return KEEPALIVE
            finally:
                self._idle = False
            if not self._events:
                return None if self._closing else KEEPALIVE
        chunk = b"".join(self._events)
        self._events.clear()
        self._in_flight = len(chunk)
        return chunk


class EventStream:
    """The body of one response: subscribes when the response starts, and always unsubscribes when it ends."""

    def __init__(
        self,
        hub: Hub,
        channel: str,
        start: wire.Start,
        overflow: Overflow,
        ttl: float | None,
        who: int,
        ident: str,
        credential: str | None = None,
        expires_at: datetime | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.hub, self.channel, self.start, self.overflow, self.ttl = hub, channel, start, overflow, ttl
        self.who, self.ident = who, ident
        self.credential, self.expires_at, self.guard = credential, expires_at, guard  # the token stays good
        self.buffer = EventBuffer()
        self.task: asyncio.Task[None] | None = None
        self.expiry: asyncio.TimerHandle | None = None

    def open(self, opening: list[bytes]) -> None:
        self.buffer.push(b"retry: %d\n\n" % RETRY_MS)
        for message in opening:
            self.buffer.push(event(message))
        self.buffer.attach(self.hub, self.ident).who = self.who  # for presence, as on /ws
        self.task = asyncio.ensure_future(self._subscribe())
        if self.expires_at is not None:
            left = (self.expires_at - datetime.now(UTC)).total_seconds()
            self.expiry = asyncio.get_running_loop().call_later(
                max(0.0, left), self.end, "the token expired: reconnect with a new one"
            )
        if self.guard is not None and self.credential is not None:
            self.guard.add(self)

    def end(self, why: str) -> None:
        """The credential stopped working: say so and end the stream. EventSource's reconnect with the same URL
        then gets a 401, and it gives up: the page must open a new stream with a new token."""
        conn = self.buffer.conn
        if conn is None or conn.closed:
            return
        conn.send(wire.error("unauthenticated", why))
        self.hub.disconnect(conn)
        self.buffer.close()

    async def _subscribe(self) -> None:
        conn = self.buffer.conn
        assert conn is not None
        try:
            await self.hub.subscribe(conn, self.channel, self.start, self.overflow, ttl=self.ttl)
        except Exception:
            log.exception("hub subscribe failed", channel=self.channel)
            conn.send(wire.error("history_unavailable", f"could not read the history of {self.channel}; reconnect"))
            self.buffer.close()  # EventSource reconnects after `retry` and resumes from its last id

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.buffer.take(KEEPALIVE_SECONDS)
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    def close(self) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        if self.guard is not None:
            self.guard.discard(self)
        if self.task is not None:
            self.task.cancel()
        if self.buffer.conn is not None:
            self.hub.disconnect(self.buffer.conn)
        self.buffer.abort()


class Guard:
    """The tokens of one app's open streams, checked again together every RECHECK_SECONDS in one query, as /ws
    does for its sockets: a revoked token's streams end within an interval."""

    def __init__(self, revalidate: Revalidate) -> None:
        self.revalidate = revalidate
        self.streams: set[EventStream] = set()
        self.timer: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def add(self, stream: EventStream) -> None:
        self.streams.add(stream)
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(RECHECK_SECONDS, self._tick)

    def discard(self, stream: EventStream) -> None:
        self.streams.discard(stream)
        if not self.streams and self.timer is not None:
            self.timer.cancel()  # no timer while no stream is open
            self.timer = None

    def _tick(self) -> None:
        task = asyncio.ensure_future(self._check())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _check(self) -> None:
        held = {s.credential for s in self.streams if s.credential is not None}
        try:
            valid = await self.revalidate(list(held)) if held else held
        except Exception:
            log.exception("hub token re-check failed")
            valid = held  # the database is unreachable: keep everyone, check again next time
        for stream in list(self.streams):
            if stream.credential in held and stream.credential not in valid:
                stream.end("the token was revoked or has expired")
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(RECHECK_SECONDS, self._tick) if self.streams else None


def guard_of(app: Any) -> Guard:
    guard: Guard | None = getattr(app.state, "hub_stream_guard", None)
    if guard is None:
        guard = app.state.hub_stream_guard = Guard(sources.revalidator(app))
    return guard


def credential(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The token a stream was opened with, as `deps.HubSubscriber` read it (the header wins); None for a web
    session's cookie (`auth.still_valid` knows tokens only: such a stream is not re-checked)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme:
        return token.strip() if scheme.lower() == "bearer" else None
    return query.get("token")


class EventStreamResponse(StreamingResponse):
    """`text/event-stream`; the subscription lives exactly as long as the response (client gone, error or
    cancellation at shutdown: it is dropped from the hub either way)."""

    media_type = "text/event-stream"

    def __init__(self, stream: EventStream, opening: list[bytes] | None = None) -> None:
        super().__init__(stream, headers=HEADERS)
        self.stream = stream
        self.opening = opening or []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with anyio.CancelScope() as self.stream.buffer.response:
                self.stream.open(self.opening)
                await super().__call__(scope, receive, send)
        finally:
            self.stream.buffer.response = None
            self.stream.close()


async def subscription(
    app: Any,
    session: AsyncSession,
    principal: Principal,
    channel: str,
    start: wire.Start,
    ident: str,
    token: str | None = None,
    expires_at: datetime | None = None,
) -> EventStreamResponse:
    """Check the subscription exactly as /ws does, before any byte of the stream, and make its response.

    An invalid channel or one no namespace covers is a 422 from `store.governing`; a refusal is the WebSocket's
    own authorizer's, as a 403 `hub_not_allowed`.
    """
    ns = await store.governing(session, channel)
    why_not = await sources.authorizer(app)(principal, "subscribe", channel)
    if why_not is not None:
        raise NotAllowed(why_not, channel=channel, action="subscribe")
    opening = [wire.message("subscribed", channel=channel)]  # as on /ws: registered; the replay follows
    if isinstance(start, wire.AfterSeq):
        start = await _checked(session, channel, start, opening)
    stream = EventStream(
        hub_of(app),
        channel,
        start,
        ns.overflow,
        ns.ttl_seconds,
        principal.user_id,
        ident,
        token,
        expires_at,
        guard_of(app),
    )
    return EventStreamResponse(stream, opening)


async def _checked(session: AsyncSession, channel: str, start: wire.AfterSeq, opening: list[bytes]) -> wire.AfterSeq:
    """The position, against what the store knows of the channel, before the engine takes it as the truth.

    The engine knows a channel's epoch only from live deliveries: for a channel quiet since this process started
    it would take an old epoch's seq as the new one's, so a position from another epoch is an `epoch_changed` gap
    here and the new epoch from its start. And it takes a resume position past the channel's last seq as the
    channel's own, holding back every publication up to it for every subscriber in this process; no such seq was
    ever given out, so the stream starts from the last one instead.
    """
    found = await queries.channel_by_name(session, channel)
    epoch, last = (found.epoch, found.last_seq) if found is not None else (None, 0)
    if start.epoch is not None and epoch is not None and start.epoch != epoch:
        opening.append(wire.gap(channel, start.seq + 1, max(start.seq + 1, last), "epoch_changed"))
        return wire.AfterSeq(0, epoch)
    if start.seq > last:
        return wire.AfterSeq(last, epoch)
    return start
