"""The SDK's subscription across drops, against scripted WebSocket servers (no hub, no database)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from fintrack.hub.client import HubClient, Pub

Script = Callable[[ServerConnection, dict[str, Any]], Awaitable[None]]


def pub(seq: int) -> str:
    return json.dumps(
        {"type": "pub", "channel": "signals.x", "seq": seq, "epoch": 1, "ingest_time": "t", "payload": {"n": seq}}
    )


async def collect(client: HubClient, count: int) -> list[int]:
    got: list[int] = []
    async with asyncio.timeout(10):
        async for event in client.subscribe("signals.x", after_seq=0):
            assert isinstance(event, Pub)
            got.append(event.seq)
            if len(got) == count:
                return got
    return got


def scripted(scripts: list[Script], starts: list[Any]) -> Callable[[ServerConnection], Awaitable[None]]:
    """A server handler that plays the next script on each connection, recording where each subscribe started."""

    async def handler(ws: ServerConnection) -> None:
        subscribe = json.loads(await ws.recv())
        starts.append(subscribe["from"])
        await ws.send(json.dumps({"type": "subscribed", "channel": "signals.x"}))
        await scripts.pop(0)(ws, subscribe)

    return handler


async def test_a_slow_consumer_close_is_resumed_after_the_last_seq_not_raised():
    async def overflow(ws: ServerConnection, _: dict[str, Any]) -> None:
        await ws.send(pub(1))
        await ws.send(pub(2))
        await ws.send(json.dumps({"type": "error", "code": "slow_consumer", "message": "too slow"}))
        await ws.close(4009, "slow consumer")

    async def rest(ws: ServerConnection, _: dict[str, Any]) -> None:
        await ws.send(pub(2))  # sent again around the reconnect: dropped by the client
        await ws.send(pub(3))
        await ws.wait_closed()

    starts: list[Any] = []
    async with serve(scripted([overflow, rest], starts), "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with HubClient(f"http://127.0.0.1:{port}", "ft_x", max_backoff=0.01) as client:
            assert await collect(client, 3) == [1, 2, 3]
    assert starts == [{"after_seq": 0}, {"after_seq": 2, "epoch": 1}]
    assert (client.reconnects, client.repeats) == (1, 1)


async def test_a_subscription_fails_over_to_the_next_replica_and_resumes_there():
    starts: list[Any] = []

    async def dies(ws: ServerConnection, _: dict[str, Any]) -> None:
        await ws.send(pub(1))
        ws.transport.abort()  # the replica is gone without a close frame

    async def takes_over(ws: ServerConnection, _: dict[str, Any]) -> None:
        await ws.send(pub(2))
        await ws.wait_closed()

    async with (
        serve(scripted([dies], starts), "127.0.0.1", 0) as first,
        serve(scripted([takes_over], starts), "127.0.0.1", 0) as second,
    ):
        urls = [f"http://127.0.0.1:{s.sockets[0].getsockname()[1]}" for s in (first, second)]
        async with HubClient(urls[0], "ft_x", max_backoff=0.01, failover=urls[1:]) as client:
            assert await collect(client, 2) == [1, 2]
    assert starts == [{"after_seq": 0}, {"after_seq": 1, "epoch": 1}]
