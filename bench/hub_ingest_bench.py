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
from pathlib import Path

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


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--publications", type=int, default=200_000, help="measured publications in all (default 200,000)")
    p.add_argument("--batch", type=int, default=500, help="publications per request (default 500)")
    p.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    p.add_argument("--channels", type=int, default=None, help="channels published to (default: one per client)")
    p.add_argument("--payload-bytes", type=int, default=200, help="approximate payload size (default 200)")
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


async def run(args: argparse.Namespace) -> None:
    bench_dir = args.out / "hub"
    bench_dir.mkdir(parents=True, exist_ok=True)
    data_dir = bench_dir / "data"
    url = pgserver.start(data_dir, database="fintrack")
    migrate.upgrade(url)
    db = Database.connect(url, pool_size=2)
    async with db.engine.connect() as conn:
        server = await conn.scalar(text("SHOW server_version"))
    token = await hub_token(db)
    await db.close()
    print(f"python {sys.version.split()[0]}, PostgreSQL {server} (embedded), {os.cpu_count()} CPUs")
    print(
        f"{args.publications:,} publications in batches of {args.batch} from {args.clients} clients "
        f"on {args.channels or args.clients} channel(s), ~{args.payload_bytes}-byte payloads"
    )
    log = bench_dir / "serve.log"
    log.unlink(missing_ok=True)
    with serve(data_dir, log, database_url=url) as (port, _):
        seconds, latencies, stored = await drive(port, token, args)
    pgserver.release()
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    print(f"  {stored:,} durable publications in {seconds:.2f} s = {stored / seconds:,.0f} publications/s")
    print(f"  request latency: p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms ({len(latencies)} requests)")


def main() -> None:
    asyncio.run(run(parse_args()))


if __name__ == "__main__":
    main()
