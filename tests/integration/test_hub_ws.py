"""/ws served on uvicorn's socket by the hub's own protocol, with a real WebSocket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
import websockets
from fastapi import FastAPI, WebSocket
from websockets.asyncio.client import ClientConnection, connect

from fintrack.hub import protocol as wire
from fintrack.hub.server import Hub
from fintrack.hub.ws import Principal, protocol_for

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)
TOKENS = {
    "good": Principal(1, frozenset({"hub:subscribe"})),
    "other": Principal(2, frozenset({"api"})),
    "flood": Principal(3, frozenset({"hub:subscribe"})),
}


@dataclass(frozen=True)
class Pub:
    channel: str
    seq: int
    epoch: int
    producer_time: datetime | None
    ingest_time: datetime
    key: str | None
    payload: Any


def pub(seq: int, channel: str = "signals.btc") -> Pub:
    return Pub(channel, seq, 1, None, T0, None, {"px": seq})


async def authenticate(token: str) -> Principal | None:
    return TOKENS.get(token)


@dataclass
class Running:
    url: str
    hub: Hub
    loop: asyncio.AbstractEventLoop
    retained: list[Pub]

    def deliver(self, *pubs: Pub) -> None:
        self.retained.extend(pubs)
        self.loop.call_soon_threadsafe(self.hub.deliver, list(pubs))


@pytest.fixture(scope="module")
def server() -> Iterator[Running]:
    with running() as served:
        yield served


@contextlib.contextmanager
def running(**ws_options: Any) -> Iterator[Running]:
    retained: list[Pub] = []

    async def history(channel: str, after_seq: int | None, limit: int, since: datetime | None = None):
        found = [p for p in retained if p.channel == channel and (after_seq is None or p.seq > after_seq)]
        return found[:limit], min((p.seq for p in retained if p.channel == channel), default=None)

    hub = Hub(history=history)
    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.websocket("/echo")
    async def echo(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text(await socket.receive_text())
        await socket.close()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws=protocol_for(hub, authenticate, **ws_options),
        log_config=None,
        lifespan="off",
    )
    runner = uvicorn.Server(config)
    loops: list[asyncio.AbstractEventLoop] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        loops.append(loop)
        loop.run_until_complete(runner.serve())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not runner.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield Running(f"ws://127.0.0.1:{port}", hub, loops[0], retained)
    runner.should_exit = True
    thread.join(timeout=10)


async def receive(ws: ClientConnection, kind: str | None = None) -> dict[str, Any]:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if kind is None or msg["type"] == kind:
            return msg


async def subscribed(server: Running, channel: str, start: Any = "new") -> ClientConnection:
    ws = await connect(f"{server.url}/ws?token=good")
    assert (await receive(ws))["type"] == "welcome"
    await ws.send(json.dumps({"type": "subscribe", "channel": channel, "from": start, "ref": 1}))
    assert await receive(ws) == {"type": "subscribed", "channel": channel, "ref": 1}
    return ws


async def wait_for_presence(server: Running, channel: str, count: int) -> None:
    for _ in range(500):  # the subscription registers on the server's loop, in another thread
        if server.hub.presence(channel) >= count:
            return
        await asyncio.sleep(0.01)


async def test_subscribers_receive_publications_injected_through_the_engine(server):
    one = await subscribed(server, "signals.live")
    two = await subscribed(server, "signals.live")
    await wait_for_presence(server, "signals.live", 2)
    server.deliver(pub(1, "signals.live"), pub(2, "signals.live"))
    for ws in (one, two):
        first, second = await receive(ws, "pub"), await receive(ws, "pub")
        assert (first["seq"], second["seq"]) == (1, 2)
        assert first["channel"] == "signals.live" and first["payload"] == {"px": 1} and first["epoch"] == 1
        await ws.close()


async def test_bad_frames_get_errors_and_other_subscribers_are_unaffected(server):
    good = await subscribed(server, "signals.bad")
    rude = await subscribed(server, "signals.bad")
    await wait_for_presence(server, "signals.bad", 2)
    await rude.send("{nope")
    assert (await receive(rude))["code"] == "malformed_json"
    await rude.send(json.dumps({"type": "dance", "ref": "r1"}))
    assert await receive(rude) == {
        "type": "error",
        "code": "unknown_type",
        "message": "unknown type 'dance'; expected one of auth, refresh, subscribe, unsubscribe, ping, ack, publish",
        "ref": "r1",
    }
    await rude.send(b"\x00binary")
    assert (await receive(rude))["code"] == "binary_frame"
    server.deliver(pub(1, "signals.bad"))
    assert (await receive(good, "pub"))["seq"] == 1
    await rude.send(json.dumps({"type": "ping", "ref": 5}))
    assert await receive(rude, "pong") == {"type": "pong", "ref": 5}
    await good.close()
    await rude.close()


async def test_an_oversized_frame_closes_only_that_socket_with_1009(server):
    good = await subscribed(server, "signals.big")
    ws = await connect(f"{server.url}/ws?token=good", max_size=None)
    await receive(ws)
    await ws.send("x" * (wire.MAX_MESSAGE_BYTES + 1))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await receive(ws, "pub")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == wire.Close.TOO_BIG
    await wait_for_presence(server, "signals.big", 1)
    server.deliver(pub(1, "signals.big"))
    assert (await receive(good, "pub"))["seq"] == 1
    await good.close()


async def test_a_bad_token_is_closed_with_4001(server):
    ws = await connect(f"{server.url}/ws?token=wrong")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await receive(ws, "welcome")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == wire.Close.AUTH


async def test_the_token_may_come_in_a_first_auth_message(server):
    ws = await connect(f"{server.url}/ws")
    await ws.send(json.dumps({"type": "auth", "token": "good", "ref": "a"}))
    await ws.send(json.dumps({"type": "ping", "ref": "p"}))
    welcome = await receive(ws)
    assert welcome == {"type": "welcome", "user_id": 1, "scopes": ["hub:subscribe"], "expires_at": None, "ref": "a"}
    assert await receive(ws) == {"type": "pong", "ref": "p"}
    await ws.close()
    early = await connect(f"{server.url}/ws")
    await early.send(json.dumps({"type": "subscribe", "channel": "signals.x"}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await receive(early, "subscribed")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == wire.Close.AUTH


async def test_subscriptions_outside_the_tokens_scope_are_refused(server):
    ws = await connect(f"{server.url}/ws?token=good")
    await receive(ws)
    await ws.send(json.dumps({"type": "subscribe", "channel": "user.99", "ref": 3}))
    refused = await receive(ws)
    assert refused["code"] == "forbidden" and "another user's" in refused["message"] and refused["ref"] == 3
    await ws.send(json.dumps({"type": "subscribe", "pattern": "*", "ref": 4}))
    assert "only administrators" in (await receive(ws))["message"]
    await ws.close()
    other = await connect(f"{server.url}/ws?token=other")
    await receive(other)
    await other.send(json.dumps({"type": "subscribe", "channel": "signals.btc"}))
    assert "hub:subscribe" in (await receive(other))["message"]
    await other.close()


async def test_resume_replays_the_retained_history_then_goes_live(server):
    server.retained.extend(pub(s, "signals.resume") for s in range(1, 6))
    ws = await subscribed(server, "signals.resume", {"after_seq": 2, "epoch": 1})
    assert [(await receive(ws, "pub"))["seq"] for _ in range(3)] == [3, 4, 5]
    server.deliver(pub(6, "signals.resume"))
    assert (await receive(ws, "pub"))["seq"] == 6
    await ws.close()


async def test_other_paths_stay_with_the_fastapi_app(server):
    async with connect(f"{server.url}/echo") as ws:
        await ws.send("hi")
        assert await asyncio.wait_for(ws.recv(), 5) == "hi"
    reader, writer = await asyncio.open_connection("127.0.0.1", int(server.url.rsplit(":", 1)[1]))
    writer.write(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b'{"hello":"world"}' in await asyncio.wait_for(reader.read(), 5)
    writer.close()


async def test_a_subscriber_that_stops_reading_is_cut_with_4009_and_the_others_get_everything(server):
    good = await subscribed(server, "signals.flood")
    stalled = await connect(f"{server.url}/ws?token=good", max_queue=1, max_size=None)
    assert (await receive(stalled))["type"] == "welcome"
    await stalled.send(json.dumps({"type": "subscribe", "channel": "signals.flood"}))
    await wait_for_presence(server, "signals.flood", 2)
    big = "x" * 60_000
    count = 300  # 18 MB: more than the kernel's socket buffers and the hub's 256 KiB per connection
    got = []
    for first in range(1, count + 1, 4):  # the reading subscriber keeps up: never more than 240 kB behind
        server.deliver(*(Pub("signals.flood", seq, 1, None, T0, None, {"pad": big}) for seq in range(first, first + 4)))
        got += [(await receive(good, "pub"))["seq"] for _ in range(4)]
    assert got == list(range(1, count + 1))
    told: list[dict[str, Any]] = []
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            told.append(json.loads(await asyncio.wait_for(stalled.recv(), 10)))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == wire.Close.SLOW_CONSUMER
    seqs = [m["seq"] for m in told if m["type"] == "pub"]
    notice = next(m for m in told if m["type"] == "error")
    assert notice["code"] == "slow_consumer" and notice["last_seq"] == {"signals.flood": seqs[-1]}
    assert seqs == list(range(1, seqs[-1] + 1)) and seqs[-1] < count
    await good.close()


async def test_a_flood_spread_over_many_sockets_of_one_token_is_cut_per_token():
    # A token budget of twice one socket's (100 a second, bursts of 400) rather than the default 20x: the same
    # mechanism, but so far below the flood that no scheduling delay on a loaded machine lets the refill catch up.
    with running(token_factor=2.0) as server:
        bystander = await subscribed(server, "signals.flood")
        await wait_for_presence(server, "signals.flood", 1)
        flooders = [await connect(f"{server.url}/ws?token=flood") for _ in range(20)]
        for ws in flooders:
            assert (await receive(ws))["type"] == "welcome"
        burst = [json.dumps({"type": "ping"})] * 190

        async def flood(ws: ClientConnection) -> None:
            with contextlib.suppress(websockets.ConnectionClosed):  # cut mid-flood: that is the point
                for message in burst:
                    await ws.send(message)

        # 190 each stays under one socket's burst of 200; 3,800 together is far over the token's 400. One socket
        # after the other, so the first two are answered in full before the budget runs out.
        for ws in flooders:
            await flood(ws)

        async def outcome(ws: ClientConnection) -> int | None:
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 2)
            except websockets.ConnectionClosed:
                return ws.close_code
            except TimeoutError:
                await ws.close()
                return None

        codes = await asyncio.gather(*(outcome(ws) for ws in flooders))
        assert codes[0] is None and codes[-1] == wire.Close.RATE_LIMITED  # the first socket's pings were answered
        server.deliver(pub(1, "signals.flood"))
        assert (await receive(bystander, "pub"))["seq"] == 1  # another token's subscriber is untouched
        await bystander.close()


async def test_a_client_silent_for_three_ping_intervals_is_closed_and_an_answering_one_is_kept():
    hub = Hub()
    config = uvicorn.Config(
        FastAPI(), host="127.0.0.1", port=0, ws=protocol_for(hub, authenticate, ping_interval=0.2), log_config=None
    )
    runner = uvicorn.Server(config)
    serving = asyncio.ensure_future(runner.serve())
    for _ in range(500):
        if runner.started:
            break
        await asyncio.sleep(0.01)
    port = runner.servers[0].sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)  # a half-open peer: never answers
        writer.write(
            b"GET /ws?token=good HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        answering = await connect(f"ws://127.0.0.1:{port}/ws?token=good")  # answers pings with pongs
        assert (await receive(answering))["type"] == "welcome"
        received = b""
        started = time.monotonic()
        while chunk := await asyncio.wait_for(reader.read(4096), 5):
            received += chunk
        assert 0.4 < time.monotonic() - started < 3.0
        assert b"\x88" in received and (1001).to_bytes(2, "big") + b"no answer to pings" in received
        await asyncio.sleep(0.6)
        await answering.send(json.dumps({"type": "ping", "ref": 1}))
        assert (await receive(answering, "pong"))["ref"] == 1  # still open after the same three intervals
        await answering.close()
        writer.close()
    finally:
        runner.should_exit = True
        await serving
