"""Hub ingest benchmark: batches published through a real `fintrack serve` on the embedded PostgreSQL.

A separate load process (this one) drives `POST /api/v1/hub/channels/{channel}/publications` with batches from
several concurrent clients and prints durable publications per second (every 201 means committed) and the
request latency. Goal: ≥ 5,000 publications/s.

    .venv/bin/python bench/hub_ingest_bench.py [--publications 200000] [--batch 500] [--clients 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
from ledger_bench import serve
from sqlalchemy import text

from fintrack import migrate, pgserver
from fintrack.auth import queries as users
from fintrack.auth import service as auth
from fintrack.auth.scopes import Scope
from fintrack.db import Database

ROOT = Path(__file__).resolve().parents[1]
EMAIL = "hub-bench@fintrack.local"
T = TypeVar("T")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--publications", type=int, default=200_000, help="measured publications in all (default 200,000)")
    p.add_argument("--batch", type=int, default=500, help="publications per request (default 500)")
    p.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    p.add_argument("--channels", type=int, default=None, help="channels published to (default: one per client)")
    p.add_argument("--payload-bytes", type=int, default=200, help="approximate payload size (default 200)")
    p.add_argument(
        "--ws-publications",
        type=int,
        default=40_000,
        help="then publications sent one per WebSocket message, group-committed by the hub (default 40,000; 0: skip)",
    )
    p.add_argument("--ws-window", type=int, default=1000, help="unanswered publish messages per producer socket")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="where the bench data lives")
    return p.parse_args()


async def hub_token(db: Database) -> str:
    async with db.sessionmaker() as session, session.begin():
        user = await users.user_by_email(session, EMAIL)
        if user is None:
            user = await auth.create_user(session, EMAIL, "bench password that is long enough")
        return (await auth.create_token(session, user, "hub bench", [Scope.hub_publish]))[1]


def batch(rng: random.Random, size: int, payload_bytes: int) -> dict[str, object]:
    pad = "x" * max(0, payload_bytes - 120)
    return {
        "publications": [
            {
                "payload": {
                    "symbol": "BTCUSDT",
                    "side": rng.choice(("buy", "sell")),
                    "price": round(rng.uniform(30_000, 90_000), 2),
                    "qty": round(rng.uniform(0.001, 2), 4),
                    "note": pad,
                },
                "key": "BTCUSDT",
                "producer_time": "2026-11-23T10:00:00Z",
            }
            for _ in range(size)
        ]
    }


async def drive(port: int, token: str, args: argparse.Namespace) -> tuple[float, list[float], int]:
    channels = args.channels or args.clients
    requests = max(1, args.publications // args.batch)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(requests):
        queue.put_nowait(n)
    latencies: list[float] = []
    stored = 0
    headers = {"Authorization": f"Bearer {token}"}
    tag = time.strftime("%H%M%S")
    bodies = [batch(random.Random(n), args.batch, args.payload_bytes) for n in range(8)]

    async def client(n: int) -> None:
        nonlocal stored
        url = f"http://127.0.0.1:{port}/api/v1/hub/channels/signals.bench{tag}.c{n % channels}/publications"
        async with httpx.AsyncClient(headers=headers, timeout=60) as http:
            await http.post(url, json=bodies[0])  # warm-up: connection, channel row, caches
            while not queue.empty():
                i = queue.get_nowait()
                started = time.perf_counter()
                response = await http.post(url, json=bodies[i % len(bodies)])
                latencies.append(time.perf_counter() - started)
                if response.status_code != 201:
                    raise SystemExit(f"publish failed: {response.status_code} {response.text[:300]}")
                stored += sum(not p["duplicate"] for p in response.json())

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(args.clients)))
    return time.perf_counter() - started, latencies, stored


async def drive_ws(port: int, token: str, args: argparse.Namespace) -> tuple[float, list[float], int]:
    """Producers on /ws, one publication per message, up to --ws-window unanswered each: what a bot streaming
    signals does. Each answer means committed; its latency is send → `published`."""
    import json

    from websockets.asyncio.client import connect

    per_client = max(1, args.ws_publications // args.clients)
    latencies: list[float] = []
    stored = 0
    tag = time.strftime("%H%M%S")
    pad = "x" * max(0, args.payload_bytes - 120)

    async def producer(n: int) -> None:
        nonlocal stored
        channel = f"signals.ws{tag}.c{n % (args.channels or args.clients)}"
        sent: dict[int, float] = {}
        window = asyncio.Semaphore(args.ws_window)
        async with connect(f"ws://127.0.0.1:{port}/ws?token={token}", max_size=2**22) as ws:
            assert json.loads(await ws.recv())["type"] == "welcome"

            async def answers() -> None:
                nonlocal stored
                for _ in range(per_client):
                    msg = json.loads(await ws.recv())
                    if msg["type"] != "published":
                        raise SystemExit(f"publish refused: {msg}")
                    latencies.append(time.perf_counter() - sent.pop(msg["ref"]))
                    stored += not msg["duplicate"]
                    window.release()

            reading = asyncio.create_task(answers())
            for i in range(per_client):
                await window.acquire()
                sent[i] = time.perf_counter()
                payload = {"symbol": "BTCUSDT", "side": "buy", "price": 97_000.5 + i, "qty": 0.1, "note": pad}
                await ws.send(json.dumps({"type": "publish", "channel": channel, "payload": payload, "ref": i}))
            await reading

    started = time.perf_counter()
    await asyncio.gather(*(producer(n) for n in range(args.clients)))
    return time.perf_counter() - started, latencies, stored


async def embedded(data_dir: Path, setup: Callable[[Database], Awaitable[T]]) -> tuple[str, str, T]:
    """The embedded PostgreSQL in `data_dir`, migrated: its URL, its version, and what `setup` made in it."""
    url = pgserver.start(data_dir, database="fintrack")
    migrate.upgrade(url)
    db = Database.connect(url, pool_size=2)
    try:
        async with db.engine.connect() as conn:
            version = str(await conn.scalar(text("SHOW server_version")))
        return url, version, await setup(db)
    finally:
        await db.close()


async def run(args: argparse.Namespace) -> None:
    bench_dir = args.out / "hub"
    bench_dir.mkdir(parents=True, exist_ok=True)
    data_dir = bench_dir / "data"
    url, server, token = await embedded(data_dir, hub_token)
    print(f"python {sys.version.split()[0]}, PostgreSQL {server} (embedded), {os.cpu_count()} CPUs")
    print(
        f"{args.publications:,} publications in batches of {args.batch} from {args.clients} clients "
        f"on {args.channels or args.clients} channel(s), ~{args.payload_bytes}-byte payloads"
    )
    log = bench_dir / "serve.log"
    log.unlink(missing_ok=True)
    with serve(data_dir, log, database_url=url) as (port, _):
        seconds, latencies, stored = await drive(port, token, args)
        ws = await drive_ws(port, token, args) if args.ws_publications else None
    pgserver.release()
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    print(f"  REST batches: {stored:,} durable in {seconds:.2f} s = {stored / seconds:,.0f} publications/s")
    print(f"  request latency: p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms ({len(latencies)} requests)")
    if ws is not None:
        seconds, latencies, stored = ws
        q = statistics.quantiles(latencies, n=100, method="inclusive")
        print(
            f"  WebSocket, one publication per message ({args.clients} producers, window {args.ws_window}): "
            f"{stored:,} durable in {seconds:.2f} s = {stored / seconds:,.0f} publications/s"
        )
        print(f"  publish → published: p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms")


def main() -> None:
    asyncio.run(run(parse_args()))


if __name__ == "__main__":
    main()
