"""Hub chaos: replicas behind one Redis; Redis and a replica are SIGKILLed and restarted while signals are
published to subscribers that reconnect. Exits 1 unless every subscriber got every seq once, in order, no gap.

Starts everything itself: its own `redis-server` on a free port, the embedded PostgreSQL (or DATABASE_URL), the
migrations, a user with a token, and `fintrack hub serve` replicas on free ports sharing REDIS_URL. Subscribers
use the SDK (`fintrack.hub.client`): half stay with their replica (they wait for it to come back), half fail over
to the others. The producer publishes batches over REST, spread across the replicas, with idempotency keys: a
request cut by a kill is retried on the next replica, and the key makes the retry safe.

    .venv/bin/python bench/hub_chaos.py                       # 100,000 signals, Redis and a replica killed twice
    .venv/bin/python bench/hub_chaos.py --signals 3000 --rounds 1 --rate 600 --outage 1.5   # what the test runs
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fintrack.hub.client import Gap, HubClient

ROOT = Path(__file__).resolve().parents[1]
SECRET = "chaos-secret-key-that-is-long-enough-0123456789"
EMAIL = "chaos@fintrack.local"
REDIS_SERVER = "/usr/bin/redis-server"


@dataclass
class Options:
    signals: int = 100_000
    channels: int = 4
    replicas: int = 3
    subscribers: int = 4  # per replica
    batch: int = 100
    rate: float = 2_500.0  # signals per second, all channels together
    outage: float = 3.0  # seconds Redis or a replica stays dead
    rounds: int = 2  # 1: Redis at 25 %, a replica at 50 %; 2: also both at once at 75 %
    drain_timeout: float = 120.0
    database_url: str | None = None
    workdir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


class Redis:
    """A throwaway redis-server (no persistence) that can be SIGKILLed and started again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not Path(REDIS_SERVER).exists():
            raise SystemExit(f"{REDIS_SERVER} is missing: install redis-server (apt-get install redis-server)")
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with (self.dir / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, *args, "--dir", str(self.dir)], stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise SystemExit(f"redis-server did not answer on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None


class Replica:
    """One `fintrack hub serve` process; SIGKILL it and start it again on the same port."""

    def __init__(self, n: int, workdir: Path, database_url: str, redis_url: str) -> None:
        self.n = n
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"replica{n}.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if k.removesuffix("_FILE") not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")
        }
        env.update(
            FINTRACK_ENV="production",
            FINTRACK_DATA_DIR=str(workdir / "data"),
            SECRET_KEY=SECRET,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            DB_POOL_SIZE="4",
            LOG_LEVEL="WARNING",
            BASE_URL=self.base,
        )
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "fintrack", "hub", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def ready(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=1) as http:
            while time.monotonic() < deadline:
                if self.proc is None or self.proc.poll() is not None:
                    raise RuntimeError(f"replica {self.n} exited; see {self.log}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{self.base}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"replica {self.n} was not ready within {within} s; see {self.log}")

    def kill(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc, signal.SIGKILL)
                self.proc.wait(10)
            self.proc = None


@dataclass
class Seen:
    """What one subscription received, in arrival order."""

    seqs: list[int] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    wrong_payload: int = 0
    latencies: list[float] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)  # when each was published (the producer's clock)


class Subscriber:
    def __init__(self, name: str, home: Replica, others: list[Replica], token: str, channels: list[str]) -> None:
        self.name = name
        self.home = home
        self.fails_over = bool(others)
        self.client = HubClient(home.base, token, max_backoff=2.0, failover=[r.base for r in others])
        self.seen = {channel: Seen() for channel in channels}
        self.errors: list[str] = []

    async def follow(self, channel: str) -> None:
        seen = self.seen[channel]
        try:
            async for event in self.client.subscribe(channel, after_seq=0):
                if isinstance(event, Gap):
                    seen.gaps.append(event)
                    continue
                seen.seqs.append(event.seq)
                payload = event.payload
                if payload.get("n") != event.seq or payload.get("c") != channel:
                    seen.wrong_payload += 1
                seen.latencies.append(time.time() - payload["t"])
                seen.sent.append(payload["t"])
        except Exception as exc:  # a subscription that stops is a failure of the run, reported below
            self.errors.append(f"{channel}: {exc!r}")

    def caught_up(self, last: dict[str, int]) -> bool:
        return all(s.seqs and s.seqs[-1] >= last[c] for c, s in self.seen.items())


@dataclass
class Producer:
    bases: list[str]
    token: str
    options: Options
    acked: int = 0
    retries: int = 0
    duplicates: int = 0  # publications a retry found committed already (idempotency key)
    wrong_seq: int = 0
    last: dict[str, int] = field(default_factory=dict)
    turn: int = 0
    final: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # each channel's last batch
    resent: tuple[int, int] = (0, 0)  # (items sent again, answered duplicate with their first seq)

    async def publish(self, http: httpx.AsyncClient, channel: str, items: list[dict[str, Any]]) -> list[Any]:
        """POST the batch to the next replica; on no answer or a 5xx, again to the next one, same keys."""
        while True:
            base = self.bases[self.turn % len(self.bases)]
            self.turn += 1
            try:
                response = await http.post(
                    f"{base}/api/v1/hub/channels/{channel}/publications", json={"publications": items}
                )
                if response.status_code == 201:
                    return list(response.json())
                if response.status_code < 500:
                    raise RuntimeError(f"publish refused: {response.status_code} {response.text[:300]}")
            except httpx.TransportError:
                pass
            self.retries += 1
            await asyncio.sleep(0.1)

    async def resend(self, channel: str) -> None:
        """The last batch again, as a client that never saw the answer sends it: same keys, so the first seqs
        come back as duplicates and nothing is stored or delivered twice (the subscribers would count it)."""
        items = self.final[channel]
        first = self.last[channel] - len(items) + 1
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {self.token}"}, timeout=30) as http:
            answers = await self.publish(http, channel, items)
        same = sum(a["duplicate"] and a["seq"] == first + i for i, a in enumerate(answers))
        self.resent = (len(items), same)

    async def channel(self, channel: str, quota: int, started: float) -> None:
        per_second = self.options.rate / self.options.channels
        headers = {"Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(headers=headers, timeout=30) as http:
            n = 0
            while n < quota:
                size = min(self.options.batch, quota - n)
                now = time.time()
                items = [
                    {
                        "payload": {"n": n + i, "c": channel, "t": now},
                        "key": f"k{(n + i) % 7}",
                        "idempotency_key": f"s{n + i}",
                    }
                    for i in range(1, size + 1)
                ]
                answers = await self.publish(http, channel, items)
                self.final[channel] = items
                for i, answer in enumerate(answers, start=n + 1):
                    self.wrong_seq += answer["seq"] != i
                    self.duplicates += bool(answer["duplicate"])
                n += size
                self.acked += size
                self.last[channel] = n
                ahead = n / per_second - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)


@dataclass
class Outage:
    what: str
    at_percent: int
    killed: float
    steps: list[str] = field(default_factory=list)  # what came back when


@dataclass
class Report:
    options: Options
    published: int = 0
    seconds_publishing: float = 0.0
    seconds_total: float = 0.0
    drained: bool = False
    producer: Producer | None = None
    subscribers: list[Subscriber] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def counts(self, sub: Subscriber) -> dict[str, int]:
        assert self.producer is not None
        c = {"received": 0, "lost": 0, "duplicated": 0, "out_of_order": 0, "gaps": 0, "wrong_payload": 0}
        for channel, seen in sub.seen.items():
            unique = set(seen.seqs)
            c["received"] += len(seen.seqs)
            c["lost"] += len(set(range(1, self.producer.last.get(channel, 0) + 1)) - unique)
            c["duplicated"] += len(seen.seqs) - len(unique)
            c["out_of_order"] += sum(b < a for a, b in zip(seen.seqs, seen.seqs[1:], strict=False))
            c["gaps"] += len(seen.gaps)
            c["wrong_payload"] += seen.wrong_payload
        return c

    def totals(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for sub in self.subscribers:
            for key, value in self.counts(sub).items():
                total[key] = total.get(key, 0) + value
        return total

    @property
    def ok(self) -> bool:
        t = self.totals()
        bad = t["lost"] + t["duplicated"] + t["out_of_order"] + t["gaps"] + t["wrong_payload"]
        wrong_seq = self.producer.wrong_seq if self.producer else 1
        resent, duplicate = self.producer.resent if self.producer else (0, -1)
        fine = self.drained and not bad and not self.problems and wrong_seq == 0 and resent == duplicate
        return fine and self.published > 0

    def timeline(self, window: float = 5.0) -> list[str]:
        """Latency by when the publication was sent, in windows: where the slow deliveries come from."""
        pairs = sorted(
            (t, x)
            for s in self.subscribers
            for seen in s.seen.values()
            for t, x in zip(seen.sent, seen.latencies, strict=True)
        )
        if not pairs:
            return []
        start, out = pairs[0][0], []
        buckets: dict[int, list[float]] = {}
        for t, x in pairs:
            buckets.setdefault(int((t - start) // window), []).append(x)
        for k, xs in sorted(buckets.items()):
            xs.sort()
            out.append(
                f"sent {k * window:5.0f}-{(k + 1) * window:.0f} s: {len(xs):>7,} deliveries, "
                f"p50 {xs[len(xs) // 2] * 1000:6.0f} ms, max {xs[-1] * 1000:6.0f} ms"
            )
        return out

    def details(self) -> list[str]:
        """Per subscription: the missing seqs as ranges and the gap notices, to find out what went wrong."""
        assert self.producer is not None
        out = self.timeline()
        for sub in self.subscribers:
            for channel, seen in sub.seen.items():
                missing = sorted(set(range(1, self.producer.last.get(channel, 0) + 1)) - set(seen.seqs))
                ranges: list[str] = []
                for seq in missing:
                    if ranges and int(ranges[-1].split("-")[-1]) == seq - 1:
                        ranges[-1] = f"{ranges[-1].split('-')[0]}-{seq}"
                    else:
                        ranges.append(str(seq))
                gaps = [f"{g.from_seq}-{g.to_seq} {g.reason}" for g in seen.gaps]
                last = seen.seqs[-1] if seen.seqs else None
                out.append(f"{sub.name} {channel}: last {last}, missing {ranges[:20]}, gap notices {gaps[:20]}")
        return out

    def lines(self) -> list[str]:
        o, p = self.options, self.producer
        assert p is not None
        subs = sum(len(s.seen) for s in self.subscribers)
        out = [
            f"{self.published:,} signals on {o.channels} channels through {o.replicas} replicas in "
            f"{self.seconds_publishing:.1f} s ({self.published / max(self.seconds_publishing, 1e-9):,.0f}/s); "
            f"batches of {o.batch}; {len(self.subscribers)} subscribers, {subs} subscriptions",
            f"producer: {p.retries} retried requests, {p.duplicates} publications answered duplicate by a retry, "
            f"{p.wrong_seq} acknowledged with an unexpected seq; its last batch sent again: {p.resent[1]} of "
            f"{p.resent[0]} answered duplicate with their first seq",
        ]
        for outage in self.outages:
            out.append(
                f"  {outage.what} SIGKILLed at {outage.killed:.1f} s ({outage.at_percent} % published); "
                + "; ".join(outage.steps)
            )
        for sub in self.subscribers:
            c = self.counts(sub)
            out.append(
                f"  {sub.name:<6} on replica {sub.home.n}{' +failover' if sub.fails_over else ' only    '} "
                f"{len(sub.seen)} ch: received {c['received']:>7,}, lost {c['lost']}, dup {c['duplicated']}, "
                f"out of order {c['out_of_order']}, gaps {c['gaps']}, reconnects {sub.client.reconnects}, "
                f"repeats dropped {sub.client.repeats}" + (f", errors {sub.errors}" if sub.errors else "")
            )
        t = self.totals()
        reconnects = sum(s.client.reconnects for s in self.subscribers)
        out.append(
            f"TOTAL received {t['received']:,}: lost {t['lost']}, duplicated {t['duplicated']}, "
            f"out of order {t['out_of_order']}, gap notices {t['gaps']}, wrong payloads {t['wrong_payload']}, "
            f"reconnects {reconnects}, repeats dropped by the SDK {sum(s.client.repeats for s in self.subscribers)}"
        )
        groups = [
            ("all subscribers", self.subscribers),
            ("failing over", [s for s in self.subscribers if s.fails_over]),
            ("staying with their replica", [s for s in self.subscribers if not s.fails_over]),
        ]
        for label, group in groups:
            latencies = [x for s in group for seen in s.seen.values() for x in seen.latencies]
            if len(latencies) > 1:
                q = statistics.quantiles(latencies, n=100, method="inclusive")
                out.append(
                    f"publish request → subscriber, {label}: p50 {q[49] * 1000:.0f} ms, "
                    f"p99 {q[98] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
                )
        out.append(f"drained: {self.drained}; wall time {self.seconds_total:.1f} s")
        out.extend(f"PROBLEM: {problem}" for problem in self.problems)
        out.append("PASS: 0 lost, 0 duplicated, 0 out of order" if self.ok else "FAIL")
        return out


async def until(done: Callable[[], bool], seconds: float, poll: float = 0.05) -> bool:
    """Poll `done` until it holds (True) or `seconds` pass (False): what it reads belongs to other tasks."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(poll)
    return True


async def make_token(database_url: str) -> str:
    from fintrack.auth import queries as users
    from fintrack.auth import service as auth
    from fintrack.auth.scopes import Scope
    from fintrack.db import Database

    db = Database.connect(database_url, pool_size=1)
    try:
        async with db.sessionmaker() as session, session.begin():
            user = await users.user_by_email(session, EMAIL)
            if user is None:
                user = await auth.create_user(session, EMAIL, "chaos password that is long enough")
            scopes = [Scope.hub_publish, Scope.hub_subscribe, Scope.hub_history]
            return (await auth.create_token(session, user, "hub chaos", scopes))[1]
    finally:
        await db.close()


async def chaos(report: Report, redis: Redis, replicas: list[Replica], started: float) -> None:
    """Kill and restart at the planned fractions of the publications: Redis, a replica, then (round 2) both."""
    o, producer = report.options, report.producer
    assert producer is not None
    plan: list[tuple[float, bool, Replica | None]] = [(0.25, True, None), (0.5, False, replicas[1 % len(replicas)])]
    if o.rounds > 1:
        plan.append((0.75, True, replicas[2 % len(replicas)]))
    for fraction, kill_redis, replica in plan:
        await until(lambda fraction=fraction: producer.acked >= fraction * o.signals, float("inf"))
        names = [n for n, dead in (("Redis", kill_redis), (f"replica {replica and replica.n}", replica)) if dead]
        outage = Outage(" and ".join(names), round(100 * producer.acked / o.signals), time.monotonic() - started)
        report.outages.append(outage)
        if kill_redis:
            redis.kill()
        if replica is not None:
            replica.kill()
        await asyncio.sleep(o.outage)
        if replica is not None:  # first, while Redis may still be down: a replica must start without it
            replica.start()
            outage.steps.append(f"replica {replica.n} started at {time.monotonic() - started:.1f} s")
            await replica.ready()
            outage.steps.append(f"ready at {time.monotonic() - started:.1f} s")
        if kill_redis:
            outage.steps.append(f"Redis started at {time.monotonic() - started:.1f} s")
            await asyncio.to_thread(redis.start)
            outage.steps.append(f"answering at {time.monotonic() - started:.1f} s")


async def run(options: Options) -> Report:
    """Start Redis and the replicas, publish, kill and restart, drain; everything started is stopped at the end."""
    assert options.database_url, "run() needs a migrated database"
    report = Report(options)
    started = time.monotonic()
    redis = Redis(options.workdir)
    replicas = [Replica(n, options.workdir, options.database_url, redis.url) for n in range(options.replicas)]
    tasks: list[asyncio.Task[None]] = []
    try:
        redis.start()
        token = await make_token(options.database_url)
        for replica in replicas:
            replica.start()
        await asyncio.gather(*(r.ready() for r in replicas))
        tag = time.strftime("%H%M%S")
        channels = [f"signals.chaos{tag}.c{n}" for n in range(options.channels)]
        for r in replicas:
            for k in range(options.subscribers):
                n = r.n * options.subscribers + k
                mine = [channels[(n + j) % len(channels)] for j in range(1 + n % 3)]
                others = [x for x in replicas if x is not r] if k % 2 else []
                report.subscribers.append(Subscriber(f"s{n}", r, others, token, mine))
        tasks = [asyncio.create_task(s.follow(c)) for s in report.subscribers for c in s.seen]
        await asyncio.sleep(0.5)  # let them subscribe: the first seqs then arrive live, the rest by replay
        producer = report.producer = Producer([r.base for r in replicas], token, options)
        quotas = [
            options.signals // len(channels) + (i < options.signals % len(channels)) for i in range(len(channels))
        ]
        t0 = time.monotonic()
        chaos_task = asyncio.create_task(chaos(report, redis, replicas, t0))
        await asyncio.gather(*(producer.channel(c, q, t0) for c, q in zip(channels, quotas, strict=True)))
        report.seconds_publishing = time.monotonic() - t0
        report.published = producer.acked
        await producer.resend(channels[0])
        try:
            await chaos_task
        except RuntimeError as exc:  # a replica that does not come back: report it, and check the others
            report.problems.append(str(exc))
        last = producer.last
        report.drained = await until(lambda: all(s.caught_up(last) for s in report.subscribers), options.drain_timeout)
        await asyncio.sleep(0.5)  # anything sent after the last seq (a duplicate) is counted too
        for sub in report.subscribers:
            report.problems.extend(f"{sub.name} {e}" for e in sub.errors)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sub in report.subscribers:
            await sub.client.close()
        for replica in replicas:
            replica.stop()
        redis.kill()
    report.seconds_total = time.monotonic() - started
    return report


def parse_args() -> argparse.Namespace:
    d = Options()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--signals", type=int, default=d.signals, help=f"signals in all (default {d.signals:,})")
    p.add_argument("--channels", type=int, default=d.channels, help=f"channels (default {d.channels})")
    p.add_argument("--replicas", type=int, default=d.replicas, help=f"hub replicas (default {d.replicas})")
    p.add_argument("--subscribers", type=int, default=d.subscribers, help="subscribers per replica (default 4)")
    p.add_argument("--batch", type=int, default=d.batch, help=f"publications per request (default {d.batch})")
    p.add_argument("--rate", type=float, default=d.rate, help=f"signals/s in all (default {d.rate:,.0f})")
    p.add_argument("--outage", type=float, default=d.outage, help=f"seconds each kill lasts (default {d.outage})")
    p.add_argument("--rounds", type=int, choices=(1, 2), default=d.rounds, help="2 adds Redis + a replica at 75 %%")
    p.add_argument("--drain-timeout", type=float, default=d.drain_timeout, help="seconds to wait for subscribers")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "chaos", help="logs and the embedded database")
    return p.parse_args()


def main() -> None:
    from fintrack import migrate, pgserver

    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL")
    if database_url is None:
        pgserver.start(args.out / "data", database="fintrack")
        database_url = pgserver.create_database("hub_chaos")
    migrate.upgrade(database_url)
    for old in args.out.glob("*.log"):
        old.unlink()
    options = Options(
        **{k: v for k, v in vars(args).items() if k != "out"}, database_url=database_url, workdir=args.out
    )
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; logs in {args.out}")
    report = asyncio.run(run(options))
    pgserver.release()
    print("\n".join(report.lines()))
    (args.out / "details.txt").write_text("\n".join(report.details()) + "\n")
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
