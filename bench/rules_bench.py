"""Rules benchmark: the engine (200 rules over 100,000 transactions) and dry run / apply over a large book.

    python bench/rules_bench.py                      # engine, then history over a 1,000,000-row book
    python bench/rules_bench.py --rows 50000         # a smoke run
    python bench/rules_bench.py --only engine        # no database

The seeded book (bench/ledger_data.py's household) is kept under bench/out/rules-N/ and reused; applies run
inside a transaction that is rolled back, so every run measures the same book.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import bench_db
from ledger_data import ACCOUNTS, MERCHANTS, Generator
from sqlalchemy import text

from fintrack import pgserver
from fintrack.auth import service as auth
from fintrack.books.access import BookAccess, access
from fintrack.db import Database
from fintrack.ledger import service as ledger
from fintrack.rules import engine, history
from fintrack.rules.models import Rule
from fintrack.rules.schemas import RuleDraft
from fintrack.transactions import service as transactions

ROOT = Path(__file__).resolve().parents[1]
SEED_BATCH = 50_000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000, help="transactions in the book (default 1,000,000)")
    p.add_argument("--subjects", type=int, default=100_000, help="transactions the engine is timed on")
    p.add_argument("--rules", type=int, default=200, help="rules in the engine's rule set")
    p.add_argument("--only", default="engine,history", help="comma-separated phases: engine, history")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args()


# Engine -------------------------------------------------------------------------------------------------------


def _rule_rows(n: int, rnd: random.Random) -> list[Any]:
    """Rules a household would write: shops and people by name, a few by amount, day or pattern."""
    words = sorted({w.strip("*{}").lower() for m in MERCHANTS for w in m.description.split() if len(w) > 3})
    words = [w for w in words if w.isalpha()]
    rows = []
    for i in range(n):
        kind = i % 10
        if kind < 7:
            field = rnd.choice(["description", "text", "payee"])
            op = rnd.choice(["contains", "contains", "starts_with", "equals"])
            conditions = [{"field": field, "op": op, "value": f"{rnd.choice(words)}{'' if i < len(words) else i}"}]
            if kind == 6:
                conditions.append({"field": "amount", "max": f"-{rnd.randint(5, 300)}.00"})
        elif kind == 7:
            conditions = [
                {"field": "amount", "min": f"-{rnd.randint(300, 900)}.00", "max": "-250.00"},
                {"field": "day_of_month", "start": rnd.randint(1, 28), "end": rnd.randint(1, 28)},
            ]
        elif kind == 8:
            conditions = [{"field": "description", "op": "regex", "value": rf"^{rnd.choice(words)}\b.*\d{{2,}}"}]
        else:
            conditions = [{"field": "direction", "value": "credit"}, {"field": "amount", "min": "5000"}]
        actions: dict[str, Any] = {"category_id": i + 1}
        if i % 25 == 0:
            actions = {"splits": [{"category_id": 1, "percent": "70"}, {"category_id": 2, "percent": "30"}]}
        stored = engine.to_stored(engine.parse({"conditions": conditions, "actions": actions}))
        rows.append(
            SimpleNamespace(id=i + 1, name=f"r{i}", position=i, enabled=True, conditions=stored[0], actions=stored[1])
        )
    return rows


def run_engine(rules: int, subjects: int, seed: int) -> dict[str, Any]:
    rnd = random.Random(seed)
    rows = _rule_rows(rules, rnd)
    started = time.perf_counter()
    rule_set = engine.compile_rules(rows)
    compiled = time.perf_counter() - started
    categories = {m.category: n for n, m in enumerate(MERCHANTS, 1) if m.category} | {"Supermercado": 1}
    generator = Generator(list(range(1, len(ACCOUNTS) + 1)), categories, seed)
    items = [
        engine.Subject(i.account_id, i.date, Decimal(i.amount), "BRL", i.description, i.payee, i.memo)
        for i in generator.items(subjects)
    ]
    started = time.perf_counter()
    matched = sum(1 for s in items if rule_set.first_match(s) is not None)
    seconds = time.perf_counter() - started
    result = {
        "rules": len(rule_set),
        "subjects": subjects,
        "matched": matched,
        "compile_s": round(compiled, 3),
        "seconds": round(seconds, 3),
        "us_per_subject": round(seconds / subjects * 1e6, 2),
    }
    print(
        f"engine: {len(rule_set)} rules compiled in {compiled * 1000:.0f} ms; {subjects:,} transactions in "
        f"{seconds:.2f} s ({result['us_per_subject']} us each), {matched:,} matched"
    )
    return result


# History ------------------------------------------------------------------------------------------------------


async def _seed(db: Database, rows: int, seed: int) -> dict[str, Any]:
    async with db.sessionmaker() as session, session.begin():
        user = await auth.create_user(session, "rules-bench@fintrack.local", "bench password nobody types")
        book = await access(session, user.id, None, user.default_book_id)
        accounts = [
            (await ledger.create_account(session, book, name, kind, "BRL", "0")).id for name, kind, _ in ACCOUNTS
        ]
        categories = {c.name: c.id for c in await ledger.categories(session, book) if c.parent_id is not None}
    generator = Generator(accounts, categories, seed)
    done = 0
    while done < rows:
        batch = list(generator.items(min(SEED_BATCH, rows - done)))
        async with db.sessionmaker() as session, session.begin():
            await transactions.create_many(session, book, batch)
        done += len(batch)
        print(f"  seeded {done:,}/{rows:,}", flush=True)
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM (ANALYZE)"))
    return {
        "user_id": user.id,
        "book_id": book.id,
        "rows": rows,
        "accounts": accounts,
        "category_id": categories["Supermercado"],
    }


DRAFTS: list[tuple[str, dict[str, Any]]] = [
    ("rare text (mercadinho sao jose)", {"conditions": [{"field": "description", "value": "mercadinho são josé"}]}),
    ("common text (supermercado)", {"conditions": [{"field": "text", "value": "supermercado"}]}),
    ("payee equals (Carrefour)", {"conditions": [{"field": "payee", "op": "equals", "value": "carrefour"}]}),
    ("amount range only", {"conditions": [{"field": "amount", "min": "-60.00", "max": "-50.00"}]}),
    ("regex (prefiltered on its word)", {"conditions": [{"field": "description", "op": "regex", "value": r"^uber\b"}]}),
    (
        "any: text or day of month",
        {
            "match": "any",
            "conditions": [{"field": "description", "value": "ifood"}, {"field": "day_of_month", "start": 5, "end": 5}],
        },
    ),
]


def _rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


async def run_history(db: Database, book: BookAccess, category_id: int) -> list[dict[str, Any]]:
    results = []
    for label, draft_doc in DRAFTS:
        draft = RuleDraft.model_validate({**draft_doc, "actions": {"category_id": category_id}})
        async with db.sessionmaker() as session, session.begin():
            started = time.perf_counter()
            dry = await history.dry_run(session, book, draft, only_uncategorized=False, limit=50)
            dry_s = time.perf_counter() - started
        async with db.sessionmaker() as session:
            await session.begin()
            stored = engine.to_stored(draft)
            rule = Rule(book_id=book.id, name=label, position=0, conditions=stored[0], actions=stored[1])
            session.add(rule)
            await session.flush()
            started = time.perf_counter()
            applied = await history.apply(session, book, rule.id, only_uncategorized=False)
            apply_s = time.perf_counter() - started
            await session.rollback()
        row = {
            "rule": label,
            "scanned": dry.scanned,
            "matched": dry.matched,
            "dry_run_s": round(dry_s, 2),
            "apply_changed": applied.changed,
            "apply_s": round(apply_s, 2),
            "max_rss_mb": _rss_mb(),
        }
        print(
            f"  {label}: read {dry.scanned:,}, matched {dry.matched:,}; dry run {dry_s:.2f} s "
            f"(process peak RSS {row['max_rss_mb']} MB), apply {apply_s:.2f} s ({applied.changed:,} changed)"
        )
        results.append(row)
    return results


async def run(args: argparse.Namespace) -> None:
    phases = set(args.only.split(","))
    report: dict[str, Any] = {}
    if "engine" in phases:
        report["engine"] = run_engine(args.rules, args.subjects, args.seed)
    if "history" in phases:
        bench_dir = args.out / f"rules-{args.rows}"
        db, meta = await bench_db.opened(bench_dir, lambda db: _seed(db, args.rows, args.seed))
        async with db.sessionmaker() as session, session.begin():
            book = await access(session, meta["user_id"], meta["book_id"], None)
        print(f"history: {meta['rows']:,} transactions in one book, rule scans in batches of {history.BATCH:,}")
        report["history"] = await run_history(db, book, meta["category_id"])
        await db.close()
        pgserver.release()
        (bench_dir / "report.json").write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str), file=sys.stderr)


def main() -> None:
    asyncio.run(run(parse_args()))


if __name__ == "__main__":
    main()
