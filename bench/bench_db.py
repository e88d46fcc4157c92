"""The benches' databases: one embedded PostgreSQL data dir per bench and size under bench/out, migrated to head,
seeded once (seeded.json records what was made) and reused by later runs."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fintrack import migrate, pgserver
from fintrack.db import Database

Seed = Callable[[Database], Awaitable[dict[str, Any]]]


def _started(bench_dir: Path, pool_size: int) -> tuple[Database, dict[str, Any] | None]:
    bench_dir.mkdir(parents=True, exist_ok=True)
    url = pgserver.start(bench_dir / "data", database="fintrack")
    migrate.upgrade(url)
    marker = bench_dir / "seeded.json"
    return Database.connect(url, pool_size=pool_size), json.loads(marker.read_text()) if marker.exists() else None


async def opened(bench_dir: Path, seed: Seed, *, pool_size: int = 2) -> tuple[Database, dict[str, Any]]:
    """The bench's database, seeded by `seed` the first time; call pgserver.release() when done."""
    db, meta = _started(bench_dir, pool_size)
    if meta is not None:
        print(f"reusing the seeded book in {bench_dir}", flush=True)
        return db, meta
    print(f"seeding {bench_dir} ...", flush=True)
    meta = await seed(db)
    _record(bench_dir, meta)
    return db, meta


def _record(bench_dir: Path, meta: dict[str, Any]) -> None:
    (bench_dir / "seeded.json").write_text(json.dumps(meta, indent=2))
