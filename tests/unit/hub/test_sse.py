"""Server-Sent Events without a server: start positions, the event encoding, and the buffer's flow control."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from fintrack.hub import protocol as wire
from fintrack.hub import sse
from fintrack.hub.errors import InvalidPosition


def test_last_event_id_is_an_after_seq_in_its_epoch_and_wins_over_the_query():
    assert sse.start_of("3:41", 7, None, None, True) == wire.AfterSeq(41, 3)
    assert sse.start_of(" 1:0 ", None, None, None, False) == wire.AfterSeq(0, 1)
    assert sse.start_of("", 7, 2, None, False) == wire.AfterSeq(7, 2)  # empty: EventSource had no id yet


@pytest.mark.parametrize("bad", ["42", "1:", ":1", "a:1", "1:2:3", "-1:2", "1:9223372036854775808", "1 :2"])
def test_a_malformed_last_event_id_names_the_header_and_the_form(bad):
    with pytest.raises(InvalidPosition) as refused:
        sse.start_of(bad, None, None, None, False)
    assert "Last-Event-ID" in refused.value.message and "<epoch>:<seq>" in refused.value.message
    assert refused.value.details == {"header": "Last-Event-ID", "expected": "<epoch>:<seq>"}


def test_query_positions_map_to_the_websockets_from():
    since = datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert sse.start_of(None, None, None, None, False) == wire.New()
    assert sse.start_of(None, 5, None, None, False) == wire.AfterSeq(5, None)
    assert sse.start_of(None, None, None, since, False) == wire.Since(since)
    assert sse.start_of(None, None, None, None, True) == wire.LatestPerKey()
    with pytest.raises(InvalidPosition, match="after_seq and latest_per_key"):
        sse.start_of(None, 5, None, None, True)
    with pytest.raises(InvalidPosition, match="epoch goes with after_seq"):
        sse.start_of(None, None, 2, None, False)


def test_a_pub_is_an_event_with_its_epoch_and_seq_as_id_and_the_ws_message_as_data():
    message = wire.dumps({"type": "pub", "channel": "signals.x", "seq": 42, "epoch": 3, "payload": {"t": "a\nb"}})
    assert sse.event(message) == b"id: 3:42\nevent: pub\ndata: " + message + b"\n\n"
    assert b"\n" not in message  # a newline inside a payload stays escaped: the data is one line


def test_other_messages_have_no_id_and_errors_do_not_take_eventsources_own_name():
    gap = wire.gap("signals.x", 4, 9, "not_retained")
    assert sse.event(gap) == b"event: gap\ndata: " + gap + b"\n\n"
    assert sse.event(wire.error("slow_consumer", "too slow")).startswith(b"event: hub-error\ndata: {")


class FakeHub:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.connections: set[Any] = set()

    def connect(self, transport: Any, ident: str = "") -> Any:
        transport.set_write_buffer_limits(high=1000, low=250)
        conn = type("Conn", (), {"who": None})()
        self.connections.add(conn)
        return conn

    def paused(self, conn: Any) -> None:
        self.calls.append("paused")

    def resumed(self, conn: Any) -> None:
        self.calls.append("resumed")


def pub_frames(*seqs: int, pad: int = 100) -> bytes:
    return b"".join(
        wire.frame(wire.dumps({"type": "pub", "channel": "c", "seq": s, "epoch": 1, "p": "x" * pad})) for s in seqs
    )


async def test_frames_written_together_become_events_in_order_and_a_close_frame_ends_the_stream():
    buffer, hub = sse.EventBuffer(), FakeHub()
    buffer.attach(hub, "peer")  # type: ignore[arg-type]
    buffer.write(pub_frames(1, 2) + wire.frame(b"", 0x9) + pub_frames(3, pad=70_000))  # 16- and 64-bit lengths
    buffer.write(wire.close_frame(1001, "bye") + pub_frames(4))
    chunk = await buffer.take(1)
    assert chunk is not None
    assert [json.loads(line[6:])["seq"] for line in chunk.split(b"\n") if line.startswith(b"data: ")] == [1, 2, 3]
    assert buffer.is_closing() and await buffer.take(1) is None


async def test_the_engine_is_paused_over_the_limit_and_resumed_once_the_response_took_it():
    buffer, hub = sse.EventBuffer(), FakeHub()
    buffer.attach(hub, "peer")  # type: ignore[arg-type]
    buffer.write(pub_frames(1, 2, 3, 4, pad=300))  # over 1000 bytes while the response is busy: pause at once
    assert hub.calls == ["paused"] and buffer.get_write_buffer_size() > 1000
    assert await buffer.take(1)  # taken: still counted until the response comes back for more
    assert hub.calls == ["paused"]
    assert await buffer.take(0.01) == sse.KEEPALIVE  # it came back: that chunk is gone, and the buffer is empty
    assert hub.calls == ["paused", "resumed"] and buffer.get_write_buffer_size() == 0


async def test_an_idle_response_takes_a_burst_as_a_socket_would_but_not_an_endless_one():
    buffer, hub = sse.EventBuffer(), FakeHub()
    buffer.attach(hub, "peer")  # type: ignore[arg-type]
    buffer._idle = True  # what `take` sets while it waits for events
    buffer.write(pub_frames(1, 2, 3, pad=300))  # over the limit, under BURST limits
    assert hub.calls == []
    buffer.write(pub_frames(*range(4, 40)))
    assert hub.calls == ["paused"]
