"""Reports benchmark: each report's server time (p50/p95) on the ledger bench's 1M-transaction book.

    python bench/reports_bench.py                      # 1,000,000 rows, 50 runs per scenario
    python bench/reports_bench.py --rows 20000 --runs 10   # a smoke run

The book is the one bench/ledger_bench.py seeds and keeps under bench/out/rows-N/ (seeded here the same way when
missing). Each run calls the service function in a fresh session from the pool, as a request would, and builds
the CSV too when the scenario says so: the time is the server's, without HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ledger_bench import ROOT, book_access, percentiles, seed
from ledger_data import END, YEARS
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack import migrate, pgserver
from fintrack.books.access import BookAccess
from fintrack.db import Database
from fintrack.reports import export
from fintrack.reports import service as reports

TARGET_MS = 100
YEAR_AGO = dt.date(END.year - 1, END.month, 1)
Call = Callable[[AsyncSession, BookAccess], Awaitable[Any]]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000, help="transactions in the book (default 1,000,000)")
    p.add_argument("--runs", type=int, default=50, help="measured runs per scenario (default 50)")
    p.add_argument("--warmup", type=int, default=5, help="unmeasured runs per scenario first (default 5)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="where the bench data lives")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--explain", action="store_true", help="print each report query's plan (EXPLAIN ANALYZE)")
    return p.parse_args()


def scenarios(accounts: list[int]) -> list[tuple[str, Call]]:
    start = END - dt.timedelta(days=365 * YEARS)
    card = accounts[:1]
    two = accounts[1:3]
    return [
        ("cashflow, last 12 months", lambda s, b: reports.cashflow(s, b, YEAR_AGO, END)),
        ("cashflow, 12 months, one account", lambda s, b: reports.cashflow(s, b, YEAR_AGO, END, card)),
        ("cashflow, whole history (12 years)", lambda s, b: reports.cashflow(s, b, start, END)),
        ("cashflow, 12 months, as CSV", lambda s, b: _csv(reports.cashflow(s, b, YEAR_AGO, END), export.cashflow_csv)),
        ("category trends, last 12 months", lambda s, b: reports.category_trends(s, b, YEAR_AGO, END)),
        ("category trends, 12 months, two accounts", lambda s, b: reports.category_trends(s, b, YEAR_AGO, END, two)),
        (
            "category trends, income, 12 months",
            lambda s, b: reports.category_trends(s, b, YEAR_AGO, END, kind="income"),
        ),
        ("category trends, whole history", lambda s, b: reports.category_trends(s, b, start, END)),
        ("categories, this month", lambda s, b: reports.by_category(s, b, END.replace(day=1), END)),
        ("categories, last 12 months", lambda s, b: reports.by_category(s, b, YEAR_AGO, END)),
        ("net worth, last 12 months", lambda s, b: reports.net_worth(s, b, YEAR_AGO, END)),
        ("net worth, whole history", lambda s, b: reports.net_worth(s, b, start, END)),
        (
            "net worth, 12 months to a month's end, one account",
            lambda s, b: reports.net_worth(s, b, YEAR_AGO, dt.date(2026, 10, 31), card),
        ),
        ("balances, today", lambda s, b: reports.balances(s, b, None)),
    ]


async def _csv(report: Awaitable[Any], to_csv: Callable[[Any], str]) -> str:
    return to_csv(await report)


async def measure(db: Database, book: BookAccess, call: Call, runs: int, warmup: int) -> list[float]:
    samples = []
    for n in range(warmup + runs):
        started = time.perf_counter()
        async with db.sessionmaker() as session, session.begin():
            await call(session, book)
        if n >= warmup:
            samples.append((time.perf_counter() - started) * 1000)
    return samples


async def explain(db: Database, book: BookAccess) -> None:
    """The plans of the report queries, to see which index each one uses."""
    async with db.sessionmaker() as session, session.begin():
        await session.execute(text("SET LOCAL jit = off"))
        original = session.execute

        async def explained(statement: Any, params: Any = None, **kw: Any) -> Any:
            sql = str(statement.compile(compile_kwargs={}))
            if "transactions" in sql:
                plan = await original(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}"), params)
                print("\n".join(row[0] for row in plan), end="\n\n")
            return await original(statement, params, **kw)

        session.execute = explained  # type: ignore[method-assign]
        await reports.cashflow(session, book, YEAR_AGO, END)
        await reports.category_trends(session, book, YEAR_AGO, END)
        await reports.net_worth(session, book, YEAR_AGO, END)


async def run(args: argparse.Namespace) -> None:
    bench_dir = args.out / f"rows-{args.rows}"
    data_dir = bench_dir / "data"
    marker = bench_dir / "seeded.json"
    bench_dir.mkdir(parents=True, exist_ok=True)
    url = pgserver.start(data_dir, database="fintrack")
    migrate.upgrade(url)
    db = Database.connect(url, pool_size=2)
    async with db.engine.connect() as conn:
        server = await conn.scalar(text("SHOW server_version"))
    print(f"bench data: {bench_dir}")
    print(f"python {sys.version.split()[0]}, PostgreSQL {server} (embedded)")
    if marker.exists():
        meta = json.loads(marker.read_text())
        print(f"reusing {meta['rows']:,} seeded rows")
    else:
        print(f"seeding {args.rows:,} transactions (the ledger bench's book) ...")
        meta = await seed(db, args.rows, args.seed)
        marker.write_text(json.dumps(meta, indent=2))
    book = await book_access(db, meta)
    if args.explain:
        await explain(db, book)
    print(f"{args.runs} runs per scenario after {args.warmup} warm-up, in-process service calls (server time)")
    results = []
    for label, call in scenarios(meta["accounts"]):
        samples = await measure(db, book, call, args.runs, args.warmup)
        p50, p95, _ = percentiles(samples)
        results.append({"scenario": label, "n": len(samples), "p50": p50, "p95": p95, "max": max(samples)})
        print(f"  {label:<52} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (mean {statistics.mean(samples):.1f})", flush=True)
    await db.close()
    pgserver.release()
    (bench_dir / "reports.json").write_text(json.dumps({"rows": meta["rows"], "reports": results}, indent=2))
    print(f"\n| report ({meta['rows']:,} transactions in one book) | p50 | p95 | target | |")
    print("| --- | ---: | ---: | --- | --- |")
    for row in results:
        ok = "ok" if row["p95"] <= TARGET_MS else "MISSED"
        print(f"| {row['scenario']} | {row['p50']:.1f} ms | {row['p95']:.1f} ms | p95 <= {TARGET_MS} ms | {ok} |")


def main() -> None:
    asyncio.run(run(parse_args()))


if __name__ == "__main__":
    main()
