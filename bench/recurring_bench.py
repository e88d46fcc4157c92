"""Recurring benchmark: detection over a book of 1,000,000 transactions, all within the two-year window.

    python bench/recurring_bench.py                  # 1,000,000 rows
    python bench/recurring_bench.py --rows 100000    # a smoke run

The book is seeded in SQL (generate_series) under bench/out/recurring-N/ and reused; every detection runs in a
transaction that is rolled back, so each run measures the same book. The mix is the hard case for detection:
shops with store numbers (few keys, huge groups), Pix to 20,000 people (many small groups that reach Python),
one-off descriptions (hundreds of thousands of single-row groups), and 30 true monthly subscriptions. After each
detection, `upcoming` is timed as it is right then and again after a month of new rows (1/24 of the book) written
since, which it reads to move series on without a re-run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import bench_db
from sqlalchemy import TextClause, text

from fintrack import pgserver
from fintrack.auth import service as auth
from fintrack.books.access import access
from fintrack.db import Database
from fintrack.ledger import service as ledger
from fintrack.ledger.models import AccountType
from fintrack.recurring import service as recurring

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 22)

_LETTERS = "translate(md5(({x})::text), '0123456789', 'ghijklmnop')"


def _mix(days: int, first: str, last: str) -> TextClause:
    """Rows i = first..last of the mix, dated over the `days` before :today."""
    return text(
        f"""
        INSERT INTO transactions (book_id, account_id, date, amount, currency, description)
        SELECT :book_id, (CAST(:accounts AS bigint[]))[1 + i % 3], CAST(:today AS date) - (i * 7919 % {days})::int,
               -(5 + (i * 104729 % 30000) / 100.0), 'BRL',
               CASE i % 10
                 WHEN 0 THEN 'IFOOD *REST ' || (i % 900)
                 WHEN 1 THEN 'UBER TRIP ' || (i % 97)
                 WHEN 2 THEN 'SUPERMERCADO DIA ' || (i % 300)
                 WHEN 3 THEN 'PADARIA REAL'
                 WHEN 4 THEN 'PIX ENVIADO ' || left({_LETTERS.format(x="i % 20000")}, 12)
                 WHEN 5 THEN 'PIX ENVIADO ' || left({_LETTERS.format(x="i % 20000")}, 12)
                 ELSE 'COMPRA ' || left({_LETTERS.format(x="i")}, 10)
               END
        FROM generate_series({first}, {last}) AS i
        """  # noqa: S608 - constant text; every value is a bound parameter
    )


_SEED = _mix(729, "CAST(1 AS bigint)", ":rows")
# The same mix written after detection, dated in the last month: ids above the scan's, not detected yet.
LATER = _mix(30, "CAST(:from AS bigint) + 1", "CAST(:from AS bigint) + :rows")
SUBSCRIPTIONS = text(
    """
    INSERT INTO transactions (book_id, account_id, date, amount, currency, description)
    SELECT :book_id, (CAST(:accounts AS bigint[]))[1 + s % 3],
           (date_trunc('month', CAST(:today AS date)) - make_interval(months => m))::date
           + (s % 27), -(10 + s), 'BRL', 'ASSINATURA ' || chr(65 + s % 26) || chr(65 + s / 26)
    FROM generate_series(0, 29) AS s, generate_series(0, 23) AS m
    WHERE (date_trunc('month', CAST(:today AS date)) - make_interval(months => m))::date + (s % 27) <= :today
    """
)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000, help="transactions in the book (default 1,000,000)")
    p.add_argument("--runs", type=int, default=3, help="timed detection runs")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    return p.parse_args()


async def _seed(db: Database, rows: int) -> dict[str, Any]:
    async with db.sessionmaker() as session, session.begin():
        user = await auth.create_user(session, "recurring-bench@fintrack.local", "bench password nobody types")
        book = await access(session, user.id, None, user.default_book_id)
        accounts = [
            (await ledger.create_account(session, book, name, AccountType.checking, "BRL", "0")).id
            for name in ("Itaú", "Nubank", "Inter")
        ]
        params = {"book_id": book.id, "accounts": accounts, "today": TODAY}
        await session.execute(_SEED, {**params, "rows": rows})
        await session.execute(SUBSCRIPTIONS, params)
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM (ANALYZE)"))
    return {"user_id": user.id, "book_id": book.id, "rows": rows}


async def run(args: argparse.Namespace) -> None:
    bench_dir = args.out / f"recurring-{args.rows}"
    db, meta = await bench_db.opened(bench_dir, lambda db: _seed(db, args.rows))
    timings: list[float] = []
    upcoming_ms: list[float] = []
    later_ms: list[float] = []
    for _ in range(args.runs):
        async with db.sessionmaker() as session:
            await session.begin()
            book = await access(session, meta["user_id"], meta["book_id"], None)
            started = time.perf_counter()
            summary = await recurring.detect(session, book, today=TODAY)
            seconds = time.perf_counter() - started
            started = time.perf_counter()
            due = await recurring.upcoming(session, book, 30, today=TODAY)
            upcoming_s = time.perf_counter() - started
            # A month of this book's traffic written since (not detected yet): what `upcoming` then reads.
            month = meta["rows"] // 24
            accounts = list(
                await session.scalars(text("SELECT id FROM accounts WHERE book_id = :b ORDER BY id"), {"b": book.id})
            )
            params = {"book_id": book.id, "accounts": accounts, "today": TODAY, "rows": month, "from": meta["rows"]}
            await session.execute(LATER, params)
            started = time.perf_counter()
            later = await recurring.upcoming(session, book, 30, today=TODAY)
            later_s = time.perf_counter() - started
            await session.rollback()
        timings.append(round(seconds, 2))
        upcoming_ms.append(round(upcoming_s * 1000, 1))
        later_ms.append(round(later_s * 1000, 1))
        print(
            f"  detect: {seconds:.2f} s ({summary.scanned_groups:,} candidate groups, {summary.found} series); "
            f"upcoming: {upcoming_s * 1000:.0f} ms ({len(due)} charges), "
            f"after {month:,} new rows: {later_s * 1000:.0f} ms ({len(later)} charges)",
            flush=True,
        )
    report = {
        "rows": meta["rows"],
        "detect_s": timings,
        "upcoming_ms": upcoming_ms,
        "upcoming_after_a_month_ms": later_ms,
        "found": summary.found,
        "groups": summary.scanned_groups,
    }
    (bench_dir / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2), file=sys.stderr)
    await db.close()
    pgserver.release()


def main() -> None:
    asyncio.run(run(parse_args()))


if __name__ == "__main__":
    main()
