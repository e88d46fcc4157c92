"""The hub as `fintrack serve` runs it — the real app, its database and /ws on one uvicorn port — driven by a real
WebSocket client: publishing over the socket, durable consumers, presence, and tokens that stop working."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect

from fintrack.auth import queries as auth_queries
from fintrack.auth import service as auth
from fintrack.auth.scopes import Scope
from fintrack.settings import Settings
from tests.integration.live_server import serving

ALL = [Scope.hub_publish, Scope.hub_subscribe, Scope.hub_history]
PASSWORD = "correct horse battery staple"


@dataclass
class Live:
    http: str
    url: str
    app: Any


@pytest.fixture(scope="module")
def live(committed_url: str, settings: Settings) -> Iterator[Live]:
    with serving(committed_url, settings, recheck_interval=0.3) as server:
        yield Live(server.live.http, f"ws://127.0.0.1:{server.live.port}/ws", server.live.app)


@dataclass
class User:
    id: int
    token: str


async def user(
    committed: Any, email: str, scopes: list[Scope] = ALL, *, admin: bool = False, expires: datetime | None = None
) -> User:
    async with committed.db.sessionmaker() as session, session.begin():
        created = await auth.create_user(session, email, PASSWORD, is_admin=admin)
        return User(created.id, (await auth.create_token(session, created, "live test", scopes, expires))[1])


async def new_token(committed: Any, user_id: int, expires: datetime | None = None) -> tuple[int, str]:
    async with committed.db.sessionmaker() as session, session.begin():
        found = await auth_queries.user_by_id(session, user_id)
        assert found is not None
        row, secret = await auth.create_token(session, found, "another", ALL, expires)
        return row.id, secret


async def receive(socket_: ClientConnection, kind: str | None = None, wait: float = 5) -> dict[str, Any]:
    while True:
        msg = json.loads(await asyncio.wait_for(socket_.recv(), wait))
        if kind is None or msg["type"] == kind:
            return msg


async def opened(live: Live, token: str) -> ClientConnection:
    conn = await connect(f"{live.url}?token={token}")
    assert (await receive(conn))["type"] == "welcome"
    return conn


async def send(conn: ClientConnection, **msg: Any) -> None:
    await conn.send(json.dumps(msg))


# --- publishing over the socket ------------------------------------------------------------------------------


async def test_a_producer_publishes_over_the_socket_and_is_answered_after_the_commit(live, committed):
    alice = await user(committed, "alice@example.com")
    sub = await opened(live, alice.token)
    await send(sub, type="subscribe", channel="signals.ws-pub", ref="s")
    await receive(sub, "subscribed")
    pub = await opened(live, alice.token)
    for i in range(1, 201):
        await send(pub, type="publish", channel="signals.ws-pub", payload={"i": i}, key="btc", ref=i)
    answers = [await receive(pub, "published") for _ in range(200)]
    assert [a["ref"] for a in answers] == list(range(1, 201))  # in the producer's order
    assert [a["seq"] for a in answers] == list(range(1, 201))
    got = [await receive(sub, "pub") for _ in range(200)]
    assert [(m["seq"], m["payload"]["i"], m["key"]) for m in got] == [(i, i, "btc") for i in range(1, 201)]
    async with httpx.AsyncClient(base_url=live.http, headers={"Authorization": f"Bearer {alice.token}"}) as http:
        stored = (await http.get("/api/v1/hub/channels/signals.ws-pub/publications", params={"limit": 1000})).json()
    assert [p["seq"] for p in stored["publications"]] == list(range(1, 201))  # durable: it was committed
    await send(pub, type="publish", channel="signals.ws-pub", payload={"i": 1}, idempotency_key="k1", ref="a")
    first = await receive(pub, "published")
    await send(pub, type="publish", channel="signals.ws-pub", payload={"i": 1}, idempotency_key="k1", ref="b")
    again = await receive(pub, "published")
    assert (again["seq"], again["duplicate"], first["duplicate"]) == (first["seq"], True, False)
    await sub.close()
    await pub.close()


async def test_a_refused_publication_is_answered_with_an_error_and_the_others_commit(live, committed):
    admin = await user(committed, "root@example.com", [*ALL, Scope.api], admin=True)
    async with httpx.AsyncClient(base_url=live.http, headers={"Authorization": f"Bearer {admin.token}"}) as http:
        schema = {"type": "object", "required": ["px"], "properties": {"px": {"type": "number"}}}
        r = await http.put("/api/v1/hub/namespaces", json={"pattern": "strict.*", "json_schema": schema})
        assert r.status_code == 200, r.text
    pub = await opened(live, admin.token)
    for i, payload in enumerate([{"px": 1}, {"px": "high"}, {"px": 3}]):
        await send(pub, type="publish", channel="strict.a", payload=payload, ref=i)
    answers = {m["ref"]: m for m in [await receive(pub) for _ in range(3)]}
    assert answers[0]["type"] == answers[2]["type"] == "published"
    assert answers[1]["type"] == "error" and answers[1]["code"] == "hub_schema_violation"
    assert "px" in answers[1]["message"]
    await send(pub, type="publish", channel="user.999999.x", payload={}, ref="other")
    refused = await receive(pub)
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    await send(pub, type="publish", channel="nowhere.x", payload={}, ref="ns")
    assert (await receive(pub))["code"] == "hub_no_namespace"
    await pub.close()


async def test_a_token_without_publish_scope_cannot_publish_over_the_socket(live, committed):
    reader = await user(committed, "reader@example.com", [Scope.hub_subscribe])
    conn = await opened(live, reader.token)
    await send(conn, type="publish", channel="signals.nope", payload={}, ref=1)
    answer = await receive(conn)
    assert (answer["type"], answer["code"], answer["ref"]) == ("error", "forbidden", 1)
    await conn.close()


# --- durable consumers -----------------------------------------------------------------------------------------


async def publish_rest(live: Live, token: str, channel: str, count: int) -> None:
    async with httpx.AsyncClient(base_url=live.http, headers={"Authorization": f"Bearer {token}"}) as http:
        body = {"publications": [{"payload": {"n": i}} for i in range(count)]}
        r = await http.post(f"/api/v1/hub/channels/{channel}/publications", json=body)
        assert r.status_code == 201, r.text


async def consume(live: Live, token: str, channel: str, name: str, **start: Any) -> tuple[ClientConnection, dict]:
    conn = await opened(live, token)
    await send(conn, type="subscribe", channel=channel, consumer=name, ref="c", **start)
    return conn, await receive(conn, "subscribed")


async def test_a_consumer_gets_everything_it_did_not_ack_again_after_a_reconnect(live, committed):
    bot = await user(committed, "bot@example.com")
    conn, subscribed = await consume(live, bot.token, "signals.durable", "bot-1")
    assert (subscribed["consumer"], subscribed["acked_seq"]) == ("bot-1", 0)
    await publish_rest(live, bot.token, "signals.durable", 10)
    assert [(await receive(conn, "pub"))["seq"] for _ in range(10)] == list(range(1, 11))
    await send(conn, type="ack", channel="signals.durable", consumer="bot-1", seq=5, ref="a5")
    assert await receive(conn, "acked") == {
        "type": "acked",
        "channel": "signals.durable",
        "consumer": "bot-1",
        "seq": 5,
        "ref": "a5",
    }
    await send(conn, type="ack", channel="signals.durable", consumer="bot-1", seq=3, ref="a3")  # acks are cumulative
    assert (await receive(conn, "acked"))["seq"] == 5
    await conn.close()  # the bot crashes before acking 6..10
    await publish_rest(live, bot.token, "signals.durable", 2)
    again, subscribed = await consume(live, bot.token, "signals.durable", "bot-1", **{"from": "new"})
    assert subscribed["acked_seq"] == 5  # `from` only places a new consumer
    assert [(await receive(again, "pub"))["seq"] for _ in range(7)] == list(range(6, 13))
    await publish_rest(live, bot.token, "signals.durable", 1)
    assert (await receive(again, "pub"))["seq"] == 13  # then live
    await send(again, type="ack", channel="signals.durable", consumer="bot-1", seq=13)
    await receive(again, "acked")
    async with httpx.AsyncClient(base_url=live.http, headers={"Authorization": f"Bearer {bot.token}"}) as http:
        listed = (await http.get("/api/v1/hub/consumers")).json()
        assert [(c["name"], c["acked_seq"], c["pending"]) for c in listed] == [("bot-1", 13, 0)]
        rewound = await http.put("/api/v1/hub/consumers/signals.durable/bot-1", json={"after_seq": 10})
        assert rewound.json()["pending"] == 3
    await again.close()
    replay, subscribed = await consume(live, bot.token, "signals.durable", "bot-1")
    assert [(await receive(replay, "pub"))["seq"] for _ in range(3)] == [11, 12, 13]
    await replay.close()


async def test_bad_acks_are_refused_and_the_newest_connection_takes_a_consumer_over(live, committed):
    bot = await user(committed, "bot2@example.com")
    await publish_rest(live, bot.token, "signals.takeover", 3)
    first, subscribed = await consume(live, bot.token, "signals.takeover", "bot", **{"from": {"after_seq": 1}})
    assert subscribed["acked_seq"] == 1
    assert [(await receive(first, "pub"))["seq"] for _ in range(2)] == [2, 3]
    await send(first, type="ack", channel="signals.takeover", consumer="bot", seq=99, ref=1)
    assert (await receive(first, "error"))["code"] == "hub_ack_beyond_last"
    await send(first, type="ack", channel="signals.takeover", consumer="other", seq=1, ref=2)
    assert (await receive(first, "error"))["code"] == "not_subscribed"
    second, _ = await consume(live, bot.token, "signals.takeover", "bot")
    assert [(await receive(second, "pub"))["seq"] for _ in range(2)] == [2, 3]  # nothing was acked
    assert (await receive(first, "error"))["code"] == "consumer_taken"
    await send(first, type="ack", channel="signals.takeover", consumer="bot", seq=3, ref=3)
    assert (await receive(first, "error"))["code"] == "not_subscribed"
    await send(second, type="subscribe", channel="signals.x", pattern="signals.*", consumer="bot")
    assert (await receive(second, "error"))["code"] == "bad_message"
    await send(second, type="subscribe", channel="user.999999.x", consumer="spy", ref="s")
    assert (await receive(second, "error"))["code"] in ("forbidden", "hub_not_allowed")
    await first.close()
    await second.close()


# --- tokens that stop working while the socket is open ------------------------------------------------------


async def closed_with(conn: ClientConnection, wait: float = 10) -> tuple[int | None, dict[str, Any]]:
    notice: dict[str, Any] = {}
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            msg = json.loads(await asyncio.wait_for(conn.recv(), wait))
            if msg["type"] == "error":
                notice = msg
    return conn.close_code, notice


async def test_a_revoked_token_closes_its_live_sockets_with_4001(live, committed):
    alice = await user(committed, "revoked@example.com")
    token_id, other = await new_token(committed, alice.id)
    doomed = await opened(live, other)
    kept = await opened(live, alice.token)
    async with httpx.AsyncClient(base_url=live.http, headers={"Authorization": f"Bearer {alice.token}"}) as http:
        scoped = await auth_token_with_api(committed, alice.id)
        r = await http.delete(f"/api/v1/tokens/{token_id}", headers={"Authorization": f"Bearer {scoped}"})
        assert r.status_code in (200, 204), r.text
    code, notice = await closed_with(doomed)
    assert code == 4001 and "revoked" in notice["message"]
    await send(kept, type="ping", ref="still")
    assert (await receive(kept, "pong"))["ref"] == "still"
    await kept.close()


async def auth_token_with_api(committed: Any, user_id: int) -> str:
    async with committed.db.sessionmaker() as session, session.begin():
        found = await auth_queries.user_by_id(session, user_id)
        assert found is not None
        return (await auth.create_token(session, found, "api", [Scope.api]))[1]


async def test_an_expiring_token_is_closed_at_expiry_unless_refreshed(live, committed):
    soon = datetime.now(UTC) + timedelta(seconds=2)
    alice = await user(committed, "expiring@example.com", expires=soon)
    conn = await connect(f"{live.url}?token={alice.token}")
    welcome = await receive(conn, "welcome")
    assert datetime.fromisoformat(welcome["expires_at"]) == soon.replace(microsecond=soon.microsecond)
    refreshed = await connect(f"{live.url}?token={alice.token}")
    await receive(refreshed, "welcome")
    _, longer = await new_token(committed, alice.id, datetime.now(UTC) + timedelta(hours=1))
    await send(refreshed, type="refresh", token=longer, ref="r")
    assert (await receive(refreshed, "refreshed"))["ref"] == "r"
    code, notice = await closed_with(conn)
    assert code == 4001 and "expired" in notice["message"]
    await asyncio.sleep(0.5)
    await send(refreshed, type="ping", ref="alive")
    assert (await receive(refreshed, "pong"))["ref"] == "alive"
    await refreshed.close()


async def test_the_web_ui_gets_a_short_lived_hub_token_that_dies_with_its_session(live, committed):
    alice = await user(committed, "web@example.com")
    async with httpx.AsyncClient(base_url=live.http) as web:
        login = await web.post("/api/v1/auth/login", json={"email": "web@example.com", "password": PASSWORD})
        assert login.status_code == 200, login.text
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        assert (await web.post("/api/v1/auth/hub-token")).status_code == 403  # no CSRF header
        made = await web.post("/api/v1/auth/hub-token", headers=csrf)
        assert made.status_code == 200, made.text
        hub = made.json()
        assert hub["scopes"] == ["hub:history", "hub:subscribe"] and hub["token"].startswith("fth.")
        conn = await connect(f"{live.url}?token={hub['token']}")
        welcome = await receive(conn, "welcome")
        assert welcome["user_id"] == alice.id and welcome["expires_at"]
        await send(conn, type="subscribe", channel=f"user.{alice.id}", ref=1)
        assert (await receive(conn))["type"] == "subscribed"
        await send(conn, type="publish", channel=f"user.{alice.id}", payload={}, ref=2)
        assert (await receive(conn, "error"))["code"] == "forbidden"  # subscribe and history only
        tampered = hub["token"][:-2] + ("00" if not hub["token"].endswith("00") else "11")
        bad = await connect(f"{live.url}?token={tampered}")
        assert (await closed_with(bad))[0] == 4001
        api = await live_api_token_refused(live, hub["token"])
        assert api == 401
        assert (await web.post("/api/v1/auth/logout", headers=csrf)).status_code == 204
        code, _ = await closed_with(conn)
        assert code == 4001
        again = await connect(f"{live.url}?token={hub['token']}")
        assert (await closed_with(again))[0] == 4001


async def live_api_token_refused(live: Live, token: str) -> int:
    async with httpx.AsyncClient(base_url=live.http, headers={"Authorization": f"Bearer {token}"}) as http:
        return (await http.get("/api/v1/hub/channels")).status_code


# --- presence ---------------------------------------------------------------------------------------------------


async def test_presence_counts_subscribers_and_names_them_only_to_admins(live, committed):
    admin = await user(committed, "admin@example.com", admin=True)
    carol = await user(committed, "carol@example.com")
    sockets = []
    for who in (admin, carol, carol):
        conn = await opened(live, who.token)
        await send(conn, type="subscribe", channel="signals.presence", ref=1)
        await receive(conn, "subscribed")
        sockets.append(conn)
    url = "/api/v1/hub/channels/signals.presence/presence"
    async with httpx.AsyncClient(base_url=live.http) as http:
        for _ in range(100):  # the third subscription registers on the server's loop
            seen = (await http.get(url, headers={"Authorization": f"Bearer {carol.token}"})).json()
            if seen["subscribers"] == 3:
                break
            await asyncio.sleep(0.02)
        assert seen == {"channel": "signals.presence", "subscribers": 3, "connections": None}
        named = (await http.get(url, headers={"Authorization": f"Bearer {admin.token}"})).json()
        assert sorted(c["user_id"] for c in named["connections"]) == sorted([admin.id, carol.id, carol.id])
        assert all(c["peer"].startswith("127.0.0.1:") and c["queued_bytes"] >= 0 for c in named["connections"])
        private = f"/api/v1/hub/channels/user.{admin.id}/presence"
        refused = await http.get(private, headers={"Authorization": f"Bearer {carol.token}"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "hub_not_allowed"
        metrics = (await http.get("/metrics")).text
        assert 'hub_connection_queued_bytes_bucket{le="+Inf"}' in metrics
    for conn in sockets:
        await conn.close()


async def peer_seen(http: str, ws_url: str, token: str, channel: str, forwarded_for: str) -> str:
    conn = await connect(f"{ws_url}?token={token}", additional_headers={"X-Forwarded-For": forwarded_for})
    assert (await receive(conn))["type"] == "welcome"
    await send(conn, type="subscribe", channel=channel, ref=1)
    await receive(conn, "subscribed")
    url = f"/api/v1/hub/channels/{channel}/presence"
    async with httpx.AsyncClient(base_url=http) as client:
        named = (await client.get(url, headers={"Authorization": f"Bearer {token}"})).json()
    await conn.close()
    [connection] = named["connections"]
    return str(connection["peer"])


async def test_presence_names_the_client_a_trusted_proxy_forwarded_and_nobody_elses(
    live, committed, committed_url, settings
):
    admin = await user(committed, "proxied@example.com", admin=True)
    # The test server trusts 127.0.0.1 (the default FORWARDED_ALLOW_IPS), as a hub behind Traefik trusts Traefik;
    # "1.2.3.4" is what the client wrote itself, left of what the proxy appended.
    seen = await peer_seen(live.http, live.url, admin.token, "signals.proxied", "1.2.3.4, 203.0.113.9")
    assert seen == "203.0.113.9"
    elsewhere = settings.model_copy(update={"FORWARDED_ALLOW_IPS": "10.42.40.2"})
    with serving(committed_url, elsewhere) as other:
        ws_url = f"ws://127.0.0.1:{other.live.port}/ws"
        seen = await peer_seen(other.live.http, ws_url, admin.token, "signals.unproxied", "203.0.113.9")
    assert seen.startswith("127.0.0.1:")  # the peer is not the trusted proxy: its header is ignored


async def test_the_sdk_reads_a_durable_consumer_and_gets_what_it_did_not_ack_after_a_reconnect(live, committed):
    from fintrack.hub.client import HubClient, Pub

    bot = await user(committed, "sdk-bot@example.com")
    await publish_rest(live, bot.token, "signals.sdk", 5)
    async with HubClient(live.http, bot.token) as hub:
        seen = []
        async for event in hub.subscribe("signals.sdk", consumer="sdk-bot", after_seq=0):
            assert isinstance(event, Pub)
            seen.append(event.seq)
            if event.seq <= 3:
                assert await hub.ack("signals.sdk", "sdk-bot", event.seq)
            if event.seq == 5:
                break
        assert seen == [1, 2, 3, 4, 5]
        for _ in range(100):  # the last ack is committed on the server's loop
            listed = (await hub._http.get("/api/v1/hub/consumers")).json()
            if listed and listed[0]["acked_seq"] == 3:
                break
            await asyncio.sleep(0.02)
        again = []
        async for event in hub.subscribe("signals.sdk", consumer="sdk-bot"):
            assert isinstance(event, Pub)
            again.append(event.seq)
            if event.seq == 5:
                break
        assert again == [4, 5]  # 4 and 5 were never acknowledged


async def test_an_event_streams_lifetime_is_not_counted_as_request_latency(live, committed):
    from fintrack.ops.metrics import REGISTRY

    reader = await user(committed, "sse-latency@example.com")
    route = "/api/v1/hub/channels/{channel}/events"
    labels = {"method": "GET", "route": route}
    before = REGISTRY.get_sample_value("http_request_duration_seconds_sum", labels) or 0.0
    async with (
        httpx.AsyncClient(base_url=live.http, headers={"Authorization": f"Bearer {reader.token}"}) as http,
        http.stream("GET", "/api/v1/hub/channels/signals.sse-latency/events") as stream,
    ):
        assert stream.status_code == 200
        await asyncio.sleep(1.5)  # the stream stays open
    for _ in range(100):
        after = REGISTRY.get_sample_value("http_request_duration_seconds_sum", labels)
        if after is not None and after > before:
            break
        await asyncio.sleep(0.05)
    assert after is not None and after - before < 1.0  # the time to start the stream, not the 1.5 s it lived
