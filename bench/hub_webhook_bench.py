"""Hub webhook benchmark: bursts of TradingView-style alerts into a real `fintrack serve` on the embedded PostgreSQL.

A separate load process (this one) creates a webhook, then fires bursts of alerts at `POST /hooks/tradingview/{token}`
with many in flight (mixed JSON and plain text, some repeats, as TradingView's retries are) and prints the
acknowledgement latency (every 201 means committed; a 200 answers a repeat with the first one's seq) and alerts/s.
Goal: p99 ≤ 100 ms during a burst of 500 alerts.

The load side speaks HTTP/1.1 over raw asyncio streams, one keep-alive connection per in-flight alert: an HTTP client
library's own per-request cost would otherwise show up as server latency.

    .venv/bin/python bench/hub_webhook_bench.py [--alerts 500] [--inflight 64] [--bursts 3] [--repeats 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from hub_ingest_bench import embedded
from ledger_bench import serve

from fintrack import pgserver
from fintrack.auth import queries as users
from fintrack.auth import service as auth
from fintrack.db import Database
from fintrack.hub import webhooks
from fintrack.hub.policy import Caller

ROOT = Path(__file__).resolve().parents[1]
EMAIL = "webhook-bench@fintrack.local"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alerts", type=int, default=500, help="alerts per burst (default 500)")
    p.add_argument("--inflight", type=int, default=64, help="alerts in flight at once (default 64)")
    p.add_argument("--bursts", type=int, default=3, help="bursts, each measured on its own (default 3)")
    p.add_argument("--repeats", type=float, default=0.1, help="share of alerts that repeat an earlier one (0.1)")
    p.add_argument("--pause", type=float, default=2.0, help="seconds between bursts (default 2)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="where the bench data lives")
    return p.parse_args()


async def make_hook(db: Database) -> str:
    async with db.sessionmaker() as session, session.begin():
        user = await users.user_by_email(session, EMAIL)
        if user is None:
            user = await auth.create_user(session, EMAIL, "bench password that is long enough")
        caller = Caller(user.id, frozenset({"hub:publish"}))
        tag = time.strftime("%H%M%S")
        made = await webhooks.create(session, caller, name="bench", channel=f"signals.tv{tag}")
    return made.path


def alerts(burst: int, count: int, repeats: float) -> list[tuple[bytes, bytes]]:
    """(content type, body): half JSON as TradingView sends a JSON message, half text; some repeat an earlier one."""
    rng = random.Random(burst)
    out: list[tuple[bytes, bytes]] = []
    for n in range(count):
        if out and rng.random() < repeats:
            out.append(rng.choice(out))
            continue
        price = round(rng.uniform(30_000, 90_000), 2)
        if n % 2:
            body = {
                "ticker": "BTCUSDT",
                "action": rng.choice(("buy", "sell")),
                "close": price,
                "time": "2026-11-23T10:00:00Z",
                "alert": f"{burst}-{n}",
            }
            out.append((b"application/json; charset=utf-8", json.dumps(body).encode()))
        else:
            out.append((b"text/plain; charset=utf-8", f"BTCUSDT crossed {price} (alert {burst}-{n})".encode()))
    return out


class Connection:
    """One keep-alive HTTP/1.1 connection that posts and reads the answer."""

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path.encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, content_type: bytes, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(
            b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
            % (self.path, content_type, len(body), body)
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        )
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def burst(connections: list[Connection], sent: list[tuple[bytes, bytes]]) -> tuple[float, list[float], int]:
    queue: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue()
    for alert in sent:
        queue.put_nowait(alert)
    latencies: list[float] = []
    duplicates = 0

    async def worker(connection: Connection) -> None:
        nonlocal duplicates
        while not queue.empty():
            content_type, body = queue.get_nowait()
            started = time.perf_counter()
            status, answer = await connection.post(content_type, body)
            latencies.append(time.perf_counter() - started)
            if status not in (200, 201):
                raise SystemExit(f"alert refused: {status} {answer[:300]!r}")
            duplicates += json.loads(answer)["duplicate"]

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    return time.perf_counter() - started, latencies, duplicates


async def drive(port: int, path: str, args: argparse.Namespace) -> list[list[float]]:
    connections = [Connection(port, path) for _ in range(args.inflight)]
    # Warm-up: open the connections, create the channel, fill the server's caches; not measured.
    await burst(connections, alerts(-1, args.inflight * 2, 0))
    every: list[list[float]] = []
    for n in range(args.bursts):
        await asyncio.sleep(args.pause)
        sent = alerts(n, args.alerts, args.repeats)
        seconds, latencies, duplicates = await burst(connections, sent)
        every.append(latencies)
        q = statistics.quantiles(latencies, n=100, method="inclusive")
        print(
            f"  burst {n + 1}: {len(sent)} alerts ({duplicates} repeats answered as duplicates) in {seconds:.3f} s "
            f"= {len(sent) / seconds:,.0f} alerts/s; ack latency p50 {q[49] * 1000:.1f} ms, "
            f"p95 {q[94] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms",
            flush=True,
        )
    for connection in connections:
        connection.close()
    return every


async def run(args: argparse.Namespace) -> None:
    bench_dir = args.out / "hub_webhook"
    bench_dir.mkdir(parents=True, exist_ok=True)
    data_dir = bench_dir / "data"
    url, server, path = await embedded(data_dir, make_hook)
    print(f"python {sys.version.split()[0]}, PostgreSQL {server} (embedded), {os.cpu_count()} CPUs")
    print(
        f"{args.bursts} bursts of {args.alerts} alerts, {args.inflight} in flight, "
        f"{args.repeats:.0%} repeats, half JSON and half text, one webhook (secret in the path)"
    )
    log = bench_dir / "serve.log"
    log.unlink(missing_ok=True)
    with serve(data_dir, log, database_url=url) as (port, _):
        every = await drive(port, path, args)
    pgserver.release()
    merged = [latency for latencies in every for latency in latencies]
    q = statistics.quantiles(merged, n=100, method="inclusive")
    print(
        f"  all bursts: p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, "
        f"max {max(merged) * 1000:.1f} ms ({len(merged)} alerts)"
    )


def main() -> None:
    asyncio.run(run(parse_args()))


if __name__ == "__main__":
    main()
