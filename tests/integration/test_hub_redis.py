"""RedisBroker against a real Redis server this test starts: every replica hears every publication, in order."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fintrack.hub.broker import Publication, RedisBroker

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, tmp_path: Path) -> None:
        self.port = _free_port()
        self.dir = tmp_path
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def _pub(seq: int) -> Publication:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    return Publication("signals.btc", seq, 1, None if seq % 2 else now, now, "k", {"seq": seq, "é": [1.5, None]})


async def test_every_replica_receives_every_publication_in_order(redis_server):
    replicas = [RedisBroker(redis_server.url), RedisBroker(redis_server.url)]
    heard: list[list[Publication]] = [[], []]
    for broker, got in zip(replicas, heard, strict=True):
        await broker.start()

        def callback(pubs: Sequence[Publication], got: list[Publication] = got) -> None:
            got.extend(pubs)

        broker.subscribe(callback)
    try:
        sent = [_pub(n) for n in range(1, 101)]
        for i in range(0, 100, 10):
            await replicas[0].publish(sent[i : i + 10])
        for _ in range(100):
            if all(len(got) == 100 for got in heard):
                break
            await asyncio.sleep(0.02)
        assert heard[0] == sent and heard[1] == sent
    finally:
        for broker in replicas:
            await broker.close()


async def test_a_redis_restart_loses_the_outage_only_and_delivery_resumes(redis_server):
    broker = RedisBroker(redis_server.url)
    await broker.start()
    got: list[Publication] = []
    broker.subscribe(got.extend)
    try:
        await broker.publish([_pub(1)])
        redis_server.stop()
        await broker.publish([_pub(2)])  # logged, not raised: it is in PostgreSQL, subscribers backfill the gap
        redis_server.start()
        for n in range(3, 200):
            await broker.publish([_pub(n)])
            await asyncio.sleep(0.05)
            if got and got[-1].seq >= 3:
                break
        assert got[0].seq == 1 and got[-1].seq >= 3 and 2 not in {p.seq for p in got}
    finally:
        await broker.close()


async def test_a_replica_starts_while_redis_is_down_and_delivers_once_it_is_back(redis_server):
    redis_server.stop()
    broker = RedisBroker(redis_server.url)
    await broker.start()  # no error: publishing needs only PostgreSQL, the listener keeps trying
    got: list[Publication] = []
    broker.subscribe(got.extend)
    try:
        await broker.publish([_pub(1)])  # logged, not raised
        redis_server.start()
        for n in range(2, 400):
            await broker.publish([_pub(n)])
            await asyncio.sleep(0.05)
            if got:
                break
        assert got and got[0].seq >= 2
    finally:
        await broker.close()


async def test_the_broker_says_when_its_feed_is_back_so_quiet_channels_can_catch_up(redis_server):
    broker = RedisBroker(redis_server.url)
    feeds: list[float] = []
    broker.on_reconnect(lambda: feeds.append(time.monotonic()))
    await broker.start()
    try:
        for _ in range(100):
            if feeds:
                break
            await asyncio.sleep(0.02)
        assert len(feeds) == 1  # the first subscription
        redis_server.stop()
        await asyncio.sleep(0.3)
        redis_server.start()
        for _ in range(200):
            if len(feeds) > 1:
                break
            await asyncio.sleep(0.05)
        assert len(feeds) == 2
    finally:
        await broker.close()
