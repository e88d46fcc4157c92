"""Import speed: a 100,000-row CSV and a 100,000-transaction OFX through preview, commit and re-import.

Prints seconds per phase and the process's peak memory; run with `.venv/bin/python bench/imports_bench.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import resource
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from fintrack import migrate, pgserver
from fintrack.auth import service as auth
from fintrack.books.access import access
from fintrack.db import Database
from fintrack.imports import service as imports
from fintrack.ledger import service as ledger
from fintrack.ledger.models import AccountType

MERCHANTS = [
    "SUPERMERCADO PAO DE ACUCAR",
    "IFOOD *RESTAURANTE",
    "UBER TRIP",
    "PIX ENVIADO MARIA SILVA",
    "CAFÉ DO PONTO",
    "POSTO IPIRANGA",
    "DROGASIL",
    "MERCADO LIVRE*LOJA",
    "NETFLIX.COM",
    "PADARIA SÃO JOÃO",
]


def rows(n: int, seed: int) -> list[tuple[dt.date, Decimal, str]]:
    rng = random.Random(seed)
    start = dt.date(2015, 1, 1)
    return [
        (
            start + dt.timedelta(days=rng.randrange(3650)),
            Decimal(-rng.randrange(100, 90000)) / 100,
            f"{rng.choice(MERCHANTS)} {rng.randrange(1000)}",
        )
        for _ in range(n)
    ]


def csv_file(data: list[tuple[dt.date, Decimal, str]]) -> bytes:
    lines = ["Data,Valor,Identificador,Descrição"]
    lines += [f"{d:%d/%m/%Y},{a},{i:08d}-bench,{desc}" for i, (d, a, desc) in enumerate(data)]
    return ("\n".join(lines) + "\n").encode()


def ofx_file(data: list[tuple[dt.date, Decimal, str]]) -> bytes:
    head = (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nENCODING:USASCII\nCHARSET:1252\n\n<OFX><BANKMSGSRSV1><STMTTRNRS>"
        "<STMTRS><CURDEF>BRL<BANKACCTFROM><BANKID>260<ACCTID>123<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST>\n"
    )
    body = "".join(
        f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>{d:%Y%m%d}120000[-3:BRT]<TRNAMT>{a}<FITID>{i}<MEMO>{desc}</STMTTRN>\n"
        for i, (d, a, desc) in enumerate(data)
    )
    tail = "</BANKTRANLIST><LEDGERBAL><BALAMT>0<DTASOF>20250101</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    return (head + body + tail).encode("cp1252")


async def measure(db: Database, book_id: int, user_id: int, name: str, fmt: str, data: bytes) -> dict[str, float]:
    async def timed(work):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        async with db.sessionmaker() as session, session.begin():
            result = await work(session)
        return time.perf_counter() - started, result

    async def open_account(session):  # type: ignore[no-untyped-def]
        book = await access(session, user_id, book_id, None)
        return (await ledger.create_account(session, book, name, AccountType.checking, "BRL", "0")).id

    _, account_id = await timed(open_account)

    async def preview(session):  # type: ignore[no-untyped-def]
        book = await access(session, user_id, book_id, None)
        return await imports.preview(session, book, account_id, data, user_id=user_id, filename=f"x.{fmt}")

    preview_s, session_row = await timed(preview)

    async def commit(session):  # type: ignore[no-untyped-def]
        book = await access(session, user_id, book_id, None)
        return await imports.commit(session, book, session_row.id)

    commit_s, committed = await timed(commit)
    again_s, again = await timed(preview)
    return {
        "bytes": len(data),
        "preview": preview_s,
        "new": session_row.summary["new"],
        "commit": commit_s,
        "committed": committed.summary["committed"],
        "reimport": again_s,
        "reimport_new": again.summary["new"],
    }


def fresh_database(out: Path) -> str:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    url = pgserver.start(out, database="imports_bench")
    migrate.upgrade(url)
    return url


async def main(n: int, url: str, formats: list[str]) -> None:
    db = Database.connect(url, pool_size=2)
    async with db.sessionmaker() as session, session.begin():
        user = await auth.create_user(session, "bench@example.com", "bench password 123")
        user_id, book_id = user.id, user.default_book_id
    assert book_id is not None
    data = rows(n, seed=7)
    makers = {"csv": csv_file, "ofx": ofx_file}
    for fmt in formats:
        payload = makers[fmt](data)
        result = await measure(db, book_id, user_id, f"bench {fmt}", fmt, payload)
        print(f"{fmt}: {n:,} rows, {result['bytes'] / 1e6:.1f} MB")
        print(f"  parse + preview {result['preview']:.2f} s ({result['new']:,} new)")
        print(f"  commit          {result['commit']:.2f} s ({result['committed']:,} written)")
        print(f"  re-import       {result['reimport']:.2f} s ({result['reimport_new']:,} new)")
    await db.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory of the process (the generated rows and file included): {peak_mb:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "imports")
    parser.add_argument("--format", choices=["csv", "ofx"], help="one format; by default each in its own process")
    args = parser.parse_args()
    if args.format:
        asyncio.run(main(args.rows, fresh_database(args.out), [args.format]))
    else:
        # One process per format, so each peak-memory figure is that import's alone.
        for fmt in ("csv", "ofx"):
            command = [sys.executable, __file__, "--rows", str(args.rows), "--out", str(args.out), "--format", fmt]
            subprocess.run(command, check=True)
