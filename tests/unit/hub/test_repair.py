"""Gap repair after a Redis outage: what the broker skipped comes from history, in order, and only what history no
longer holds becomes a gap notice (found by bench/hub_chaos.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fintrack.hub import protocol as wire
from fintrack.hub.server import Hub
from tests.unit.hub.test_fanout import FakeHistory, connect, deliver, pub


class CappedHistory(FakeHistory):
    """As the store: one read returns at most 1,000 publications, whatever the limit asked."""

    async def __call__(self, channel: str, after_seq: int | None, limit: int, since: datetime | None = None):
        return await super().__call__(channel, after_seq, min(limit, 1000), since)


async def settle(hub: Hub) -> None:
    for _ in range(50):
        await asyncio.sleep(0)
    hub.flush()


async def test_an_outage_longer_than_one_history_read_is_backfilled_page_by_page():
    hub = Hub(history=CappedHistory([pub(s) for s in range(1, 2601)]))
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.New())
    deliver(hub, [pub(1)])
    deliver(hub, [pub(2600)])  # Redis lost 2..2599
    await settle(hub)
    assert transport.seqs() == list(range(1, 2601))
    assert not [m for m in transport.messages() if m["type"] == "gap"]


async def test_a_hole_among_publications_held_during_a_backfill_is_read_too():
    hub: Hub

    def racing() -> None:
        hub.deliver([pub(8)])  # another replica's delivery overtakes 6 and 7

    hub = Hub(history=FakeHistory([pub(s) for s in range(1, 9)], during=racing))
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.New())
    deliver(hub, [pub(1)])
    deliver(hub, [pub(5)])
    await settle(hub)
    assert transport.seqs() == list(range(1, 9))
    assert [m["type"] for m in transport.messages()] == ["pub"] * 8


async def test_a_gap_notice_follows_the_publications_before_it():
    hub = Hub(history=FakeHistory([pub(2), pub(3)]))  # 4 and 5 are no longer retained
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.New())
    deliver(hub, [pub(1)])
    deliver(hub, [pub(6)])
    await settle(hub)
    kinds = [(m["type"], m.get("seq", m.get("from_seq"))) for m in transport.messages()]
    assert kinds == [("pub", 1), ("pub", 2), ("pub", 3), ("gap", 4), ("pub", 6)]


async def test_after_the_feed_returns_a_quiet_channel_catches_up_from_history():
    hub = Hub(history=CappedHistory([pub(s) for s in range(1, 1206)]))
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.New())
    deliver(hub, [pub(1), pub(2)])  # then Redis went down; 3..1205 were published and nothing after
    hub.catch_up()  # the broker's on_reconnect
    await settle(hub)
    assert transport.seqs() == list(range(1, 1206))
