"""Chaos, quickly: three `fintrack hub serve` replicas behind a Redis this test starts; Redis and a replica are
SIGKILLed and restarted while 3,000 signals are published, and every subscriber still gets every seq once, in
order. The same harness as `bench/hub_chaos.py` (the 100,000-signal run in docs/benchmarks.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from bench.hub_chaos import Options, run

from fintrack import migrate, pgserver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


async def test_killing_redis_and_a_replica_loses_duplicates_and_reorders_nothing(database_url: str, tmp_path: Path):
    url = pgserver.create_database("hub_chaos")  # its own database: the run commits, other tests roll back
    migrate.upgrade(url)
    options = Options(
        signals=3000, rate=600, outage=1.5, rounds=1, drain_timeout=30, database_url=url, workdir=tmp_path
    )
    report = await run(options)
    summary = "\n".join(report.lines())
    assert report.ok, summary
    totals = report.totals()
    assert (totals["lost"], totals["duplicated"], totals["out_of_order"], totals["gaps"]) == (0, 0, 0, 0), summary
    assert [o.what for o in report.outages] == ["Redis", "replica 1"], summary
    assert sum(s.client.reconnects for s in report.subscribers) > 0, "no subscriber was cut off: nothing was tested"
