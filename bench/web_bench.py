"""Web UI benchmark: the server time of every page (p50/p95) on the ledger bench's 1M-transaction book, and the
JavaScript the pages ship (gzip).

    python bench/web_bench.py                          # 1,000,000 rows, 30 requests per page
    python bench/web_bench.py --rows 20000 --runs 5    # a smoke run

The book is the one bench/ledger_bench.py seeds and keeps under bench/out/rows-N/ (seeded the same way when
missing), with thirty monthly subscriptions added and detected once, so the dashboard lists bills due. The app
runs in this process and is called through httpx's ASGI transport, logged in through the login form: each figure
is the whole request as the server handles it — session, book, every query, the template — without the network.
Needs the front-end bundle (`make install`).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_db
import httpx
from ledger_bench import EMAIL, ROOT, percentiles, seed
from recurring_bench import SUBSCRIPTIONS, TODAY
from sqlalchemy import text

from fintrack import pgserver
from fintrack.books.access import access
from fintrack.db import Database
from fintrack.main import create_app
from fintrack.recurring import service as recurring
from fintrack.settings import Settings
from fintrack.web.render import STATIC

TARGET_MS = 150
PASSWORD = "bench password that nobody types"  # bench/ledger_bench.py's user


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000, help="transactions in the book (default 1,000,000)")
    p.add_argument("--runs", type=int, default=30, help="measured requests per page (default 30)")
    p.add_argument("--warmup", type=int, default=3, help="unmeasured requests per page first (default 3)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="where the bench data lives")
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args()


def shipped_javascript() -> tuple[int, int]:
    raw = (STATIC / "app.js").read_bytes()
    return len(raw), len(gzip.compress(raw, 9))


async def pages(client: httpx.AsyncClient, meta: dict[str, Any]) -> list[tuple[str, str]]:
    """The pages to time, with real ids and a deep cursor taken from the book itself."""
    account = meta["accounts"][0]
    listing = (await client.get("/transactions")).text
    tx = re.search(r'href="/transactions/(\d+)"', listing)
    older = re.search(r'href="(/transactions\?cursor=[^"]+)"', listing)
    register = (await client.get(f"/accounts/{account}")).text
    register_older = re.search(r'href="(/accounts/\d+\?cursor=[^"]+)"', register)
    category = next(iter(meta["categories"].values()))
    found = [
        ("dashboard", "/"),
        ("accounts", "/accounts"),
        ("register, newest", f"/accounts/{account}"),
        ("transactions, newest", "/transactions"),
        ("transactions, search 'padaria'", "/transactions?q=padaria"),
        ("transactions, search 'sao joao' (accents)", "/transactions?q=sao+joao"),
        ("transactions, one category", f"/transactions?category={category}"),
        ("transactions, uncategorized", "/transactions?uncategorized=1"),
        ("transactions, amount range", "/transactions?min=-500&max=-100"),
        ("imports", "/imports"),
        ("rules", "/rules"),
        ("budgets", "/budgets"),
        ("recurring", "/recurring"),
        ("reports, last 12 months", "/reports"),
        ("signals", "/signals"),
        ("settings", "/settings"),
    ]
    if tx:
        found.append(("one transaction", f"/transactions/{tx.group(1)}"))
    if older:
        found.append(("transactions, second page", older.group(1).replace("&amp;", "&")))
    if register_older:
        found.append(("register, second page (running balance)", register_older.group(1).replace("&amp;", "&")))
    return found


async def with_series(db: Database, meta: dict[str, Any]) -> None:
    """Thirty monthly subscriptions over two years, detected once and kept: the dashboard and /recurring then show
    bills due as on a lived-in book (the ledger's merchants are random, so they form no series of their own)."""
    async with db.sessionmaker() as session, session.begin():
        book = await access(session, meta["user_id"], meta["book_id"], None)
        if await session.scalar(text("SELECT count(*) FROM recurring_series WHERE book_id = :b"), {"b": book.id}):
            return
        params = {"book_id": book.id, "accounts": meta["accounts"][:3], "today": TODAY}
        await session.execute(SUBSCRIPTIONS, params)
        started = time.perf_counter()
        found = await recurring.detect(session, book)
        print(f"detected {found.found} series in {time.perf_counter() - started:.1f} s (once; kept)", flush=True)


async def run(args: argparse.Namespace) -> None:
    bench_dir = args.out / f"rows-{args.rows}"
    db, meta = await bench_db.opened(bench_dir, lambda db: seed(db, args.rows, args.seed), pool_size=4)
    await with_series(db, meta)
    async with db.engine.connect() as conn:
        server = await conn.scalar(text("SHOW server_version"))
    print(f"python {sys.version.split()[0]}, PostgreSQL {server} (embedded)")
    settings = Settings(FINTRACK_DATA_DIR=Path(tempfile.mkdtemp()), WORKER_IN_PROCESS=False, LOG_LEVEL="WARNING")
    app = create_app(settings, database=db)
    raw, packed = shipped_javascript()
    print(f"JavaScript shipped: {raw / 1024:.0f} KiB, {packed / 1024:.0f} KiB gzip (target <= 400 KB compressed)")
    results = []
    transport = httpx.ASGITransport(app=app)
    # The app's own start-up and shutdown, as uvicorn runs them (httpx's transport does not).
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        login = await client.post("/login", data={"email": EMAIL, "password": PASSWORD})
        assert login.status_code == 303, login.text[:300]
        print(f"{args.runs} requests per page after {args.warmup} warm-up, in-process (server time)")
        for label, path in await pages(client, meta):
            samples = []
            for n in range(args.warmup + args.runs):
                started = time.perf_counter()
                answer = await client.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
                if n >= args.warmup:
                    samples.append(elapsed)
            p50, p95, _ = percentiles(samples)
            results.append({"page": label, "path": path, "p50": p50, "p95": p95, "max": max(samples)})
            print(
                f"  {label:<48} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (mean {statistics.mean(samples):.1f})", flush=True
            )
    await db.close()
    pgserver.release()
    report = {"rows": meta["rows"], "javascript_bytes": raw, "javascript_gzip_bytes": packed, "pages": results}
    (bench_dir / "web.json").write_text(json.dumps(report, indent=2))
    print(f"\n| page ({meta['rows']:,} transactions in one book) | p50 | p95 | target | |")
    print("| --- | ---: | ---: | --- | --- |")
    for row in results:
        ok = "ok" if row["p95"] <= TARGET_MS else "MISSED"
        print(f"| {row['page']} | {row['p50']:.1f} ms | {row['p95']:.1f} ms | p95 <= {TARGET_MS} ms | {ok} |")


def main() -> None:
    asyncio.run(run(parse_args()))


if __name__ == "__main__":
    main()
