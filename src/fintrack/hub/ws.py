"""`/ws` on uvicorn's own socket: the handshake and client frames here, the fan-out's frames straight to the transport.

uvicorn accepts a WebSocket protocol class (`uvicorn.Config(ws=...)`) and hands it the upgraded connection. Ours
answers `/ws` itself — no ASGI, no per-message task — so the engine can write one shared frame to thousands of
transports; every other WebSocket path goes on to uvicorn's standard implementation and the FastAPI app.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import structlog

from fintrack.hub import protocol as wire
from fintrack.hub.protocol import Close, ProtocolError
from fintrack.hub.server import Connection, Hub, Overflow

log = structlog.get_logger("fintrack.hub")
PATH = "/ws"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_REQUEST_BYTES = 16 * 1024
AUTH_TIMEOUT = 10.0
RATE_PER_SECOND = 50.0  # client messages; bursts up to RATE_BURST
RATE_BURST = 200.0
MAX_VIOLATIONS = 20  # bad messages before the connection is closed with 4008


class Principal:
    """Who is on the socket and what they may do, as far as the data plane cares."""

    __slots__ = ("channel_patterns", "is_admin", "scopes", "user_id")

    def __init__(
        self,
        user_id: int,
        scopes: frozenset[str],
        is_admin: bool = False,
        channel_patterns: tuple[str, ...] | None = None,
    ) -> None:
        self.user_id = user_id
        self.scopes = scopes
        self.is_admin = is_admin
        self.channel_patterns = channel_patterns


# token → principal, or None when the token is unknown, revoked or expired
Authenticate = Callable[[str], Awaitable[Principal | None]]
# (principal, "subscribe" | "publish", channel or pattern) → None when allowed, else why not
Authorize = Callable[[Principal, str, str], Awaitable[str | None]]
Publish = Callable[[Principal, wire.Publish], Awaitable[dict[str, Any]]]
OverflowOf = Callable[[str], Awaitable[Overflow]]  # a channel's overflow policy (its namespace's)


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

    hub = Hub(history=sources.history(app))
    app.state.hub = hub
    broker = getattr(app.state, "hub_broker", None)
    if broker is not None:
        broker.subscribe(hub.deliver)
    options.setdefault("overflow_of", sources.overflow_of(app))
    return protocol_for(hub, sources.authenticator(app), sources.authorizer(app), **options)


def protocol_for(
    hub: Hub,
    authenticate: Authenticate,
    authorize: Authorize = scope_only,
    publish: Publish | None = None,
    *,
    overflow: Overflow = "disconnect",
    overflow_of: OverflowOf | None = None,
    ping_interval: float = 20.0,
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
            "overflow_of": staticmethod(overflow_of) if overflow_of else None,
            "ping_interval": ping_interval,
            "live": set(),
            "keepalive": None,
        },
    )


class HubProtocol(asyncio.Protocol):
    hub: Hub
    authenticate: Authenticate
    authorize: Authorize
    publish: Publish | None
    overflow: Overflow
    overflow_of: OverflowOf | None
    ping_interval: float
    live: set[HubProtocol]
    keepalive: asyncio.TimerHandle | None

    def __init__(self, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
        self.config, self.server_state, self.app_state = config, server_state, app_state
        self.transport: asyncio.Transport | None = None
        self.fallback: asyncio.Protocol | None = None
        self.conn: Connection | None = None
        self.principal: Principal | None = None
        self.buffer = bytearray()
        self.fragments: list[bytes] | None = None
        self.queued: list[bytes] = []  # messages that wait for the token check
        self.tasks: set[asyncio.Task[Any]] = set()
        self.allowance = RATE_BURST
        self.checked = time.monotonic()
        self.seen = self.checked
        self.violations = 0

    # --- asyncio.Protocol --------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.fallback is not None:
            self.fallback.data_received(data)
            return
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
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_REQUEST_BYTES:
                self._http_error(431, "request headers too large")
            return
        head = bytes(self.buffer[:end]).decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        target = parts[1] if len(parts) == 3 else ""
        url = urlsplit(target)
        if url.path != PATH:
            self._hand_over()
            return
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key", "")
        if headers.get("sec-websocket-version") != "13" or len(key) != 24:
            self._http_error(400, "a WebSocket version 13 handshake is required")
            return
        del self.buffer[: end + 4]
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())  # noqa: S324 (RFC 6455 says SHA-1)
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        peer = self.transport.get_extra_info("peername")
        self.conn = self.hub.connect(self.transport, f"{peer[0]}:{peer[1]}" if peer else "")
        self.server_state.connections.add(self)
        self._start_keepalive()
        token = parse_qs(url.query).get("token", [""])[0]
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        token = token or (bearer.strip() if scheme.lower() == "bearer" else "")
        if token:
            self._spawn(self._authenticate(unquote(token), None, first=True))
        else:
            assert self.transport is not None
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
        buf = self.buffer
        while len(buf) >= 2 and self.conn is not None and not self.conn.closed:
            b0, b1 = buf[0], buf[1]
            opcode, length, pos = b0 & 0x0F, b1 & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, pos = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, pos = int.from_bytes(buf[2:10], "big"), 10
            if b0 & 0x70 or not b1 & 0x80:
                self._close(Close.PROTOCOL_ERROR, "client frames must be masked and use no extensions")
                return
            if length > wire.MAX_MESSAGE_BYTES:
                self._close(Close.TOO_BIG, f"frame of {length} bytes; the limit is {wire.MAX_MESSAGE_BYTES}")
                return
            if len(buf) < pos + 4 + length:
                return
            mask = bytes(buf[pos : pos + 4])
            payload = _unmask(bytes(buf[pos + 4 : pos + 4 + length]), mask)
            del buf[: pos + 4 + length]
            self._frame(b0 & 0x80 != 0, opcode, payload)

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
        self.allowance = min(RATE_BURST, self.allowance + (now - self.checked) * RATE_PER_SECOND)
        self.checked = now
        if self.allowance < 1:
            self._close(Close.RATE_LIMITED, f"more than {RATE_PER_SECOND:g} messages a second")
            return
        self.allowance -= 1
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
                self._send(wire.message("unsubscribed", msg.ref, channel=msg.channel, pattern=msg.pattern))
            else:
                self._violation(ProtocolError("not_subscribed", f"not subscribed to {name}", msg.ref))
        elif isinstance(msg, wire.Publish):
            self._spawn(self._publish(msg))
        else:
            self._send(wire.error("not_supported", "durable consumers (ack) are not available yet", msg.ref))

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
        self.principal = principal
        if first:
            self._send(wire.message("welcome", ref, user_id=principal.user_id, scopes=sorted(principal.scopes)))
            queued, self.queued = self.queued, []
            for data in queued:
                self._handle(data)
        else:
            self._send(wire.message("refreshed", ref, scopes=sorted(principal.scopes)))

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
        overflow = self.overflow
        if type(self).overflow_of is not None:
            try:
                overflow = await type(self).overflow_of(name)  # type: ignore[misc]
            except Exception:
                log.exception("hub overflow policy lookup failed", channel=name)
        if self.conn.closed or name in self.conn.subs:
            return
        self._send(wire.message("subscribed", msg.ref, channel=msg.channel))
        try:
            await self.hub.subscribe(self.conn, name, msg.start, overflow)
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
        why_not = await type(self).authorize(self.principal, "publish", msg.channel)
        if why_not is not None:
            self._send(wire.error("forbidden", why_not, msg.ref, channel=msg.channel))
            return
        try:
            self._send(wire.message("published", msg.ref, **await publish(self.principal, msg)))
        except ProtocolError as problem:
            self._send(wire.error(problem.code, problem.message, msg.ref))

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
        task.add_done_callback(self.tasks.discard)

    def _start_keepalive(self) -> None:
        cls = type(self)
        cls.live.add(self)
        if cls.keepalive is None:
            cls.keepalive = asyncio.get_running_loop().call_later(cls.ping_interval, _ping_all, cls)


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


def _unmask(data: bytes, mask: bytes) -> bytes:
    n = len(data)
    if n == 0:
        return data
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(data, "little") ^ key).to_bytes(n, "little")
