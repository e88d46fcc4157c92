"""Backup benchmark: `backup run` and `backup verify` (a full restore into a scratch database, compared with the
manifest) of a book holding 1,000,000 transactions, on the embedded PostgreSQL, uploading to a local S3 server.

    python bench/backup_bench.py                       # the run recorded in docs/benchmarks.md (goal: each ≤ 60 s)
    python bench/backup_bench.py --rows 20000          # a smoke run
    python bench/backup_bench.py --restore             # also time a full `backup restore` (safety backup + swap)

The seeded database is kept under bench/out/backup-rows-N/ and reused by later runs (--fresh rebuilds it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from ledger_bench import seed
from pyrage import x25519

from fintrack import migrate, pgserver
from fintrack.backup import pgtools, service
from fintrack.backup.manifest import STABLE_OUTPUT, table_checksums
from fintrack.db import Database
from fintrack.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 60


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000, help="transactions in the book (default 1,000,000)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="where the bench data lives")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--fresh", action="store_true", help="delete and seed the database again")
    p.add_argument("--no-s3", action="store_true", help="no upload (local copies only)")
    p.add_argument("--restore", action="store_true", help="also time a full restore (safety backup, swap)")
    p.add_argument("--checksums", action="store_true", help="also time checksum methods on the transactions table")
    p.add_argument("--compression", type=int, default=None, help="pg_dump gzip level [default: BACKUP_COMPRESSION]")
    return p.parse_args()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_s3(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """moto's S3 server on a loopback port: the upload is real HTTP, the storage is its memory."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{endpoint}/moto-api/", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    import boto3

    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="b", aws_secret_access_key="b"
    ).create_bucket(Bucket="bench")
    return proc, endpoint


def compare_checksums(url: str) -> None:
    """The manifest's order-independent sum of row md5s against the obvious md5 of string_agg ordered by id."""
    with psycopg.connect(pgtools.libpq_url(url)) as connection:
        connection.execute(STABLE_OUTPUT)
        for label, query in (
            ("sum of row md5s (used)", None),
            (
                "md5(string_agg ORDER BY id)",
                "SELECT md5(string_agg(t::text, E'\\n' ORDER BY id)) FROM transactions t",
            ),
            ("count(*) alone", "SELECT count(*) FROM transactions"),
        ):
            started = time.perf_counter()
            if query is None:
                table_checksums(connection)
            else:
                connection.execute(query).fetchone()
            print(f"  {label:<32} {time.perf_counter() - started:6.2f} s", flush=True)
        print("  (the first line is every table; the others the transactions table alone)")


async def seeded(args: argparse.Namespace, bench_dir: Path, url: str) -> dict[str, Any]:
    marker = bench_dir / "seeded.json"
    if marker.exists():
        meta: dict[str, Any] = json.loads(marker.read_text())
        print(f"reusing {meta['rows']:,} seeded rows (--fresh to rebuild)")
        return meta
    print(f"seeding {args.rows:,} transactions through transactions.service.create_many ...")
    db = Database.connect(url, pool_size=2)
    try:
        meta = await seed(db, args.rows, args.seed)
    finally:
        await db.close()
    marker.write_text(json.dumps(meta, indent=2))
    return meta


def main() -> None:
    args = parse_args()
    bench_dir = args.out / f"backup-rows-{args.rows}"
    if args.fresh and bench_dir.exists():
        shutil.rmtree(bench_dir)
    bench_dir.mkdir(parents=True, exist_ok=True)
    backups = bench_dir / "backups"
    shutil.rmtree(backups, ignore_errors=True)
    url = pgserver.start(bench_dir / "data", database="fintrack")
    migrate.upgrade(url)
    asyncio.run(seeded(args, bench_dir, url))
    with psycopg.connect(pgtools.libpq_url(url)) as connection:
        version = connection.execute("SHOW server_version").fetchone()
        size = connection.execute("SELECT pg_database_size(current_database())").fetchone()
        rows = connection.execute("SELECT count(*) FROM transactions").fetchone()
    assert version and size and rows
    print(
        f"python {sys.version.split()[0]}, PostgreSQL {version[0]} (embedded), {os.cpu_count()} CPUs; "
        f"{rows[0]:,} transactions, database {size[0] / 2**20:,.0f} MiB"
    )
    identity = x25519.Identity.generate()
    (bench_dir / "identity.txt").write_text(f"{identity}\n")
    s3, endpoint = (None, None) if args.no_s3 else start_s3(bench_dir / "moto.log")
    settings = Settings(
        FINTRACK_ENV="test",
        FINTRACK_DATA_DIR=bench_dir / "data",
        DATABASE_URL=url,
        BACKUP_DIR=backups,
        BACKUP_AGE_RECIPIENTS=str(identity.to_public()),
        BACKUP_AGE_IDENTITY_FILE=bench_dir / "identity.txt",
        BACKUP_S3_ENDPOINT=endpoint,
        BACKUP_S3_BUCKET=None if args.no_s3 else "bench",
        BACKUP_S3_ACCESS_KEY_ID="b",
        BACKUP_S3_SECRET_ACCESS_KEY="b",
    )
    if args.compression is not None:
        settings = settings.model_copy(update={"BACKUP_COMPRESSION": args.compression})
    print(f"pg_dump --compress={settings.BACKUP_COMPRESSION}")

    def say(message: str) -> None:
        print(f"    {message}", flush=True)

    results: dict[str, float] = {}
    try:
        if args.checksums:
            print("checksums:")
            compare_checksums(url)
        print("backup run:" + (" (upload to a local S3 server)" if endpoint else ""))
        started = time.perf_counter()
        summary = service.run(settings, url, say=say)
        results["run"] = time.perf_counter() - started
        print(f"  {results['run']:.1f} s; archive {summary.archive_bytes / 2**20:,.1f} MiB, {summary.rows:,} rows")
        print("backup verify:" + (" (from the bucket)" if endpoint else ""))
        started = time.perf_counter()
        verified = service.verify(settings, url, where="remote" if endpoint else "local", say=say)
        results["verify"] = time.perf_counter() - started
        print(f"  {results['verify']:.1f} s; {verified.tables} tables, {verified.rows:,} rows match the manifest")
        if args.restore:
            print("backup restore: (scratch restore, compare, migrate, safety backup, swap)")
            started = time.perf_counter()
            service.restore(settings, url, summary.name, where="local", say=say)
            results["restore"] = time.perf_counter() - started
            print(f"  {results['restore']:.1f} s")
    finally:
        if s3 is not None:
            s3.terminate()
            s3.wait(10)
    print()
    print(f"| step | seconds | goal ≤ {GOAL_SECONDS} s |")
    print("| --- | ---: | --- |")
    for step, seconds in results.items():
        goal = "met" if seconds <= GOAL_SECONDS else "missed"
        print(f"| backup {step} | {seconds:.1f} | {goal if step != 'restore' else '(not a goal)'} |")
    print(f"| archive size | {summary.archive_bytes / 2**20:,.1f} MiB | |")


if __name__ == "__main__":
    main()
