"""The hub's durable core: gap-free seqs, idempotency, durable-before-delivered, history with gaps, policy."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from fintrack.auth import service as auth
from fintrack.auth.scopes import Scope
from fintrack.hub import store
from fintrack.hub.broker import MemoryBroker, Publication
from fintrack.hub.errors import NotAllowed, SchemaViolation
from fintrack.hub.policy import SERVER, Caller
from fintrack.hub.store import Item
from tests.conftest import make_persona

API = "/api/v1/hub"
HUB = ["hub:publish", "hub:subscribe", "hub:history"]
PRODUCER = Caller(user_id=None, scopes=frozenset(HUB))


def received(broker: MemoryBroker) -> list[Publication]:
    got: list[Publication] = []

    def callback(pubs: Sequence[Publication]) -> None:
        got.extend(pubs)

    broker.subscribe(callback)
    return got


@pytest.fixture
async def trader(db, client):
    return await make_persona(db, client, "trader@example.com", scopes=HUB)


@pytest.fixture
async def carol(db, client):
    return await make_persona(db, client, "carol@example.com", scopes=HUB)


async def _caller(db, email: str) -> Caller:
    async with db.sessionmaker() as session, session.begin():
        user = await auth.create_user(session, email, "correct horse battery staple")
        return Caller(user_id=user.id, scopes=frozenset(HUB))


# Sequence numbers ---------------------------------------------------------------------------------------------


async def test_concurrent_publishers_get_gap_free_increasing_seqs(committed):
    publisher = await _caller(committed.db, "pub@example.com")

    async def publish(n: int) -> list[int]:
        seqs = []
        for i in range(5):
            async with committed.db.sessionmaker() as session, session.begin():
                batch = [Item({"n": n, "i": i, "j": j}) for j in range(3)]
                seqs += [p.seq for p in await store.append(session, "signals.race", batch, user=publisher)]
        return seqs

    results = await asyncio.gather(*(publish(n) for n in range(4)))
    every = sorted(s for seqs in results for s in seqs)
    assert every == list(range(1, 61))
    for seqs in results:
        assert seqs == sorted(seqs)
    async with committed.db.sessionmaker() as session:
        stored = (await session.execute(text("SELECT seq FROM hub_publications ORDER BY seq"))).scalars().all()
        last = await session.scalar(text("SELECT last_seq FROM hub_channels WHERE name = 'signals.race'"))
    assert stored == every and last == 60


async def test_a_rolled_back_publish_returns_its_seqs_and_reaches_no_subscriber(committed):
    publisher = await _caller(committed.db, "pub@example.com")
    broker = MemoryBroker()
    got = received(broker)
    with pytest.raises(RuntimeError):
        async with committed.db.sessionmaker() as session, session.begin():
            await store.append(session, "signals.x", [Item(1), Item(2)], user=publisher, broker=broker)
            raise RuntimeError("the request failed after publishing")
    async with committed.db.sessionmaker() as session, session.begin():
        again = await store.append(session, "signals.x", [Item(3)], user=publisher, broker=broker)
    assert [p.seq for p in again] == [1]
    assert got == []  # nobody ran the after-commit callbacks: only the request's session owner does


async def test_publications_reach_the_broker_only_after_the_request_commits(client, trader, app):
    got = received(app.state.hub_broker)
    ok = await trader.post(f"{API}/channels/signals.btc/publications", json={"payload": {"p": 1}})
    assert ok.status_code == 201, ok.text
    failed = await trader.post(
        f"{API}/channels/signals.btc/publications",
        json={"publications": [{"payload": {"p": 2}}, {"payload": "x" * (70 * 1024)}]},
    )
    assert failed.status_code == 413 and failed.json()["error"]["code"] == "hub_payload_too_large"
    assert failed.json()["error"]["details"]["index"] == 1
    assert [(p.channel, p.seq, p.payload) for p in got] == [("signals.btc", 1, {"p": 1})]
    again = await trader.post(f"{API}/channels/signals.btc/publications", json={"payload": {"p": 3}})
    assert again.json() == [{"seq": 2, "epoch": 1, "duplicate": False}]


# Idempotency --------------------------------------------------------------------------------------------------


async def test_a_repeated_idempotency_key_returns_the_first_seq_within_and_across_batches(client, trader, app):
    got = received(app.state.hub_broker)
    url = f"{API}/channels/signals.eth/publications"
    first = await trader.post(
        url,
        json={
            "publications": [
                {"payload": 1, "idempotency_key": "a"},
                {"payload": 2, "idempotency_key": "b"},
                {"payload": 1, "idempotency_key": "a"},
                {"payload": 3},
            ]
        },
    )
    assert first.status_code == 201, first.text
    assert first.json() == [
        {"seq": 1, "epoch": 1, "duplicate": False},
        {"seq": 2, "epoch": 1, "duplicate": False},
        {"seq": 1, "epoch": 1, "duplicate": True},
        {"seq": 3, "epoch": 1, "duplicate": False},
    ]
    second = await trader.post(url, json={"publications": [{"payload": 9, "idempotency_key": "b"}, {"payload": 4}]})
    assert [(p["seq"], p["duplicate"]) for p in second.json()] == [(2, True), (4, False)]
    # The retried "b" goes to the broker again (its first hand-off may have died with a server): live subscribers
    # drop it by seq; it is stored once.
    assert [p.seq for p in got] == [1, 2, 3, 2, 4]
    history = (await trader.get(url)).json()
    assert [p["payload"] for p in history["publications"]] == [1, 2, 3, 4]


# Bad input ----------------------------------------------------------------------------------------------------


async def test_a_payload_failing_the_namespace_schema_names_the_item_and_path(session):
    await session.execute(
        text(
            "INSERT INTO hub_namespaces (pattern, publish, subscribe, history, json_schema) VALUES "
            """('prices.*', 'scope', 'scope', 'scope', '{"type": "object", "required": ["price"], """
            """"properties": {"price": {"type": "number"}}}')"""
        )
    )
    good = Item({"price": 1.5})
    bad = Item({"price": "cheap"})
    with pytest.raises(SchemaViolation) as caught:
        await store.append(session, "prices.btc", [good, good, bad], user=PRODUCER)
    assert caught.value.details["index"] == 2 and caught.value.details["path"] == "$.price"
    assert "publication 2" in caught.value.message and "$.price" in caught.value.message
    assert await session.scalar(text("SELECT count(*) FROM hub_channels")) == 0


@pytest.mark.parametrize(
    ("channel", "code"),
    [
        ("Signals.BTC", "hub_invalid_channel"),
        ("signals..btc", "hub_invalid_channel"),
        ("unknown.btc", "hub_no_namespace"),
    ],
)
async def test_bad_channel_names_are_a_clear_422(client, trader, channel, code):
    response = await trader.post(f"{API}/channels/{channel}/publications", json={"payload": 1})
    assert response.status_code == 422 and response.json()["error"]["code"] == code, response.text


async def test_a_batch_over_the_limit_is_refused(client, trader):
    response = await trader.post(
        f"{API}/channels/signals.btc/publications", json={"publications": [{"payload": 1}] * 1001}
    )
    assert response.status_code == 422


async def test_a_nul_character_in_a_payload_is_refused_not_a_crash(client, trader):
    response = await trader.post(f"{API}/channels/signals.btc/publications", json={"payload": {"a\u0000": 1}})
    assert response.status_code == 422 and "NUL" in response.json()["error"]["message"]
    fine = await trader.post(f"{API}/channels/signals.btc/publications", json={"payload": "\\u0000"})
    assert fine.status_code == 201


# History ------------------------------------------------------------------------------------------------------


async def test_history_after_a_seq_since_a_time_and_limited(session):
    await store.append(session, "signals.h", [Item(i, key=f"k{i % 2}") for i in range(1, 11)], user=PRODUCER)
    read = await store.read(session, "signals.h", after_seq=4, limit=3, user=PRODUCER)
    assert [p.seq for p in read.publications] == [5, 6, 7] and not read.gap
    assert (read.oldest_seq, read.last_seq) == (1, 10)
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert (await store.read(session, "signals.h", since=later, user=PRODUCER)).publications == []
    latest = await store.latest_per_key(session, "signals.h", user=PRODUCER)
    assert [(p.seq, p.key) for p in latest.publications] == [(9, "k1"), (10, "k0")]


async def test_history_older_than_what_is_retained_says_gap(session):
    await store.append(session, "signals.g", [Item(i) for i in range(10)], user=PRODUCER)
    await session.execute(text("DELETE FROM hub_publications WHERE seq <= 6"))
    read = await store.read(session, "signals.g", after_seq=2, user=PRODUCER)
    assert read.gap and read.oldest_seq == 7 and [p.seq for p in read.publications] == [7, 8, 9, 10]
    assert not (await store.read(session, "signals.g", after_seq=6, user=PRODUCER)).gap
    assert not (await store.read(session, "signals.g", after_seq=10, user=PRODUCER)).gap


async def test_a_reset_channel_starts_a_new_epoch_at_seq_one(session):
    await store.append(session, "signals.r", [Item(1), Item(2, idempotency_key="a")], user=PRODUCER)
    with pytest.raises(NotAllowed):
        await store.reset(session, "signals.r", user=Caller(1, frozenset(HUB)))
    assert await store.reset(session, "signals.r", user=SERVER) == 2
    again = await store.append(session, "signals.r", [Item(3, idempotency_key="a")], user=PRODUCER)
    assert [(p.seq, p.epoch, p.duplicate) for p in again] == [(1, 2, False)]
    read = await store.read(session, "signals.r", after_seq=0, user=PRODUCER)
    assert [(p.seq, p.epoch, p.payload) for p in read.publications] == [(1, 2, 3)] and not read.gap


async def test_history_of_an_unknown_channel_is_404(client, trader):
    response = await trader.get(f"{API}/channels/signals.never/publications")
    assert response.status_code == 404 and response.json()["error"]["code"] == "hub_channel_not_found"


# Scopes and privacy -------------------------------------------------------------------------------------------


async def test_hub_routes_need_their_scope(client, db):
    reader = await make_persona(db, client, "reader@example.com", scopes=["hub:history"])
    response = await reader.post(f"{API}/channels/signals.btc/publications", json={"payload": 1})
    assert response.status_code == 403 and response.json()["error"]["code"] == "missing_scope"
    api_only = await make_persona(db, client, "api@example.com")
    response = await api_only.get(f"{API}/channels/signals.btc/publications")
    assert response.status_code == 403 and response.json()["error"]["code"] == "missing_scope"


async def test_a_users_private_channel_is_theirs_alone_and_only_the_server_publishes(client, session, trader, carol):
    mine = f"user.{trader.user_id}"
    await store.append(session, mine, [Item({"import": "done"})], user=SERVER)
    await session.flush()
    own = await trader.get(f"{API}/channels/{mine}/publications")
    assert own.status_code == 200 and own.json()["publications"][0]["payload"] == {"import": "done"}
    assert mine in {c["name"] for c in (await trader.get(f"{API}/channels")).json()}

    theirs = await carol.get(f"{API}/channels/{mine}/publications")
    assert theirs.status_code == 403 and theirs.json()["error"]["code"] == "hub_not_allowed"
    assert mine not in {c["name"] for c in (await carol.get(f"{API}/channels")).json()}
    for who in (trader, carol):
        response = await who.post(f"{API}/channels/{mine}/publications", json={"payload": "forged"})
        assert response.status_code == 403 and response.json()["error"]["code"] == "hub_not_allowed"
    with pytest.raises(NotAllowed):
        await store.append(session, mine, [Item(1)], user=Caller(trader.user_id, frozenset(HUB)))


async def test_a_token_limited_to_channel_patterns_stays_inside_them(client, alice):
    made = await alice.post(
        "/api/v1/tokens",
        json={"scopes": ["hub:publish", "hub:history"], "channel_patterns": ["signals.btc.*", "signals.btc"]},
    )
    assert made.status_code == 201, made.text
    assert made.json()["channel_patterns"] == ["signals.btc", "signals.btc.*"]
    headers = {"Authorization": f"Bearer {made.json()['token']}"}
    inside = await client.post(f"{API}/channels/signals.btc/publications", headers=headers, json={"payload": 1})
    assert inside.status_code == 201, inside.text
    outside = await client.post(f"{API}/channels/signals.eth/publications", headers=headers, json={"payload": 1})
    assert outside.status_code == 403 and outside.json()["error"]["code"] == "hub_not_allowed"
    listed = await alice.get("/api/v1/tokens")
    assert [t["channel_patterns"] for t in listed.json()] == [None, ["signals.btc", "signals.btc.*"]]
    bad = await alice.post("/api/v1/tokens", json={"scopes": ["hub:publish"], "channel_patterns": ["Signals/*"]})
    assert bad.status_code == 422


async def test_namespaces_are_for_admins(client, db):
    someone = await make_persona(db, client, "someone@example.com")
    response = await someone.get(f"{API}/namespaces")
    assert response.status_code == 403 and response.json()["error"]["code"] == "admin_required"
    async with db.sessionmaker() as session, session.begin():
        admin = await auth.create_user(session, "admin@example.com", "correct horse battery staple", is_admin=True)
        _, token = await auth.create_token(session, admin, "t", [Scope.api])
    headers = {"Authorization": f"Bearer {token}"}
    listed = (await client.get(f"{API}/namespaces", headers=headers)).json()
    assert {n["pattern"] for n in listed} >= {"signals.*", "user.*"}
    put = await client.put(
        f"{API}/namespaces",
        headers=headers,
        json={"pattern": "signals.*", "retention_count": 10, "json_schema": {"type": "object"}},
    )
    assert put.status_code == 200, put.text
    signals = next(
        n for n in (await client.get(f"{API}/namespaces", headers=headers)).json() if n["pattern"] == "signals.*"
    )
    assert signals["retention_count"] == 10 and not signals["builtin"]
    bad = await client.put(f"{API}/namespaces", headers=headers, json={"pattern": "x.*", "json_schema": {"type": 5}})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "hub_invalid_schema"


# Retention ----------------------------------------------------------------------------------------------------


async def test_retention_drops_what_is_past_the_namespace_age_or_count(committed):
    from fintrack.jobs import defer

    async with committed.db.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO hub_namespaces (pattern, publish, subscribe, history, retention_count, retention_seconds) "
                "VALUES ('ticks.*', 'scope', 'scope', 'scope', 3, 3600)"
            )
        )
        await store.append(session, "ticks.a", [Item(i) for i in range(10)], user=PRODUCER)
        await store.append(session, "ticks.b", [Item(i) for i in range(2)], user=PRODUCER)
        await store.append(session, "signals.kept", [Item(i) for i in range(10)], user=PRODUCER)
        await session.execute(
            text(
                "UPDATE hub_publications SET ingest_time = now() - interval '2 hours' "
                "WHERE seq = 1 AND channel_id = (SELECT id FROM hub_channels WHERE name = 'ticks.b')"
            )
        )
        await defer(session, "hub.retention")
    await committed.run_jobs()
    async with committed.db.sessionmaker() as session:
        a = await store.read(session, "ticks.a", after_seq=0, user=PRODUCER)
        b = await store.read(session, "ticks.b", user=PRODUCER)
        kept = await store.read(session, "signals.kept", user=PRODUCER)
    assert [p.seq for p in a.publications] == [8, 9, 10] and a.gap and a.oldest_seq == 8
    assert [p.seq for p in b.publications] == [2]
    assert len(kept.publications) == 10
