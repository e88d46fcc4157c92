"""Ledger benchmark: a 1M-transaction book served by a real `fintrack serve`; bulk insert; cold start.

    python bench/ledger_bench.py                          # the full run recorded in docs/benchmarks.md
    python bench/ledger_bench.py --rows 20000 --requests 20   # a smoke run, under a minute

The seeded database is kept under bench/out/rows-N/ and reused by later runs (--fresh rebuilds it).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from ledger_data import ACCOUNTS, END, YEARS, Generator
from sqlalchemy import text

from fintrack import migrate, pgserver
from fintrack.auth import queries as users
from fintrack.auth import service as auth
from fintrack.auth.scopes import Scope
from fintrack.books.access import BookAccess, access
from fintrack.db import Database
from fintrack.ledger import service as ledger
from fintrack.ledger.models import AccountType
from fintrack.transactions import service as transactions

ROOT = Path(__file__).resolve().parents[1]
EMAIL = "bench@fintrack.local"
SECRET = "bench-secret-key-that-is-long-enough-0123456789"
SEED_BATCH = 50_000
READY_POLL = 0.02
PHASES = ("api", "bulk", "start")
API_P95_MS, BULK_SECONDS, START_SECONDS = 50, 10, 5


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000, help="transactions in the book (default 1,000,000)")
    p.add_argument("--requests", type=int, default=200, help="measured requests per API scenario (default 200)")
    p.add_argument("--warmup", type=int, default=None, help="unmeasured requests per scenario first (default 10%%)")
    p.add_argument("--bulk", type=int, default=None, help="rows of the bulk insert (default rows/10, at most 100,000)")
    p.add_argument("--starts", type=int, default=3, help="cold starts of `fintrack serve` to time (default 3)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="where the bench data lives")
    p.add_argument("--only", default=",".join(PHASES), help="comma-separated phases to run (api, bulk, start)")
    p.add_argument("--seed", type=int, default=42)
    reuse = p.add_mutually_exclusive_group()
    reuse.add_argument("--reuse", dest="fresh", action="store_false", help="keep a seeded database (default)")
    reuse.add_argument("--fresh", dest="fresh", action="store_true", help="delete and seed the database again")
    p.set_defaults(fresh=False)
    args = p.parse_args()
    args.phases = set(args.only.split(",")) - {""}
    if args.phases - set(PHASES):
        p.error(f"--only takes {', '.join(PHASES)}")
    if args.bulk is None:
        args.bulk = min(100_000, max(1000, args.rows // 10))
    return args


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94], q[98]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fintrack_env(data_dir: Path, port: int, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_URL")}
    env.update(
        FINTRACK_ENV="production",
        FINTRACK_DATA_DIR=str(data_dir),
        SECRET_KEY=SECRET,
        HOST="127.0.0.1",
        PORT=str(port),
        BASE_URL=f"http://127.0.0.1:{port}",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> float:
    """Poll /readyz every 20 ms; return the seconds until the first 200."""
    started = time.perf_counter()
    with httpx.Client(timeout=1) as client:
        while time.perf_counter() - started < timeout:
            if proc.poll() is not None:
                raise SystemExit(f"fintrack serve exited with {proc.returncode}; see its log under bench/out")
            try:
                if client.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(READY_POLL)
    raise SystemExit(f"fintrack serve was not ready within {timeout} s")


@contextmanager
def serve(data_dir: Path, log: Path, database_url: str | None) -> Iterator[tuple[int, float]]:
    """A `fintrack serve` subprocess; yields (port, seconds from spawn to a 200 from /readyz)."""
    port = free_port()
    started = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "fintrack"), "serve"],
            env=fintrack_env(data_dir, port, database_url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(port, proc)
        yield port, time.perf_counter() - started
    finally:
        # SIGTERM is a graceful stop: the embedded server (if this process started it) stops at exit.
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# Seeding and bulk insert (through the service layer, in-process)


async def _book(db: Database) -> tuple[BookAccess, dict[str, Any]]:
    async with db.sessionmaker() as session, session.begin():
        user = await auth.create_user(session, EMAIL, "bench password that nobody types", book_name="Bench")
        book = await access(session, user.id, None, user.default_book_id)
        accounts = [
            (await ledger.create_account(session, book, name, kind, "BRL", "1000.00")).id for name, kind, _ in ACCOUNTS
        ]
        categories = {c.name: c.id for c in await ledger.categories(session, book) if c.parent_id is not None}
    return book, {"user_id": user.id, "book_id": book.id, "accounts": accounts, "categories": categories}


async def seed(db: Database, rows: int, seed_value: int) -> dict[str, Any]:
    book, meta = await _book(db)
    generator = Generator(meta["accounts"], meta["categories"], seed_value)
    started = time.perf_counter()
    done = 0
    while done < rows:
        batch = list(generator.items(min(SEED_BATCH, rows - done)))
        async with db.sessionmaker() as session, session.begin():
            await transactions.create_many(session, book, batch)
        done += len(batch)
        elapsed = time.perf_counter() - started
        print(f"  seeded {done:,}/{rows:,} rows ({done / elapsed:,.0f} rows/s)", flush=True)
    # A book that has lived for years has been vacuumed and analysed by autovacuum; do it now, not mid-run.
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM (ANALYZE) transactions"))
        await conn.execute(text("VACUUM (ANALYZE)"))
        await conn.execute(text("CHECKPOINT"))
    meta.update(rows=rows, seed=seed_value, seconds=round(time.perf_counter() - started, 1))
    return meta


async def book_access(db: Database, meta: dict[str, Any]) -> BookAccess:
    async with db.sessionmaker() as session, session.begin():
        return await access(session, meta["user_id"], meta["book_id"], None)


async def new_token(db: Database, meta: dict[str, Any]) -> str:
    async with db.sessionmaker() as session, session.begin():
        user = await users.user_by_id(session, meta["user_id"])
        assert user is not None
        return (await auth.create_token(session, user, "bench", [Scope.api]))[1]


async def bulk(db: Database, meta: dict[str, Any], rows: int, seed_value: int) -> dict[str, float]:
    book = await book_access(db, meta)
    async with db.sessionmaker() as session, session.begin():
        account = await ledger.create_account(
            session, book, f"Bulk {time.time_ns()}", AccountType.checking, "BRL", "0.00"
        )
    generator = Generator(meta["accounts"], meta["categories"], seed_value + 1)
    started = time.perf_counter()
    items = list(generator.items(rows, account_id=account.id))
    built = time.perf_counter() - started
    started = time.perf_counter()
    async with db.sessionmaker() as session, session.begin():
        ids = await transactions.create_many(session, book, items)
    seconds = time.perf_counter() - started
    assert len(ids) == rows
    # Leave the book as it was, so the next run measures the same 1M rows.
    async with db.sessionmaker() as session, session.begin():
        await session.execute(text("DELETE FROM transactions WHERE account_id = :a"), {"a": account.id})
        await session.execute(text("DELETE FROM accounts WHERE id = :a"), {"a": account.id})
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "build_seconds": built}


# The API scenarios


class Scenarios:
    """Request makers; each returns (path, params) for the next measured request."""

    def __init__(self, client: httpx.Client, rnd: random.Random) -> None:
        self.client, self.rnd = client, rnd
        self.accounts = [a["id"] for a in client.get("/api/v1/accounts").raise_for_status().json()]
        categories = client.get("/api/v1/categories").raise_for_status().json()
        self.parents = [c["id"] for c in categories if c["parent_id"] is None]
        self.leaves = [c["id"] for c in categories if c["parent_id"] is not None]
        self.start = END - dt.timedelta(days=365 * YEARS)
        self.cursors: dict[str, tuple[dict[str, Any], str | None, int]] = {}

    def _window(self) -> dict[str, str]:
        days = self.rnd.choice([31, 92, 365])
        begin = self.start + dt.timedelta(days=self.rnd.randrange((END - self.start).days - days))
        return {"date_from": begin.isoformat(), "date_to": (begin + dt.timedelta(days=days)).isoformat()}

    def filtered(self) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {"account_id": self.rnd.choice(self.accounts), "amount_max": "-10.00", "limit": 50}
        return "/api/v1/transactions", {**params, **self._window()}

    def by_category(self) -> tuple[str, dict[str, Any]]:
        category = self.rnd.choice(self.parents if self.rnd.random() < 0.5 else self.leaves)
        params: dict[str, Any] = {"category_id": category, "limit": 50}
        if self.rnd.random() < 0.5:
            params.update(self._window())
        if self.rnd.random() < 0.3:
            params["account_id"] = self.rnd.choice(self.accounts)
        return "/api/v1/transactions", params

    def _next_page(self, key: str, first: Callable[[], tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
        """Page 2, 3, ... of one query; a new query after page 5 or when the last one runs out."""
        params, cursor, page = self.cursors.get(key, ({}, None, 0))
        tries = 0
        while cursor is None or page >= 5:
            tries += 1
            if tries > 100:
                raise SystemExit("no query has a second page: seed more --rows")
            _, params = first()
            cursor = self.client.get("/api/v1/transactions", params=params).raise_for_status().json()["next_cursor"]
            page = 1
        self.cursors[key] = (params, None, page + 1)  # the measured response fills in the next cursor
        return "/api/v1/transactions", {**params, "cursor": cursor}

    def filtered_next(self) -> tuple[str, dict[str, Any]]:
        return self._next_page("filtered", self.filtered)

    def search_next(self) -> tuple[str, dict[str, Any]]:
        return self._next_page("search", lambda: ("", {"q": "mercado", "limit": 50}))

    def remember(self, key: str, response: httpx.Response) -> None:
        if key in self.cursors:
            params, _, page = self.cursors[key]
            self.cursors[key] = (params, response.json()["next_cursor"], page)

    def as_of(self) -> tuple[str, dict[str, Any]]:
        day = self.start + dt.timedelta(days=self.rnd.randrange((END - self.start).days))
        return "/api/v1/reports/balances", {"as_of": day.isoformat()}


def scenario_table(s: Scenarios) -> list[tuple[str, str | None, Callable[[], tuple[str, dict[str, Any]]]]]:
    """(label, cursor key, request maker)."""
    q = "/api/v1/transactions"
    return [
        ("a. account + dates + amount_max, page 1", None, s.filtered),
        ("a. category (+dates/account), page 1", None, s.by_category),
        ("a. account + dates + amount_max, page 2-5", "filtered", s.filtered_next),
        ("b. q=mercado", None, lambda: (q, {"q": "mercado", "limit": 50})),
        ("b. q=MERCADO", None, lambda: (q, {"q": "MERCADO", "limit": 50})),
        ("b. q=café", None, lambda: (q, {"q": "café", "limit": 50})),
        ("b. q=mercado, page 2-5", "search", s.search_next),
        ("b. (extra) q=pao acucar, two words", None, lambda: (q, {"q": "pao acucar", "limit": 50})),
        ("b. (extra) q=netflix, a rare word", None, lambda: (q, {"q": "netflix", "limit": 50})),
        ("b. (extra) q=xyzzy, no match", None, lambda: (q, {"q": "xyzzy", "limit": 50})),
        ("c. GET /accounts", None, lambda: ("/api/v1/accounts", {})),
        ("c. GET /reports/balances", None, lambda: ("/api/v1/reports/balances", {})),
        ("c. GET /reports/balances?as_of=past", None, s.as_of),
    ]


def _count(body: Any) -> int:
    """Rows in a response: a page's items, a balance report's accounts, or a plain list."""
    if isinstance(body, dict):
        return len(body.get("items", body.get("accounts", [])))
    return len(body)


def run_api(port: int, token: str, requests: int, warmup: int, seed_value: int) -> list[dict[str, Any]]:
    results = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
        scenarios = Scenarios(client, random.Random(seed_value))
        for label, key, make in scenario_table(scenarios):
            samples, sizes = [], []
            for n in range(warmup + requests):
                path, params = make()
                started = time.perf_counter()
                response = client.get(path, params=params)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise SystemExit(f"{label}: {response.status_code} {response.text[:300]}")
                if key:
                    scenarios.remember(key, response)
                if n >= warmup:
                    samples.append(elapsed * 1000)
                    sizes.append(_count(response.json()))
            p50, p95, p99 = percentiles(samples)
            row = {"scenario": label, "n": len(samples), "p50": p50, "p95": p95, "p99": p99, "items": sizes}
            results.append(row)
            print(
                f"  {label:<44} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms"
                f"  (n={len(samples)}, {statistics.mean(sizes):.0f} items/response)",
                flush=True,
            )
    return results


def postgres_running(pgdata: Path) -> bool:
    return (pgdata / "postmaster.pid").exists()


def run_starts(data_dir: Path, n: int, log: Path) -> list[tuple[float, bool]]:
    results = []
    for i in range(n):
        cold = not postgres_running(data_dir.resolve() / "postgres")
        with serve(data_dir, log, database_url=None) as (_, seconds):
            results.append((seconds, cold))
            print(f"  start {i + 1}: /readyz 200 after {seconds:.2f} s ({'cold' if cold else 'server running'})")
    return results


async def run(args: argparse.Namespace) -> None:
    phases = args.phases
    warmup = args.warmup if args.warmup is not None else max(5, args.requests // 10)
    bench_dir = args.out / f"rows-{args.rows}"
    data_dir = bench_dir / "data"
    marker = bench_dir / "seeded.json"
    if args.fresh and bench_dir.exists():
        shutil.rmtree(bench_dir)
    bench_dir.mkdir(parents=True, exist_ok=True)
    for log in ("serve-api.log", "serve-start.log"):
        (bench_dir / log).unlink(missing_ok=True)
    print(f"bench data: {bench_dir}")

    url = pgserver.start(data_dir, database="fintrack")
    migrate.upgrade(url)
    db = Database.connect(url, pool_size=2)
    async with db.engine.connect() as conn:
        server = await conn.scalar(text("SHOW server_version"))
    print(f"python {sys.version.split()[0]}, PostgreSQL {server} (embedded), {os.cpu_count()} CPUs")
    if marker.exists():
        meta = json.loads(marker.read_text())
        print(f"reusing {meta['rows']:,} seeded rows (--fresh to rebuild)")
    else:
        print(f"seeding {args.rows:,} transactions through transactions.service.create_many ...")
        meta = await seed(db, args.rows, args.seed)
        marker.write_text(json.dumps(meta, indent=2))
    report: dict[str, Any] = {"rows": meta["rows"]}

    if "api" in phases:
        token = await new_token(db, meta)
        print(f"API: {args.requests} requests per scenario after {warmup} warm-up, via a `fintrack serve` process")
        # Blocking calls from here on: the benchmark is a sequential client, nothing else runs in this loop.
        with serve(data_dir, bench_dir / "serve-api.log", database_url=url) as (port, _):
            report["api"] = run_api(port, token, args.requests, warmup, args.seed)
    if "bulk" in phases:
        print(f"bulk: transactions.service.create_many of {args.bulk:,} rows in one transaction, fresh account")
        report["bulk"] = result = await bulk(db, meta, args.bulk, args.seed)
        print(
            f"  {result['rows']:,} rows in {result['seconds']:.2f} s = {result['rows_per_s']:,.0f} rows/s"
            f"  (building the request objects took {result['build_seconds']:.2f} s more)"
        )
    await db.close()
    # Stop the server this process started, so the start-up measurement begins cold.
    pgserver.release()
    if "start" in phases:
        print(f"start: `fintrack serve` on the existing data dir (embedded PostgreSQL), {args.starts} times")
        starts = run_starts(data_dir, args.starts, bench_dir / "serve-start.log")
        report["starts"] = starts
        print(f"  worst: {max(s for s, _ in starts):.2f} s")
    (bench_dir / "report.json").write_text(json.dumps(report, indent=2, default=str))
    print_summary(report)


def print_summary(report: dict[str, Any]) -> None:
    """The figures as a Markdown table, against the targets (docs/benchmarks.md)."""
    print(f"\n| measurement ({report['rows']:,} transactions in one book) | p50 | p95 | p99 | target | |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    for row in report.get("api", []):
        ok = "ok" if row["p95"] <= API_P95_MS else "MISSED"
        print(
            f"| {row['scenario']} | {row['p50']:.1f} ms | {row['p95']:.1f} ms | {row['p99']:.1f} ms"
            f" | p95 <= {API_P95_MS} ms | {ok} |"
        )
    if bulk := report.get("bulk"):
        ok = "n/a (fewer rows)" if bulk["rows"] < 100_000 else "ok" if bulk["seconds"] <= BULK_SECONDS else "MISSED"
        print(
            f"| create_many of {bulk['rows']:,} rows ({bulk['rows_per_s']:,.0f} rows/s) | | {bulk['seconds']:.2f} s |"
            f" | 100,000 in <= {BULK_SECONDS} s | {ok} |"
        )
    if starts := report.get("starts"):
        worst = max(s for s, _ in starts)
        each = ", ".join(f"{s:.2f}" for s, _ in starts)
        ok = "ok" if worst <= START_SECONDS else "MISSED"
        print(f"| `fintrack serve` to /readyz 200 ({each} s) | | worst {worst:.2f} s | | <= {START_SECONDS} s | {ok} |")


def main() -> None:
    asyncio.run(run(parse_args()))


if __name__ == "__main__":
    main()
