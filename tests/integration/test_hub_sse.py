"""Server-Sent Events as `fintrack serve` runs them — the real app and database on one uvicorn port, /ws beside —
read line by line by a real HTTP client: live delivery, resume, gaps, errors before the stream, slow readers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from websockets.asyncio.client import connect

from fintrack.auth import service as auth
from fintrack.auth.scopes import Scope
from fintrack.hub import sse, store
from fintrack.hub.policy import SERVER
from fintrack.settings import Settings
from tests.integration.live_server import Live, serving

ALL = [Scope.hub_publish, Scope.hub_subscribe, Scope.hub_history]


@pytest.fixture(scope="module")
def live(committed_url: str, settings: Settings) -> Iterator[Live]:
    with serving(committed_url, settings) as server:
        yield server.live


@dataclass
class User:
    id: int
    token: str
    token_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def user(committed: Any, email: str, scopes: list[Scope] = ALL) -> User:
    async with committed.db.sessionmaker() as session, session.begin():
        created = await auth.create_user(session, email, "correct horse battery staple")
        row, token = await auth.create_token(session, created, "sse test", scopes)
        return User(created.id, token, row.id)


async def publish(live: Live, who: User, channel: str, *payloads: Any, key: str | None = None) -> list[int]:
    body = {"publications": [{"payload": p, "key": key} for p in payloads]}
    async with httpx.AsyncClient(base_url=live.http, headers=who.headers, timeout=30) as http:
        done = await http.post(f"/api/v1/hub/channels/{channel}/publications", json=body)
    assert done.status_code == 201, done.text
    return [p["seq"] for p in done.json()]


class Events:
    """The events of one open stream, parsed as EventSource does (one JSON `data` line per event here)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def next(self, wait: float = 10) -> dict[str, Any]:
        block: dict[str, Any] = {}
        while True:
            line = await asyncio.wait_for(anext(self.lines), wait)
            if line == "":
                if block:
                    return block
            elif line.startswith(":"):
                block.setdefault("comments", []).append(line[1:].strip())
            else:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                block[name] = json.loads(value) if name == "data" else value

    async def opened(self) -> None:
        assert await self.next() == {"retry": str(sse.RETRY_MS)}
        assert (await self.next())["event"] == "subscribed"

    async def take(self, count: int) -> list[dict[str, Any]]:
        """The next `count` pub and gap events (keep-alives skipped)."""
        got: list[dict[str, Any]] = []
        while len(got) < count:
            found = await self.next()
            if found.get("event") in ("pub", "gap"):
                got.append(found)
        return got


@contextlib.asynccontextmanager
async def stream(
    live: Live, bearer: str | None, channel: str, headers: dict[str, str] | None = None, **params: Any
) -> AsyncIterator[Events]:
    sent = {**({"Authorization": f"Bearer {bearer}"} if bearer else {}), **(headers or {})}
    timeout = httpx.Timeout(10, read=30)
    async with (
        httpx.AsyncClient(base_url=live.http, timeout=timeout) as http,
        http.stream("GET", f"/api/v1/hub/channels/{channel}/events", headers=sent, params=params) as response,
    ):
        assert response.status_code == 200, (await response.aread()).decode()
        yield Events(response)


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [e["data"]["seq"] for e in events]


async def until(condition: Any, what: str, wait: float = 10) -> None:
    deadline = time.monotonic() + wait
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


# --- delivery and resume -------------------------------------------------------------------------------------


async def test_publications_committed_over_rest_arrive_live_as_the_websockets_pub_messages(live, committed):
    alice = await user(committed, "alice@example.com")
    socket_ = await connect(f"ws://127.0.0.1:{live.port}/ws?token={alice.token}")
    await socket_.recv()
    await socket_.send(json.dumps({"type": "subscribe", "channel": "signals.sse-live"}))
    assert json.loads(await socket_.recv())["type"] == "subscribed"
    async with stream(live, alice.token, "signals.sse-live") as events:
        headers = events.response.headers
        assert headers["content-type"].startswith("text/event-stream")
        assert (headers["cache-control"], headers["x-accel-buffering"]) == ("no-cache", "no")
        assert await events.next() == {"retry": "3000"}
        assert await events.next() == {
            "event": "subscribed",
            "data": {"type": "subscribed", "channel": "signals.sse-live"},
        }
        await publish(live, alice, "signals.sse-live", {"px": "97250.5"}, {"px": "97251"}, key="btc")
        got = await events.take(2)
        assert [(e["id"], e["event"]) for e in got] == [("1:1", "pub"), ("1:2", "pub")]
        over_ws = [json.loads(await asyncio.wait_for(socket_.recv(), 5)) for _ in range(2)]
        assert [e["data"] for e in got] == over_ws  # the same message, byte for byte the same JSON
        assert got[0]["data"]["payload"] == {"px": "97250.5"} and got[0]["data"]["key"] == "btc"
    await socket_.close()


async def test_last_event_id_resumes_with_exactly_the_missing_publications_once_then_live(live, committed):
    alice = await user(committed, "alice@example.com")
    channel = "signals.sse-resume"
    async with stream(live, alice.token, channel) as events:
        await events.opened()
        await publish(live, alice, channel, *({"n": n} for n in range(1, 4)))
        last = (await events.take(3))[-1]["id"]
    assert last == "1:3"
    await publish(live, alice, channel, *({"n": n} for n in range(4, 8)))  # while nobody listens
    # EventSource reconnects to the same URL (query and all) with Last-Event-ID: the header wins.
    async with stream(live, alice.token, channel, {"Last-Event-ID": last}, after_seq=0) as events:
        await events.opened()
        assert seqs(await events.take(4)) == [4, 5, 6, 7]
        await publish(live, alice, channel, {"n": 8}, {"n": 9})
        await publish(live, alice, channel, {"n": 10})
        assert seqs(await events.take(3)) == [8, 9, 10]  # nothing repeated, nothing skipped


async def test_after_seq_since_and_latest_per_key_start_where_the_websocket_would(live, committed):
    alice = await user(committed, "alice@example.com")
    channel = "signals.sse-from"
    for n, key in enumerate("ababa", start=1):
        await publish(live, alice, channel, {"n": n}, key=key)  # one request each: five ingest times
    async with httpx.AsyncClient(base_url=live.http, headers=alice.headers) as http:
        stored = (await http.get(f"/api/v1/hub/channels/{channel}/publications")).json()["publications"]
    async with stream(live, alice.token, channel, after_seq=3, epoch=1) as events:
        await events.opened()
        assert seqs(await events.take(2)) == [4, 5]
        await publish(live, alice, channel, {"n": 6}, key="b")
        assert seqs(await events.take(1)) == [6]
    async with stream(live, alice.token, channel, since=stored[2]["ingest_time"]) as events:
        await events.opened()
        assert seqs(await events.take(4)) == [3, 4, 5, 6]
    async with stream(live, alice.token, channel, latest_per_key="true") as events:
        await events.opened()
        assert [(e["data"]["key"], e["data"]["seq"]) for e in await events.take(2)] == [("a", 5), ("b", 6)]
    async with stream(live, alice.token, channel) as events:  # by default: only what comes next
        await events.opened()
        await publish(live, alice, channel, {"n": 7})
        assert seqs(await events.take(1)) == [7]


async def test_a_gap_event_names_what_is_no_longer_retained_and_keeps_the_last_event_id(live, committed):
    alice = await user(committed, "alice@example.com")
    channel = "signals.sse-gap"
    await publish(live, alice, channel, *({"n": n} for n in range(1, 7)))
    async with committed.db.sessionmaker() as session, session.begin():
        await session.execute(text("DELETE FROM hub_publications WHERE seq <= 3"))  # what retention does
    async with stream(live, alice.token, channel, {"Last-Event-ID": "1:1"}) as events:
        await events.opened()
        gap, *rest = await events.take(4)
        assert gap == {
            "event": "gap",
            "data": {"type": "gap", "channel": channel, "from_seq": 2, "to_seq": 3, "reason": "not_retained"},
        }  # no id: the browser's Last-Event-ID stays at the last publication it got
        assert [e["id"] for e in rest] == ["1:4", "1:5", "1:6"]


async def test_a_reset_channel_is_an_epoch_changed_gap_then_the_new_epoch_from_its_start(live, committed):
    alice = await user(committed, "alice@example.com")
    channel = "signals.sse-epoch"
    await publish(live, alice, channel, *({"n": n} for n in range(1, 6)))
    async with committed.db.sessionmaker() as session, session.begin():
        assert await store.reset(session, channel, user=SERVER) == 2
    await publish(live, alice, channel, {"n": "new 1"}, {"n": "new 2"})
    async with stream(live, alice.token, channel, {"Last-Event-ID": "1:5"}) as events:
        await events.opened()
        gap, *rest = await events.take(3)
        assert gap["event"] == "gap" and gap["data"]["reason"] == "epoch_changed" and "id" not in gap
        assert [(e["id"], e["data"]["payload"]) for e in rest] == [("2:1", {"n": "new 1"}), ("2:2", {"n": "new 2"})]


async def test_a_position_past_the_last_seq_starts_from_the_last_and_holds_back_no_one(live, committed):
    alice = await user(committed, "alice@example.com")
    channel = "signals.sse-ahead"  # quiet since the server started: the engine knows nothing of it yet
    await publish(live, alice, channel, {"n": 1})
    async with (
        stream(live, alice.token, channel, {"Last-Event-ID": "1:1000000"}) as ahead,
        stream(live, alice.token, channel) as other,
    ):
        await ahead.opened()
        await other.opened()
        await publish(live, alice, channel, {"n": 2})
        assert seqs(await ahead.take(1)) == [2]  # no such seq was ever given out: from the last one
        assert seqs(await other.take(1)) == [2]


async def test_an_idle_stream_gets_keep_alive_comments(live, committed, monkeypatch):
    monkeypatch.setattr(sse, "KEEPALIVE_SECONDS", 0.2)
    alice = await user(committed, "alice@example.com")
    async with stream(live, alice.token, "signals.sse-idle") as events:
        await events.opened()
        assert await events.next() == {"comments": ["keep-alive"]}


# --- refused before the stream starts ------------------------------------------------------------------------


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


async def test_channels_the_caller_may_not_subscribe_to_are_refused_before_any_event(live, committed):
    alice = await user(committed, "alice@example.com")
    bob = await user(committed, "bob@example.com")
    url = "/api/v1/hub/channels/{}/events"
    async with httpx.AsyncClient(base_url=live.http, headers=bob.headers, timeout=10) as http:
        refused = assert_error(await http.get(url.format(f"user.{alice.id}")), 403, "hub_not_allowed")
        assert refused["details"]["channel"] == f"user.{alice.id}"
        assert_error(await http.get(url.format("nowhere.x")), 422, "hub_no_namespace")
        assert_error(await http.get(url.format("Signals.BTC")), 422, "hub_invalid_channel")
    async with stream(live, bob.token, f"user.{bob.id}") as events:  # his own private channel is his
        await events.opened()


async def test_a_malformed_start_position_is_a_422_naming_what_to_send(live, committed):
    alice = await user(committed, "alice@example.com")
    url = "/api/v1/hub/channels/signals.sse-bad/events"
    async with httpx.AsyncClient(base_url=live.http, headers=alice.headers, timeout=10) as http:
        for bad in ("42", "1:", "x:1", "1:2:3", "-1:4", "1:99999999999999999999"):
            error = assert_error(await http.get(url, headers={"Last-Event-ID": bad}), 422, "hub_invalid_position")
            assert "Last-Event-ID" in error["message"] and "<epoch>:<seq>" in error["message"], error
            assert error["details"] == {"header": "Last-Event-ID", "expected": "<epoch>:<seq>"}
        both = await http.get(url, params={"after_seq": 1, "since": "2026-11-23T10:00:00+00:00"})
        assert "after_seq and since" in assert_error(both, 422, "hub_invalid_position")["message"]
        assert_error(await http.get(url, params={"epoch": 2}), 422, "hub_invalid_position")
        assert_error(await http.get(url, params={"after_seq": -1}), 422, "validation_error")
        assert_error(await http.get(url, params={"since": "yesterday"}), 422, "validation_error")


async def test_no_invalid_or_revoked_token_is_a_401_and_a_token_without_the_scope_a_403(live, committed):
    alice = await user(committed, "alice@example.com")
    reader = await user(committed, "reader@example.com", [Scope.api, Scope.hub_history])
    url = "/api/v1/hub/channels/signals.sse-auth/events"
    async with httpx.AsyncClient(base_url=live.http, timeout=10) as http:
        assert_error(await http.get(url), 401, "unauthenticated")
        assert_error(await http.get(url, params={"token": "ft_nope"}), 401, "invalid_token")
        assert_error(await http.get(url, headers={"Authorization": "Bearer ft_nope"}), 401, "invalid_token")
        assert_error(await http.get(url, params={"token": reader.token}), 403, "missing_scope")
        async with committed.db.sessionmaker() as session, session.begin():
            await auth.revoke_token(session, await session.get(auth.User, alice.id), alice.token_id)
        assert_error(await http.get(url, params={"token": alice.token}), 401, "invalid_token")


async def test_the_token_may_come_on_the_url_for_eventsource_and_the_header_wins(live, committed):
    alice = await user(committed, "alice@example.com")
    reader = await user(committed, "reader@example.com", [Scope.hub_history])
    async with stream(live, None, "signals.sse-query", token=alice.token) as events:
        await events.opened()
        await publish(live, alice, "signals.sse-query", {"n": 1})
        assert seqs(await events.take(1)) == [1]
    async with httpx.AsyncClient(base_url=live.http, headers=reader.headers, timeout=10) as http:
        sent = await http.get("/api/v1/hub/channels/signals.sse-query/events", params={"token": alice.token})
        assert_error(sent, 403, "missing_scope")


async def test_a_revoked_token_ends_its_stream_within_a_recheck_and_cannot_reopen_it(live, committed, monkeypatch):
    monkeypatch.setattr(sse, "RECHECK_SECONDS", 0.2)
    alice = await user(committed, "alice@example.com")
    async with stream(live, None, "signals.sse-revoked", token=alice.token) as events:
        await events.opened()
        async with committed.db.sessionmaker() as session, session.begin():
            await auth.revoke_token(session, await session.get(auth.User, alice.id), alice.token_id)
        told = await events.next()
        assert told["event"] == "hub-error" and told["data"]["code"] == "unauthenticated", told
        with pytest.raises(StopAsyncIteration):
            await events.next()
    await until(lambda: not live.hub.presence("signals.sse-revoked"), "the stream left the hub")
    async with httpx.AsyncClient(base_url=live.http, timeout=10) as http:
        again = await http.get("/api/v1/hub/channels/signals.sse-revoked/events", params={"token": alice.token})
    assert_error(again, 401, "invalid_token")  # what EventSource's reconnect gets: it stops


async def test_a_stream_ends_when_its_token_expires(live, committed):
    async with committed.db.sessionmaker() as session, session.begin():
        alice = await auth.create_user(session, "alice@example.com", "correct horse battery staple")
        soon = datetime.now(UTC) + timedelta(seconds=1.5)
        _, token = await auth.create_token(session, alice, "brief", [Scope.hub_subscribe], expires_at=soon)
    async with stream(live, token, "signals.sse-expiring") as events:
        await events.opened()
        told = await events.next()
        assert told["event"] == "hub-error" and "expired" in told["data"]["message"], told
        assert datetime.now(UTC) >= soon
        with pytest.raises(StopAsyncIteration):
            await events.next()


# --- slow readers and clean-up -------------------------------------------------------------------------------


async def stalled_reader(live: Live, token: str, channel: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw client that reads the response head and then nothing: a tiny receive buffer, never drained."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", live.port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    path = f"/api/v1/hub/channels/{channel}/events"
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 200"), head
    return reader, writer


async def test_a_stalled_sse_reader_is_cut_and_resumes_while_the_others_get_everything(live, committed):
    alice = await user(committed, "alice@example.com")
    channel = "signals.sse-flood"
    # 18 MB: past the socket buffers and the hub's 256 KiB per connection. Each batch (480 kB) is over that limit
    # too: a reader that keeps up takes a burst at once, as a socket's kernel buffer would.
    count, per_request, pad = 304, 8, "x" * 60_000
    stalled_r, stalled_w = await stalled_reader(live, alice.token, channel)
    socket_ = await connect(f"ws://127.0.0.1:{live.port}/ws?token={alice.token}", max_size=None)
    await socket_.recv()
    await socket_.send(json.dumps({"type": "subscribe", "channel": channel}))
    async with stream(live, alice.token, channel) as events:
        await events.opened()
        await until(lambda: live.hub.presence(channel) == 3, "three subscribers")

        async def over_ws(n: int) -> list[int]:
            got: list[int] = []
            while len(got) < n:
                msg = json.loads(await asyncio.wait_for(socket_.recv(), 30))
                if msg["type"] == "pub":
                    got.append(msg["seq"])
            return got

        by_ws: list[int] = []
        by_sse: list[int] = []
        for first in range(1, count + 1, per_request):
            await publish(live, alice, channel, *({"n": n, "pad": pad} for n in range(first, first + per_request)))
            by_ws += await over_ws(per_request)
            by_sse += seqs(await events.take(per_request))
        assert by_ws == by_sse == list(range(1, count + 1))
        await until(lambda: live.hub.presence(channel) == 2, "the stalled reader is cut", 20)
    await socket_.close()
    # Its connection is closed once it reads again (the server gave up on it 5 s after the cut).
    raw = await asyncio.wait_for(stalled_r.read(), 30)
    stalled_w.close()
    seen = [int(n) for n in re.findall(rb"^id: 1:(\d+)$", raw, re.MULTILINE)]
    assert seen == list(range(1, len(seen) + 1)) and len(seen) < count
    async with stream(live, alice.token, channel, {"Last-Event-ID": f"1:{seen[-1]}"}) as events:
        await events.opened()
        assert seqs(await events.take(count - len(seen))) == list(range(len(seen) + 1, count + 1))


async def test_a_closed_stream_leaves_nothing_behind_in_the_hub(live, committed):
    alice = await user(committed, "alice@example.com")
    await publish(live, alice, "signals.sse-gone", *({"n": n} for n in range(1, 4)))
    async with (
        stream(live, alice.token, "signals.sse-gone") as one,
        stream(live, alice.token, "signals.sse-gone", after_seq=0) as two,
    ):
        await one.opened()
        await two.opened()
        assert seqs(await two.take(3)) == [1, 2, 3]
        assert live.hub.presence("signals.sse-gone") == 2
    await until(lambda: not live.hub.connections, "every stream's connection is dropped")
    assert "signals.sse-gone" not in live.hub.channels
    async with stream(live, alice.token, "signals.sse-gone") as again:  # and the hub still serves
        await again.opened()
        await publish(live, alice, "signals.sse-gone", {"n": 4})
        assert seqs(await again.take(1)) == [4]


async def test_a_server_shutting_down_ends_its_streams_and_drops_them_from_the_hub(committed_url, settings, committed):
    alice = await user(committed, "alice@example.com")
    with serving(committed_url, settings, graceful=1) as server:
        async with stream(server.live, alice.token, "signals.sse-shutdown") as events:
            await events.opened()
            server.runner.should_exit = True
            with pytest.raises((StopAsyncIteration, httpx.RemoteProtocolError)):
                while True:  # keep-alives, if any, until the server ends the response
                    await events.next(wait=15)
        await asyncio.to_thread(server.thread.join, 15)
        assert not server.thread.is_alive(), "uvicorn did not stop"
        assert not server.live.hub.connections
