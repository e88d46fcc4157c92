"""The fan-out engine with fake transports: encode once, overflow policies, race-free resume, gap repair."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fintrack.hub import protocol as wire
from fintrack.hub import server
from fintrack.hub.server import Hub

try:
    from fintrack.hub.broker import Publication
except ImportError:  # the durable core is built alongside; its Publication has exactly these fields

    @dataclass(frozen=True)
    class Publication:  # type: ignore[no-redef]
        channel: str
        seq: int
        epoch: int
        producer_time: datetime | None
        ingest_time: datetime
        key: str | None
        payload: Any


T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


def pub(seq: int, channel: str = "signals.btc", key: str | None = None, epoch: int = 1) -> Publication:
    return Publication(channel, seq, epoch, None, T0, key, {"px": seq})


class FakeTransport:
    """Records frames; when `stalled`, bytes pile up and flow control fires like asyncio's at the high mark."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.buffered = 0
        self.high = 0
        self.stalled = False
        self.closing = False
        self.hub: Hub | None = None
        self.conn: server.Connection | None = None

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        self.high = high

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        if self.stalled:
            was = self.buffered
            self.buffered += len(data)
            if was <= self.high < self.buffered and self.hub and self.conn:
                self.hub.paused(self.conn)

    def drain(self) -> None:
        self.stalled, self.buffered = False, 0
        assert self.hub and self.conn
        self.hub.resumed(self.conn)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def can_write_eof(self) -> bool:
        return False

    def write_eof(self) -> None:
        self.closing = True

    def messages(self) -> list[dict[str, Any]]:
        out, stream = [], b"".join(self.writes)
        while stream:
            opcode, length = stream[0] & 0x0F, stream[1] & 0x7F
            start = 2 if length < 126 else 4 if length == 126 else 10
            if start > 2:
                length = int.from_bytes(stream[2:start], "big")
            body, stream = stream[start : start + length], stream[start + length :]
            if opcode == 0x1:
                out.append(json.loads(body))
            elif opcode == 0x8:
                out.append({"type": "close", "code": int.from_bytes(body[:2], "big")})
        return out

    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.messages() if m["type"] == "pub"]


def deliver(hub: Hub, pubs: Sequence[Publication]) -> None:
    """What the broker does, then the write the engine leaves for the next loop turn."""
    hub.deliver(pubs)
    hub.flush()


def connect(hub: Hub) -> tuple[FakeTransport, server.Connection]:
    transport = FakeTransport()
    conn = hub.connect(transport)
    transport.hub, transport.conn = hub, conn
    return transport, conn


class FakeHistory:
    """Retained publications from `oldest` on; `during` runs inside the first read (a publication racing it)."""

    def __init__(self, pubs: Sequence[Publication], during: Any = None) -> None:
        self.pubs = list(pubs)
        self.during = during
        self.calls: list[tuple[int | None, int]] = []

    async def __call__(self, channel: str, after_seq: int | None, limit: int, since: datetime | None = None):
        self.calls.append((after_seq, limit))
        await asyncio.sleep(0)
        if self.during is not None:
            during, self.during = self.during, None
            during()
        found = [p for p in self.pubs if p.channel == channel and (after_seq is None or p.seq > after_seq)]
        oldest = min((p.seq for p in self.pubs if p.channel == channel), default=None)
        return found[:limit], oldest


async def test_a_publication_is_encoded_once_and_the_same_bytes_go_to_every_subscriber(monkeypatch):
    hub = Hub()
    subscribers = [connect(hub) for _ in range(3)]
    for _, conn in subscribers:
        await hub.subscribe(conn, "signals.btc", wire.New())
    encoded = []
    real = wire.pub
    monkeypatch.setattr(wire, "pub", lambda p: encoded.append(p) or real(p))
    deliver(hub, [pub(1)])
    assert len(encoded) == 1
    frames = [transport.writes[-1] for transport, _ in subscribers]
    assert all(f is frames[0] for f in frames)
    assert subscribers[0][0].messages()[-1] == {
        "type": "pub",
        "channel": "signals.btc",
        "seq": 1,
        "epoch": 1,
        "time": None,
        "ingest_time": T0.isoformat(),
        "key": None,
        "payload": {"px": 1},
    }
    assert hub.presence("signals.btc") == 3 and hub.presence("signals.eth") == 0


async def test_publications_delivered_before_a_flush_share_one_write_in_order():
    hub = Hub()
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.New())
    hub.deliver([pub(1)])
    hub.deliver([pub(2), pub(3)])
    assert transport.writes == []
    await asyncio.sleep(0)  # the flush runs on the next loop turn
    assert len(transport.writes) == 1 and transport.seqs() == [1, 2, 3]


async def test_slow_subscriber_is_told_its_last_seq_and_closed_while_others_get_everything():
    hub = Hub(buffer_bytes=300)
    slow, slow_conn = connect(hub)
    fast, fast_conn = connect(hub)
    await hub.subscribe(slow_conn, "signals.btc", wire.New(), overflow="disconnect")
    await hub.subscribe(fast_conn, "signals.btc", wire.New())
    slow.stalled = True
    for seq in range(1, 11):
        deliver(hub, [pub(seq)])
    await asyncio.sleep(0)
    told = [m for m in slow.messages() if m["type"] == "error"]
    assert told and told[0]["code"] == "slow_consumer"
    last = told[0]["last_seq"]["signals.btc"]
    assert slow.seqs() == list(range(1, last + 1)) and last < 10
    assert slow.messages()[-1] == {"type": "close", "code": wire.Close.SLOW_CONSUMER} and slow.closing
    assert fast.seqs() == list(range(1, 11))
    assert hub.presence("signals.btc") == 1
    deliver(hub, [pub(11)])
    assert fast.seqs()[-1] == 11 and slow.seqs()[-1] == last


async def test_conflating_subscriber_gets_the_latest_per_key_once_it_drains():
    hub = Hub(buffer_bytes=150)
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.New(), overflow="conflate")
    transport.stalled = True
    for seq, key in enumerate("ababa", start=1):
        deliver(hub, [pub(seq, key=key)])
    before = transport.seqs()
    transport.drain()
    assert transport.seqs()[len(before) :] == [4, 5]
    deliver(hub, [pub(6, key="a")])
    assert transport.seqs()[-1] == 6


async def test_dropping_subscriber_gets_a_gap_notice_for_what_it_missed():
    hub = Hub(buffer_bytes=150)
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.New(), overflow="drop")
    transport.stalled = True
    for seq in range(1, 8):
        deliver(hub, [pub(seq)])
    got = transport.seqs()
    transport.drain()
    deliver(hub, [pub(8)])
    gap = next(m for m in transport.messages() if m["type"] == "gap")
    assert gap == {
        "type": "gap",
        "channel": "signals.btc",
        "from_seq": got[-1] + 1,
        "to_seq": 7,
        "reason": "slow_consumer",
    }
    assert transport.seqs() == [*got, 8]


async def test_resume_replays_history_and_live_publications_exactly_once_in_order():
    hub = Hub()
    other, other_conn = connect(hub)
    await hub.subscribe(other_conn, "signals.btc", wire.New())
    # 9 and 10 are committed; 9, 10 and 11 reach the engine while the history read is under way.
    hub.history = FakeHistory([pub(s) for s in range(1, 11)], during=lambda: deliver(hub, [pub(9), pub(10), pub(11)]))
    transport, conn = connect(hub)
    reply = await hub.subscribe(conn, "signals.btc", wire.AfterSeq(3, 1))
    assert transport.seqs() == list(range(4, 12))
    assert reply == {"epoch": 1, "last_seq": 11}
    deliver(hub, [pub(12)])
    assert transport.seqs() == list(range(4, 13))
    assert other.seqs() == [9, 10, 11, 12]


async def test_resume_ahead_of_a_slow_broker_does_not_deliver_its_late_copies_twice():
    history = FakeHistory([pub(s) for s in range(1, 7)])
    hub = Hub(history=history)
    _, early = connect(hub)
    await hub.subscribe(early, "signals.btc", wire.New())
    deliver(hub, [pub(s) for s in range(1, 5)])
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.AfterSeq(2))  # history has 5 and 6; the broker has not sent them
    assert transport.seqs() == [3, 4, 5, 6]
    deliver(hub, [pub(5), pub(6), pub(7)])
    deliver(hub, [pub(8)])
    assert transport.seqs() == [3, 4, 5, 6, 7, 8]


async def test_resume_from_a_seq_no_longer_retained_says_so_with_a_gap():
    hub = Hub(history=FakeHistory([pub(s) for s in range(5, 9)]))
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.AfterSeq(1))
    messages = transport.messages()
    assert messages[0] == {
        "type": "gap",
        "channel": "signals.btc",
        "from_seq": 2,
        "to_seq": 4,
        "reason": "not_retained",
    }
    assert transport.seqs() == [5, 6, 7, 8]


async def test_resume_pages_through_a_long_history(monkeypatch):
    monkeypatch.setattr(server, "PAGE", 3)
    history = FakeHistory([pub(s) for s in range(1, 11)])
    hub = Hub(history=history)
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.AfterSeq(0))
    assert transport.seqs() == list(range(1, 11))
    assert [after for after, _ in history.calls] == [0, 3, 6, 9]


async def test_latest_per_key_sends_one_publication_per_key():
    history = FakeHistory([pub(1, key="a"), pub(2, key="b"), pub(3, key="a")])
    hub = Hub(history=history)
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.LatestPerKey())
    assert transport.seqs() == [2, 3]


async def test_a_seq_gap_from_the_broker_is_backfilled_from_history_before_going_on():
    history = FakeHistory([pub(s) for s in range(1, 6)])
    hub = Hub(history=history)
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.New())
    deliver(hub, [pub(1), pub(2), pub(5)])
    deliver(hub, [pub(6)])
    await asyncio.sleep(0.01)
    assert transport.seqs() == [1, 2, 3, 4, 5, 6]
    deliver(hub, [pub(3), pub(7)])  # a late redelivery is not sent twice
    assert transport.seqs() == [1, 2, 3, 4, 5, 6, 7]


async def test_a_seq_gap_history_cannot_fill_becomes_a_gap_notice():
    hub = Hub(history=FakeHistory([]))
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.New())
    deliver(hub, [pub(1), pub(4)])
    await asyncio.sleep(0.01)
    assert [m["type"] for m in transport.messages()] == ["pub", "gap", "pub"]
    assert transport.messages()[1]["from_seq"] == 2 and transport.messages()[1]["to_seq"] == 3


async def test_pattern_subscribers_receive_every_matching_channel():
    hub = Hub()
    transport, conn = connect(hub)
    hub.subscribe_pattern(conn, "signals.*")
    deliver(hub, [pub(1, "signals.btc"), pub(1, "user.7"), pub(1, "signals.eth")])
    assert [m["channel"] for m in transport.messages()] == ["signals.btc", "signals.eth"]
    hub.unsubscribe(conn, "signals.*")
    deliver(hub, [pub(2, "signals.btc")])
    assert len(transport.messages()) == 2


async def test_disconnect_forgets_every_subscription():
    hub = Hub()
    _, conn = connect(hub)
    await hub.subscribe(conn, "a", wire.New())
    await hub.subscribe(conn, "b", wire.New())
    hub.disconnect(conn)
    assert hub.channels == {} and hub.connections == set()


@settings(max_examples=60, deadline=None)
@given(
    retained_from=st.integers(1, 20),
    committed=st.integers(0, 40),
    after=st.integers(0, 45),
    racing=st.integers(0, 10),
    split=st.integers(0, 10),
)
def test_any_resume_delivers_each_retained_seq_once_in_order(retained_from, committed, after, racing, split):
    async def scenario() -> list[dict[str, Any]]:
        # `committed` are in history when the read runs; `racing` more commit during it and reach the engine in two
        # deliveries, one of which lands mid-read.
        total = committed + racing
        history = FakeHistory([pub(s) for s in range(retained_from, committed + 1)])
        hub = Hub(history=history)
        first = [pub(s) for s in range(committed + 1, committed + 1 + min(split, racing))]
        rest = [pub(s) for s in range(committed + 1 + min(split, racing), total + 1)]

        def commit_more() -> None:
            history.pubs += first + rest
            deliver(hub, first)

        history.during = commit_more
        transport, conn = connect(hub)
        await hub.subscribe(conn, "signals.btc", wire.AfterSeq(after))
        deliver(hub, rest)
        await asyncio.sleep(0)
        return transport.messages()

    messages = asyncio.run(scenario())
    seqs = [m["seq"] for m in messages if m["type"] == "pub"]
    total = committed + racing
    assert seqs == sorted(set(seqs))
    assert seqs == [s for s in range(after + 1, total + 1) if s >= retained_from or s > committed]
    gaps = [m for m in messages if m["type"] == "gap"]
    if retained_from > after + 1 and committed >= retained_from:
        assert gaps[0]["from_seq"] == after + 1


async def test_a_channel_ttl_turns_stale_live_publications_into_expired_gaps():
    hub = Hub()
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.New(), ttl=30)
    now = datetime.now(UTC)
    fresh = Publication("signals.btc", 1, 1, None, now, None, {"px": 1})
    stale = Publication("signals.btc", 2, 1, None, now - timedelta(minutes=5), None, {"px": 2})
    after = Publication("signals.btc", 3, 1, None, now, None, {"px": 3})
    deliver(hub, [fresh, stale, after])
    kinds = [(m["type"], m.get("seq", m.get("from_seq")), m.get("reason")) for m in transport.messages()]
    assert kinds == [("pub", 1, None), ("gap", 2, "expired"), ("pub", 3, None)]


async def test_a_resume_position_past_the_channels_end_holds_back_only_that_subscriber():
    hub = Hub(history=FakeHistory([pub(s) for s in range(1, 6)]))
    honest, honest_conn = connect(hub)
    await hub.subscribe(honest_conn, "signals.btc", wire.New())
    bogus, bogus_conn = connect(hub)
    await hub.subscribe(bogus_conn, "signals.btc", wire.AfterSeq(1000))
    deliver(hub, [pub(6), pub(7)])
    assert honest.seqs() == [6, 7]  # a client's made-up position does not become the channel's
    assert bogus.seqs() == []


async def test_a_resume_from_before_a_reset_starts_the_new_epoch_over_with_a_gap():
    hub = Hub(history=FakeHistory([pub(s, epoch=2) for s in range(1, 4)]))
    transport, conn = connect(hub)
    await hub.subscribe(conn, "signals.btc", wire.AfterSeq(40, epoch=1))
    kinds = [(m["type"], m.get("seq"), m.get("reason")) for m in transport.messages()]
    assert kinds == [("gap", None, "epoch_changed"), ("pub", 1, None), ("pub", 2, None), ("pub", 3, None)]
