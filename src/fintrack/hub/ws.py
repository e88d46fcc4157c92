"""`/ws` on uvicorn's own socket: the handshake and client frames here, the fan-out's frames straight to the transport.

uvicorn accepts a WebSocket protocol class (`uvicorn.Config(ws=...)`) and hands it the upgraded connection. Ours
answers `/ws` itself — no ASGI, no per-message task — so the engine can write one shared frame to thousands of
transports; every other WebSocket path goes on to uvicorn's standard implementation and the FastAPI app.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import structlog

from fintrack.hub import frames
from fintrack.hub import protocol as wire
from fintrack.hub.durable import DurableConsumers
from fintrack.hub.protocol import Close, ProtocolError
from fintrack.hub.server import Connection, Hub, Overflow
from fintrack.ops import metrics
from fintrack.ops.proxies import TrustedProxies

log = structlog.get_logger("fintrack.hub")
PATH = "/ws"
AUTH_TIMEOUT = 10.0
RATE_PER_SECOND = 50.0  # client messages; bursts up to RATE_BURST
RATE_BURST = 200.0
PUBLISHER_RATE = 20000.0  # for tokens holding hub:publish (one message per publication; back-pressure does the rest)
PUBLISHER_BURST = 40000.0
# All the sockets of one token together (a flood spread over many connections): this many times one socket's.
TOKEN_FACTOR = 20.0
MAX_IN_FLIGHT = 2000  # unanswered messages before we stop reading the socket (TCP pushes back on the producer)
MAX_VIOLATIONS = 20  # bad messages before the connection is closed with 4008


class Principal:
    """Who is on the socket and what they may do, as far as the data plane cares."""

    __slots__ = ("channel_patterns", "expires_at", "is_admin", "scopes", "user_id")

    def __init__(
        self,
        user_id: int,
        scopes: frozenset[str],
        is_admin: bool = False,
        channel_patterns: tuple[str, ...] | None = None,
        expires_at: float | None = None,  # a Unix time; the socket is closed with 4001 then unless refreshed
    ) -> None:
        self.user_id = user_id
        self.scopes = scopes
        self.is_admin = is_admin
        self.channel_patterns = channel_patterns
        self.expires_at = expires_at


# token → principal, or None when the token is unknown, revoked or expired
Authenticate = Callable[[str], Awaitable[Principal | None]]
# (principal, "subscribe" | "publish", channel or pattern) → None when allowed, else why not
Authorize = Callable[[Principal, str, str], Awaitable[str | None]]
Publish = Callable[[Principal, wire.Publish], Awaitable[dict[str, Any]]]
# a channel's live-delivery policy (its namespace's): the overflow policy, and the TTL in seconds or None
PolicyOf = Callable[[str], Awaitable[tuple[Overflow, int | None]]]
# the tokens live sockets hold → those that still work (revoked ones are closed with 4001)
Revalidate = Callable[[list[str]], Awaitable[set[str]]]


class Consumers(Protocol):
    """Durable consumers' committed cursors (fintrack.hub.consumers through the app's database)."""

    async def attach(
        self, principal: Principal, channel: str, name: str, after_seq: int | None
    ) -> tuple[int | None, int, int | None]:
        """(epoch, acked seq, and the acked seq of the previous epoch when the channel was reset since)."""

    async def ack(self, principal: Principal, channel: str, name: str, seq: int) -> int:
        """Commit the cursor at `seq` (cumulative); returns the committed cursor. ProtocolError if refused."""


async def scope_only(principal: Principal, action: str, channel: str) -> str | None:
    """The rule without namespaces: the token's hub scope, and `user.<id>` channels only for that user.

    A pattern could match channels of namespaces it was never checked against, so only administrators may
    subscribe to one, besides a user's own `user.<id>.*`.
    """
    scope = f"hub:{action}"
    if scope not in principal.scopes:
        return f"this token lacks the {scope!r} scope"
    if "*" in channel and not (principal.is_admin or channel.startswith(f"user.{principal.user_id}.")):
        return "only administrators may subscribe to a pattern; subscribe to channels by name"
    if channel.startswith("user.") and channel.split(".")[1] != str(principal.user_id):
        return f"{channel} is another user's private channel"
    return None


def serving(app: Any, **options: Any) -> type[HubProtocol]:
    """The hub of an app built by `create_app`: tokens from its database, committed publications from its broker,
    history from its store. Pass the result as `uvicorn.run(..., ws=...)`."""
    from fintrack.hub import sources

    hub = hub_of(app)
    options.setdefault("policy_of", sources.policy_of(app))
    options.setdefault("publish", sources.publisher(app))
    options.setdefault("consumers", sources.StoredConsumers(app))
    options.setdefault("revalidate", sources.revalidator(app))
    options.setdefault("proxies", TrustedProxies(app.state.settings.FORWARDED_ALLOW_IPS))
    return protocol_for(hub, sources.authenticator(app), sources.authorizer(app), **options)


def hub_of(app: Any) -> Hub:
    """The app's one hub, made on first use: history from its store, committed publications from its broker.

    `serving` makes it at start-up; without it (the app served some other way) the first Server-Sent Events
    stream does, so /ws and the streams always share one engine per process.
    """
    hub: Hub | None = getattr(app.state, "hub", None)
    if hub is None:
        from fintrack.hub import sources

        hub = app.state.hub = Hub(history=sources.history(app))
        metrics.watch_hub_buffers(lambda: [c.transport.get_write_buffer_size() for c in hub.connections])
        broker = getattr(app.state, "hub_broker", None)
        if broker is not None:
            broker.subscribe(hub.deliver)
            broker.on_reconnect(hub.catch_up)
    return hub


def protocol_for(
    hub: Hub,
    authenticate: Authenticate,
    authorize: Authorize = scope_only,
    publish: Publish | None = None,
    *,
    overflow: Overflow = "disconnect",
    policy_of: PolicyOf | None = None,
    consumers: Consumers | None = None,
    revalidate: Revalidate | None = None,
    ping_interval: float = 20.0,
    recheck_interval: float = 30.0,
    token_factor: float = TOKEN_FACTOR,
    proxies: TrustedProxies | None = None,
) -> type[HubProtocol]:
    """The class to pass as `uvicorn.Config(ws=...)`, bound to this hub."""
    return type(
        "BoundHubProtocol",
        (HubProtocol,),
        {
            "hub": hub,
            "authenticate": staticmethod(authenticate),
            "authorize": staticmethod(authorize),
            "publish": staticmethod(publish) if publish else None,
            "overflow": overflow,
            "policy_of": staticmethod(policy_of) if policy_of else None,
            "consumers": consumers,
            "holders": {},
            "revalidate": staticmethod(revalidate) if revalidate else None,
            "ping_interval": ping_interval,
            "recheck_interval": recheck_interval,
            "token_factor": token_factor,
            "proxies": proxies or TrustedProxies("127.0.0.1"),
            "live": set(),
            "keepalive": None,
            "rechecker": None,
        },
    )


class HubProtocol(DurableConsumers, asyncio.Protocol):
    hub: Hub
    authenticate: Authenticate
    authorize: Authorize
    publish: Publish | None
    overflow: Overflow
    policy_of: PolicyOf | None
    consumers: Consumers | None
    revalidate: Revalidate | None
    ping_interval: float
    recheck_interval: float
    token_factor: float
    proxies: TrustedProxies
    live: set[HubProtocol]
    keepalive: asyncio.TimerHandle | None
    rechecker: asyncio.TimerHandle | None

    def __init__(self, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
        self.config, self.server_state, self.app_state = config, server_state, app_state
        self.transport: asyncio.Transport | None = None
        self.fallback: asyncio.Protocol | None = None
        self.conn: Connection | None = None
        self.principal: Principal | None = None
        self.token: str | None = None  # kept to re-check it while the socket lives (revocation)
        self.expiry: asyncio.TimerHandle | None = None
        self.buffer = bytearray()
        self.fragments: list[bytes] | None = None
        self.queued: list[bytes] = []  # messages that wait for the token check
        self.tasks: set[asyncio.Task[Any]] = set()
        self.allowance = RATE_BURST
        self.checked = time.monotonic()
        self.seen = self.checked
        self.violations = 0
        self.attached: dict[str, str] = {}  # channel → the durable consumer this socket reads it as
        self.acks: dict[tuple[str, str], tuple[int, list[str | int | None]]] = {}  # waiting for the next commit
        self.acking = False

    # --- asyncio.Protocol --------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Small frames every few milliseconds: Nagle's algorithm would hold each one until the client's
            # delayed ACK (up to 40 ms).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if self.fallback is not None:
            self.fallback.data_received(data)
            return
        if self.conn is not None and self.conn.closed:
            return  # half-closed: what the peer sends before its own close is read only to be dropped
        self.buffer += data
        if self.conn is None:
            self._handshake()
            return
        self.seen = time.monotonic()
        self._read_frames()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.fallback is not None:
            self.fallback.connection_lost(exc)
            return
        self.server_state.connections.discard(self)
        self.live.discard(self)
        for task in self.tasks:
            task.cancel()
        if self.expiry is not None:
            self.expiry.cancel()
        self._release_consumers()
        if self.conn is not None:
            self.hub.disconnect(self.conn)

    def eof_received(self) -> bool | None:
        if self.fallback is not None:
            return self.fallback.eof_received()
        return None

    def pause_writing(self) -> None:
        if self.fallback is not None:
            self.fallback.pause_writing()
        elif self.conn is not None:
            self.hub.paused(self.conn)

    def resume_writing(self) -> None:
        if self.fallback is not None:
            self.fallback.resume_writing()
        elif self.conn is not None:
            self.hub.resumed(self.conn)

    def shutdown(self) -> None:
        """uvicorn is stopping: say so, and let the client resume elsewhere."""
        if self.conn is not None:
            self.hub.close(self.conn, Close.GOING_AWAY, "server shutting down")
        elif self.transport is not None:
            self.transport.close()

    # --- handshake ---------------------------------------------------------------------------------------

    def _handshake(self) -> None:
        assert self.transport is not None
        try:
            head = frames.request(self.buffer)
        except frames.TooLarge:
            self._http_error(431, "request headers too large")
            return
        if head is None:
            return
        url = urlsplit(head.target)
        if url.path != PATH:
            self._hand_over()
            return
        answer = frames.accept(head.headers.get("sec-websocket-key", ""))
        if head.headers.get("sec-websocket-version") != "13" or answer is None:
            self._http_error(400, "a WebSocket version 13 handshake is required")
            return
        del self.buffer[: frames.head_length(self.buffer)]
        self.transport.write(answer)
        peer = self.transport.get_extra_info("peername")
        ident = ""
        if peer:
            host = self.proxies.client(peer[0], head.headers.get("x-forwarded-for"))
            ident = f"{host}:{peer[1]}" if host == peer[0] else host  # behind a proxy its port means nothing
        self.conn = self.hub.connect(self.transport, ident)
        self.server_state.connections.add(self)
        self._start_keepalive()
        token = parse_qs(url.query).get("token", [""])[0]
        scheme, _, bearer = head.headers.get("authorization", "").partition(" ")
        token = token or (bearer.strip() if scheme.lower() == "bearer" else "")
        if token:
            self._spawn(self._authenticate(unquote(token), None, first=True))
        else:
            asyncio.get_running_loop().call_later(AUTH_TIMEOUT, self._auth_deadline)
        if self.buffer:
            self._read_frames()

    def _hand_over(self) -> None:
        """Not ours: uvicorn's standard WebSocket implementation serves it through the ASGI app."""
        from uvicorn.config import WS_PROTOCOLS
        from uvicorn.importer import import_from_string

        cls = import_from_string(WS_PROTOCOLS["auto"] or "")
        self.fallback = cls(config=self.config, server_state=self.server_state, app_state=self.app_state)
        assert self.fallback is not None and self.transport is not None
        self.fallback.connection_made(self.transport)
        data, self.buffer = bytes(self.buffer), bytearray()
        self.fallback.data_received(data)

    def _http_error(self, status: int, reason: str) -> None:
        assert self.transport is not None
        body = reason.encode()
        self.transport.write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n".encode()
            + body
        )
        self.transport.close()

    # --- frames ------------------------------------------------------------------------------------------

    def _read_frames(self) -> None:
        while self.conn is not None and not self.conn.closed:
            try:
                found = frames.next_frame(self.buffer)
            except frames.FrameError as problem:
                self._close(problem.code, problem.reason)
                return
            if found is None:
                return
            self._frame(*found)

    def _frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        assert self.conn is not None
        if opcode == 0x8:  # the client closes: echo its code, no error message
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else Close.NORMAL
            self.hub.close(self.conn, code if 1000 <= code < 5000 and code not in (1005, 1006) else Close.NORMAL, "")
        elif opcode == 0x9:
            self.conn.transport.write(wire.frame(payload[:125], 0xA))
        elif opcode == 0xA:
            pass
        elif opcode in (0x1, 0x2) and self.fragments is None:
            if opcode == 0x2:
                self._violation(ProtocolError("binary_frame", "send JSON in text frames; binary frames are not read"))
            elif fin:
                self._message(payload)
            else:
                self.fragments = [payload]
        elif opcode == 0x0 and self.fragments is not None:
            self.fragments.append(payload)
            if sum(map(len, self.fragments)) > wire.MAX_MESSAGE_BYTES:
                self._close(Close.TOO_BIG, f"message over {wire.MAX_MESSAGE_BYTES} bytes")
            elif fin:
                whole, self.fragments = b"".join(self.fragments), None
                self._message(whole)
        else:
            self._close(Close.PROTOCOL_ERROR, f"unexpected frame opcode {opcode}")

    # --- messages ----------------------------------------------------------------------------------------

    def _message(self, data: bytes) -> None:
        now = time.monotonic()
        rate, burst = RATE_PER_SECOND, RATE_BURST
        if self.principal is not None and "hub:publish" in self.principal.scopes:
            rate, burst = PUBLISHER_RATE, PUBLISHER_BURST
        self.allowance = min(burst, self.allowance + (now - self.checked) * rate)
        self.checked = now
        if self.allowance < 1:
            self._close(Close.RATE_LIMITED, f"more than {rate:g} messages a second")
            return
        self.allowance -= 1
        factor = self.token_factor
        if self.token is not None and not _token_allows(self.token, now, rate * factor, burst * factor):
            self._close(Close.RATE_LIMITED, f"this token's sockets sent more than {rate * factor:g} messages a second")
            return
        if self.principal is not None:
            self._handle(data)
        elif self.tasks:  # the token is being checked: keep the order, answer after
            if len(self.queued) >= 32:
                self._close(Close.POLICY, "too many messages before authentication")
            self.queued.append(data)
        else:
            self._first_message(data)

    def _first_message(self, data: bytes) -> None:
        """Without a token on the URL, the first message must be `auth`."""
        try:
            msg = wire.decode(data)
        except ProtocolError as problem:
            self._violation(problem)
            return
        if isinstance(msg, wire.Auth):
            self._spawn(self._authenticate(msg.token, msg.ref, first=True))
        elif isinstance(msg, wire.Ping):
            self._send(wire.message("pong", msg.ref))
        else:
            self._close(Close.AUTH, "authenticate first: ?token= on the URL or an auth message", msg.ref)

    def _handle(self, data: bytes) -> None:
        try:
            msg = wire.decode(data)
        except ProtocolError as problem:
            self._violation(problem)
            return
        if isinstance(msg, wire.Ping):
            self._send(wire.message("pong", msg.ref))
        elif isinstance(msg, wire.Auth | wire.Refresh):
            self._spawn(self._authenticate(msg.token, msg.ref, first=False))
        elif isinstance(msg, wire.Subscribe):
            self._spawn(self._subscribe(msg))
        elif isinstance(msg, wire.Unsubscribe):
            assert self.conn is not None
            name = msg.channel or msg.pattern or ""
            if self.hub.unsubscribe(self.conn, name):
                self._release_consumers(name)
                self._send(wire.message("unsubscribed", msg.ref, channel=msg.channel, pattern=msg.pattern))
            else:
                self._violation(ProtocolError("not_subscribed", f"not subscribed to {name}", msg.ref))
        elif isinstance(msg, wire.Publish):
            self._spawn(self._publish(msg))
        else:
            self._ack(msg)

    def _violation(self, problem: ProtocolError) -> None:
        self.violations += 1
        self._send(wire.error(problem.code, problem.message, problem.ref))
        if self.violations > MAX_VIOLATIONS:
            self._close(Close.POLICY, f"more than {MAX_VIOLATIONS} bad messages")

    async def _authenticate(self, token: str, ref: str | int | None, *, first: bool) -> None:
        try:
            principal = await type(self).authenticate(token)
        except Exception:
            log.exception("hub token check failed")
            principal = None
        if principal is None:
            self._close(Close.AUTH, "the token is unknown, revoked or expired", ref)
            return
        self.principal, self.token = principal, token
        if self.conn is not None:
            self.conn.who = principal.user_id
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None
        expires = None
        if principal.expires_at is not None:
            delay = max(0.0, principal.expires_at - time.time())
            self.expiry = asyncio.get_running_loop().call_later(delay, self._expired)
            expires = datetime.fromtimestamp(principal.expires_at, UTC).isoformat()
        if first:
            self._send(
                wire.message(
                    "welcome", ref, user_id=principal.user_id, scopes=sorted(principal.scopes), expires_at=expires
                )
            )
            queued, self.queued = self.queued, []
            for data in queued:
                self._handle(data)
        else:
            self._send(wire.message("refreshed", ref, scopes=sorted(principal.scopes), expires_at=expires))

    def _expired(self) -> None:
        self._close(Close.AUTH, "the token expired: send refresh with a new token before expires_at")

    def _auth_deadline(self) -> None:
        if self.principal is None and self.conn is not None and not self.conn.closed and not self.tasks:
            self._close(Close.AUTH, f"no token within {AUTH_TIMEOUT:g} seconds")

    async def _subscribe(self, msg: wire.Subscribe) -> None:
        assert self.conn is not None and self.principal is not None
        name = msg.channel or msg.pattern or ""
        why_not = await type(self).authorize(self.principal, "subscribe", name)
        if why_not is not None:
            self._send(wire.error("forbidden", why_not, msg.ref, channel=name))
            return
        if name in self.conn.subs:
            self._send(wire.error("already_subscribed", f"already subscribed to {name}", msg.ref))
            return
        if msg.pattern is not None:
            self.hub.subscribe_pattern(self.conn, msg.pattern, "drop")
            self._send(wire.message("subscribed", msg.ref, pattern=msg.pattern))
            return
        if msg.consumer is not None:
            await self._subscribe_consumer(msg, name, msg.consumer)
            return
        overflow, ttl = self.overflow, None
        if type(self).policy_of is not None:
            try:
                overflow, ttl = await type(self).policy_of(name)  # type: ignore[misc]
            except Exception:
                log.exception("hub delivery policy lookup failed", channel=name)
        if self.conn.closed or name in self.conn.subs:
            return
        self._send(wire.message("subscribed", msg.ref, channel=msg.channel))
        try:
            await self.hub.subscribe(self.conn, name, msg.start, overflow, ttl=ttl)
        except Exception:
            log.exception("hub subscribe failed", channel=name)
            self._send(wire.error("history_unavailable", f"could not read the history of {name}", msg.ref))

    async def _publish(self, msg: wire.Publish) -> None:
        assert self.principal is not None
        publish = type(self).publish
        if publish is None:
            text = "publish over REST: POST /api/v1/hub/channels/{channel}/publications"
            self._send(wire.error("not_supported", text, msg.ref))
            return
        # The scope here (no database); the namespace policy is checked where the publication is stored.
        why_not = await scope_only(self.principal, "publish", msg.channel)
        if why_not is not None:
            self._send(wire.error("forbidden", why_not, msg.ref, channel=msg.channel))
            return
        try:
            self._send(wire.message("published", msg.ref, **await publish(self.principal, msg)))
        except ProtocolError as problem:
            self._send(wire.error(problem.code, problem.message, msg.ref, channel=msg.channel))
        except Exception:
            log.exception("hub publish failed", channel=msg.channel)
            self._send(wire.error("unavailable", "the publication could not be stored; retry it", msg.ref))

    # --- plumbing ----------------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if self.conn is not None:
            self.conn.send(data)

    def _close(self, code: int, reason: str, ref: str | int | None = None) -> None:
        if self.conn is None or self.conn.closed:
            return
        notice = wire.error(_close_names.get(code, "closed"), reason, ref, close_code=code) if code >= 1002 else None
        self.hub.close(self.conn, code, reason[:120], notice)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        if len(self.tasks) == MAX_IN_FLIGHT and self.transport is not None:
            self.transport.pause_reading()

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if len(self.tasks) == MAX_IN_FLIGHT - 1 and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _start_keepalive(self) -> None:
        cls = type(self)
        cls.live.add(self)
        if cls.keepalive is None:
            cls.keepalive = asyncio.get_running_loop().call_later(cls.ping_interval, _ping_all, cls)
        if cls.rechecker is None and cls.revalidate is not None:
            cls.rechecker = asyncio.get_running_loop().call_later(cls.recheck_interval, _recheck_all, cls)


_close_names = {
    Close.PROTOCOL_ERROR: "protocol_error",
    Close.TOO_BIG: "too_big",
    Close.AUTH: "unauthenticated",
    Close.POLICY: "policy_violation",
    Close.RATE_LIMITED: "rate_limited",
}


def _ping_all(cls: type[HubProtocol]) -> None:
    """One timer for every socket: ping, and drop those silent for three intervals (half-open TCP)."""
    cutoff = time.monotonic() - 3 * cls.ping_interval
    for proto in list(cls.live):
        if proto.conn is None or proto.conn.closed:
            cls.live.discard(proto)
        elif proto.seen < cutoff:
            proto.hub.close(proto.conn, Close.GOING_AWAY, "no answer to pings")
        else:
            proto.conn.transport.write(wire.PING_FRAME)
    cls.keepalive = asyncio.get_running_loop().call_later(cls.ping_interval, _ping_all, cls) if cls.live else None


def _recheck_all(cls: type[HubProtocol]) -> None:
    """Every interval, the tokens of every live socket are checked again in one query: a revoked token's
    sockets are closed with 4001 within an interval, not whenever they next refresh."""

    async def recheck() -> None:
        held = {proto.token for proto in cls.live if proto.token is not None}
        try:
            valid = await cls.revalidate(list(held)) if held and cls.revalidate else held
        except Exception:
            log.exception("hub token re-check failed")
            valid = held  # the database is unreachable: keep everyone, check again next time
        for proto in list(cls.live):
            if proto.token in held and proto.token not in valid:
                proto._close(Close.AUTH, "the token was revoked or has expired")
        loop = asyncio.get_running_loop()
        cls.rechecker = loop.call_later(cls.recheck_interval, _recheck_all, cls) if cls.live else None

    task = asyncio.ensure_future(recheck())
    _rechecks.add(task)
    task.add_done_callback(_rechecks.discard)


_rechecks: set[asyncio.Task[None]] = set()
_token_buckets: dict[str, list[float]] = {}  # token → [allowance, last checked], for all its sockets together


def _token_allows(token: str, now: float, rate: float, burst: float) -> bool:
    bucket = _token_buckets.get(token)
    if bucket is None:
        if len(_token_buckets) > 100_000:  # forget idle tokens' full buckets now and then
            for key in [k for k, (_, checked) in _token_buckets.items() if now - checked > burst / rate]:
                del _token_buckets[key]
        bucket = _token_buckets[token] = [burst, now]
    bucket[0] = min(burst, bucket[0] + (now - bucket[1]) * rate)
    bucket[1] = now
    if bucket[0] < 1:
        return False
    bucket[0] -= 1
    return True
