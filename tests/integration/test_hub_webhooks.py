"""TradingView-style webhooks: alerts in (JSON or text, the secret in the URL or the body), on the channel once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from fintrack.hub import store, webhooks
from fintrack.hub.policy import Namespace
from fintrack.ops.metrics import HUB_WEBHOOK_REQUESTS
from tests.conftest import Persona, make_persona

API = "/api/v1/hub"
HUB = ["hub:publish", "hub:subscribe", "hub:history"]
TRADINGVIEW_IP = "52.32.178.7"
ClientAt = Callable[[str], Any]


@pytest.fixture
async def trader(db, client) -> Persona:
    return await make_persona(db, client, "trader@example.com", scopes=HUB)


@pytest.fixture
async def rival(db, client) -> Persona:
    return await make_persona(db, client, "rival@example.com", scopes=HUB)


@pytest.fixture
def sender(app) -> ClientAt:
    """A client without credentials (TradingView) posting from a given address."""

    @asynccontextmanager
    async def at(ip: str = TRADINGVIEW_IP) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http

    return at


async def make_hook(who: Persona, channel: str = "signals.btcusdt", **fields: Any) -> dict[str, Any]:
    made = await who.post(f"{API}/webhooks", json={"name": "BTC alerts", "channel": channel, **fields})
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


async def history(who: Persona, channel: str = "signals.btcusdt") -> list[dict[str, Any]]:
    found = await who.get(f"{API}/channels/{channel}/publications")
    assert found.status_code == 200, found.text
    return found.json()["publications"]  # type: ignore[no-any-return]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"} and body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


def outcomes() -> dict[str, float]:
    return {
        s.labels["outcome"]: s.value
        for m in HUB_WEBHOOK_REQUESTS.collect()
        for s in m.samples
        if s.name.endswith("_total")
    }


# Alerts in ----------------------------------------------------------------------------------------------------


async def test_a_json_alert_lands_on_the_channel_as_the_object(trader, sender):
    hook = await make_hook(trader)
    assert hook["path"] == f"/hooks/tradingview/{hook['secret']}" and hook["url"].endswith(hook["path"])
    alert = {"ticker": "BTCUSDT", "close": 42000.5, "key": "BTCUSDT", "time": "2026-11-23T10:00:00Z"}
    async with sender() as tv:
        sent = await tv.post(hook["path"], content=json.dumps(alert), headers={"Content-Type": "application/json"})
    assert sent.status_code == 201, sent.text
    assert sent.json() == {"seq": 1, "epoch": 1, "duplicate": False}
    [stored] = await history(trader)
    assert stored["payload"] == alert
    assert stored["key"] == "BTCUSDT" and stored["producer_time"].startswith("2026-11-23T10:00:00")


async def test_a_plain_text_alert_lands_as_text(trader, sender):
    hook = await make_hook(trader)
    async with sender() as tv:
        sent = await tv.post(hook["path"], content="BTCUSDT crossed 42000", headers={"Content-Type": "text/plain"})
    assert sent.status_code == 201, sent.text
    assert [p["payload"] for p in await history(trader)] == [{"text": "BTCUSDT crossed 42000"}]


async def test_the_secret_in_the_body_is_checked_and_never_stored(trader, sender):
    hook = await make_hook(trader, secret_in="body")
    assert hook["hook_id"] and hook["path"] == f"/hooks/tradingview/{hook['hook_id']}"
    assert hook["secret"] not in hook["path"] and hook["secret"] in hook["message"]
    secret = hook["secret"]
    async with sender() as tv:
        as_json = await tv.post(hook["path"], json={"secret": secret, "ticker": "ETHUSDT"})
        as_passphrase = await tv.post(hook["path"], json={"passphrase": secret, "ticker": "SOLUSDT"})
        as_text = await tv.post(hook["path"], content=f"secret={secret}\nETHUSDT crossed 3000")
        as_text_colon = await tv.post(hook["path"], content=f"Secret: {secret}\r\nSOL up")
        for response in (as_json, as_passphrase, as_text, as_text_colon):
            assert response.status_code == 201, response.text
        wrong = await tv.post(hook["path"], json={"secret": secret + "x", "ticker": "ETHUSDT"})
        missing = await tv.post(hook["path"], json={"ticker": "ETHUSDT"})
        secret_as_path = await tv.post(f"/hooks/tradingview/{secret}", json={"ticker": "ETHUSDT"})
    stored = await history(trader)
    assert [p["payload"] for p in stored] == [
        {"ticker": "ETHUSDT"},
        {"ticker": "SOLUSDT"},
        {"text": "ETHUSDT crossed 3000"},
        {"text": "SOL up"},
    ]
    assert secret not in json.dumps(stored)
    unknown = assert_error(wrong, 404, "hub_webhook_not_found")
    assert missing.json() == secret_as_path.json() == wrong.json() and unknown["details"] == {}


async def test_unknown_revoked_and_wrong_secrets_get_the_same_404(trader, sender):
    hook = await make_hook(trader)
    body_hook = await make_hook(trader, secret_in="body")
    revoked = await make_hook(trader)
    assert (await trader.delete(f"{API}/webhooks/{revoked['id']}")).json()["revoked_at"] is not None
    async with sender() as tv:
        answers = [
            await tv.post("/hooks/tradingview/nope", content="x"),
            await tv.post(hook["path"][:-1], content="x"),
            await tv.post(revoked["path"], content="x"),
            await tv.post(body_hook["path"], content="secret=wrong\nx"),
            await tv.post("/hooks/tradingview/" + "%00" * 3, content="x"),
            await tv.post(f"/hooks/tradingview/{trader.token}", content="x"),  # an API token is not a webhook
        ]
    for answer in answers:
        assert_error(answer, 404, "hub_webhook_not_found")
        assert answer.json() == answers[0].json()
    assert await trader.get(f"{API}/channels/signals.btcusdt/publications") is not None
    assert (await trader.get(f"{API}/channels/signals.btcusdt/publications")).status_code == 404


async def test_a_webhook_revoked_elsewhere_stops_at_once_though_this_process_remembers_it(trader, sender, session):
    hook = await make_hook(trader)
    async with sender() as tv:
        assert (await tv.post(hook["path"], content="first")).status_code == 201  # now cached here
        # Revoked by another replica: this process was not told, but each commit checks.
        await session.execute(text("UPDATE hub_webhooks SET revoked_at = now() WHERE id = :id"), {"id": hook["id"]})
        assert_error(await tv.post(hook["path"], content="second"), 404, "hub_webhook_not_found")
    assert len(await history(trader)) == 1


async def test_the_allow_list_admits_listed_addresses_and_the_tradingview_preset(trader, sender):
    hook = await make_hook(trader, allow=["tradingview", "10.0.0.0/8", "2001:db8::1"])
    assert hook["allow"] == ["tradingview", "10.0.0.0/8", "2001:db8::1/128"]
    for ip in ("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7", "10.20.30.40", "2001:db8::1"):
        async with sender(ip) as tv:
            assert (await tv.post(hook["path"], content=f"from {ip}")).status_code == 201, ip
    async with sender("52.89.214.239") as tv:
        refused = await tv.post(hook["path"], content="from elsewhere")
    assert assert_error(refused, 403, "hub_webhook_ip_not_allowed")["details"] == {"ip": "52.89.214.239"}
    assert len(await history(trader)) == 6


@pytest.mark.parametrize(
    ("allow", "field"),
    [
        (["10.0.0.1/8"], "allow[0]"),
        (["tradingview", "nonsense"], "allow[1]"),
        ([], "allow"),
        (["999.1.1.1"], "allow[0]"),
    ],
)
async def test_a_bad_allow_list_entry_is_a_clear_422(trader, allow, field):
    sent = await trader.post(f"{API}/webhooks", json={"name": "x", "channel": "signals.x", "allow": allow})
    error = assert_error(sent, 422, "hub_webhook_invalid_allow")
    assert error["details"]["field"] == field
    assert (await trader.get(f"{API}/webhooks")).json() == []


async def test_a_repeated_alert_within_the_window_is_answered_not_published_again(trader, sender):
    hook = await make_hook(trader)
    before = outcomes().get("duplicate", 0)
    async with sender() as tv:
        first = await tv.post(hook["path"], content="BTCUSDT long")
        again = await tv.post(hook["path"], content="BTCUSDT long")
        other = await tv.post(hook["path"], content="BTCUSDT short")
    assert first.status_code == 201 and first.json() == {"seq": 1, "epoch": 1, "duplicate": False}
    assert again.status_code == 200 and again.json() == {"seq": 1, "epoch": 1, "duplicate": True}
    assert other.json()["seq"] == 2
    assert len(await history(trader)) == 2
    assert outcomes()["duplicate"] == before + 1


async def test_records_of_bodies_past_their_window_are_swept_away(trader, sender, session):
    hook = await make_hook(trader)
    async with sender() as tv:
        await tv.post(hook["path"], content="old alert")
        moved = text("UPDATE hub_webhook_deliveries SET received_at = received_at - interval '2 minutes'")
        await session.execute(moved)
        await asyncio.sleep(1.05)  # the sweep runs at most once a second per webhook
        await tv.post(hook["path"], content="new alert")
    kept = await session.scalar(text("SELECT count(*) FROM hub_webhook_deliveries"))
    assert kept == 1


async def test_an_idempotency_key_in_the_alert_wins_over_the_body(trader, sender):
    hook = await make_hook(trader, dedupe_seconds=0)
    async with sender() as tv:
        one = await tv.post(hook["path"], json={"id": 77, "close": 1})
        two = await tv.post(hook["path"], json={"id": 77, "close": 2})  # another body, the same order id
        three = await tv.post(hook["path"], json={"idempotency_key": "a", "close": 1})
        four = await tv.post(hook["path"], json={"idempotency_key": "a", "close": 1})
        five = await tv.post(hook["path"], json={"close": 1})  # dedupe off: the same body twice is two alerts
        six = await tv.post(hook["path"], json={"close": 1})
    assert [r.json()["seq"] for r in (one, two, three, four, five, six)] == [1, 1, 2, 2, 3, 4]
    assert [r.json()["duplicate"] for r in (one, two, three, four)] == [False, True, False, True]


async def test_after_the_window_the_same_alert_is_published_again(committed, committed_client, app):
    trader = await make_persona(committed.db, committed_client, "trader@example.com", scopes=HUB)
    hook = await make_hook(trader, dedupe_seconds=1)
    first = await committed_client.post(hook["path"], content="BTCUSDT long")
    await asyncio.sleep(1.2)
    later = await committed_client.post(hook["path"], content="BTCUSDT long")
    assert (first.json()["seq"], later.json()["seq"], later.json()["duplicate"]) == (1, 2, False)


async def test_concurrent_identical_alerts_are_published_once(committed, committed_client):
    trader = await make_persona(committed.db, committed_client, "trader@example.com", scopes=HUB)
    hook = await make_hook(trader)
    answers = await asyncio.gather(*(committed_client.post(hook["path"], content="BTCUSDT long") for _ in range(12)))
    assert {r.json()["seq"] for r in answers} == {1}
    assert sorted(r.json()["duplicate"] for r in answers) == [False] + [True] * 11
    async with committed.db.sessionmaker() as session:
        assert await session.scalar(text("SELECT count(*) FROM hub_publications")) == 1


async def test_a_payload_failing_the_channel_schema_is_a_422_naming_the_path(trader, sender, session):
    schema = {"type": "object", "required": ["price"], "properties": {"price": {"type": "number"}}}
    await store.put_namespace(session, Namespace("signals.strict", json_schema=schema))
    hook = await make_hook(trader, channel="signals.strict")
    async with sender() as tv:
        wrong = await tv.post(hook["path"], json={"price": "high"})
        text_alert = await tv.post(hook["path"], content="price is high")
        right = await tv.post(hook["path"], json={"price": 1.5})
    assert assert_error(wrong, 422, "hub_schema_violation")["details"]["path"] == "$.price"
    assert_error(text_alert, 422, "hub_schema_violation")
    assert right.status_code == 201 and right.json()["seq"] == 1


async def test_bad_bodies_get_clear_errors_and_publish_nothing(trader, sender):
    hook = await make_hook(trader)
    async with sender() as tv:
        too_large = await tv.post(hook["path"], content="x" * (webhooks.MAX_BODY_BYTES + 1))
        not_utf8 = await tv.post(hook["path"], content=b"caf\xe9 au lait")
        empty = await tv.post(hook["path"], content=b"")
        blank = await tv.post(hook["path"], content=b"  \n ")
        broken = await tv.post(hook["path"], content='{"ticker": "BTC", "close": }')
        deep = await tv.post(hook["path"], content='{"a": ' + "[" * 30_000 + "]" * 30_000 + "}")
        huge = await tv.post(hook["path"], content='{"n": 1' + "0" * 5000 + "}")
        bad_key = await tv.post(hook["path"], json={"key": 5})
        nul = await tv.post(hook["path"], json={"text": "a\x00b"})
    assert assert_error(too_large, 413, "hub_webhook_body_too_large")["details"]["limit"] == 65536
    assert assert_error(not_utf8, 400, "hub_webhook_not_utf8")["details"] == {"position": 3}
    assert_error(empty, 422, "hub_webhook_invalid_body")
    assert_error(blank, 422, "hub_webhook_invalid_body")
    error = assert_error(broken, 422, "hub_webhook_invalid_body")
    assert (error["details"]["line"], error["details"]["column"]) == (1, 28) and "not valid JSON" in error["message"]
    assert_error(deep, 422, "hub_webhook_invalid_body")
    assert_error(huge, 422, "hub_webhook_invalid_body")
    assert assert_error(bad_key, 422, "hub_webhook_invalid_body")["details"]["field"] == "key"
    assert_error(nul, 422, "invalid")
    assert (await trader.get(f"{API}/channels/signals.btcusdt/publications")).status_code == 404


async def test_json_that_is_not_an_object_is_text(trader, sender):
    hook = await make_hook(trader)
    async with sender() as tv:
        for body in ("42", '["a", 1]', '"quoted"'):
            assert (await tv.post(hook["path"], content=body)).status_code == 201
    assert [p["payload"] for p in await history(trader)] == [{"text": "42"}, {"text": '["a", 1]'}, {"text": '"quoted"'}]


async def test_the_secret_never_reaches_the_database_in_clear(trader, sender, session):
    hook = await make_hook(trader)
    async with sender() as tv:
        await tv.post(hook["path"], content="x")
    rows = (await session.execute(text("SELECT * FROM hub_webhooks"))).all()
    assert hook["secret"] not in repr(rows)
    listed = (await trader.get(f"{API}/webhooks")).json()
    assert hook["secret"] not in json.dumps(listed) and listed[0]["path"] is None
    assert listed[0]["secret_prefix"] == hook["secret"][:6] and listed[0]["last_used_at"] is not None


# Rights -------------------------------------------------------------------------------------------------------


async def test_a_webhook_acts_with_its_owners_rights_at_creation_and_at_each_alert(trader, sender, session):
    private = await trader.post(f"{API}/webhooks", json={"name": "x", "channel": "user.1"})
    assert_error(private, 403, "hub_not_allowed")
    own = await trader.post(f"{API}/webhooks", json={"name": "x", "channel": f"user.{trader.user_id}"})
    assert_error(own, 403, "hub_not_allowed")  # only FinTrack publishes on user channels
    hook = await make_hook(trader, channel="signals.vip")
    await store.put_namespace(session, Namespace("signals.vip", publish="admin"))
    async with sender() as tv:
        refused = await tv.post(hook["path"], content="x")
    assert_error(refused, 403, "hub_not_allowed")


async def test_managing_webhooks_needs_the_publish_scope_and_a_tokens_channel_patterns(client, alice):
    assert_error(await alice.get(f"{API}/webhooks"), 403, "missing_scope")
    limited = await alice.post(
        "/api/v1/tokens", json={"name": "btc", "scopes": ["hub:publish"], "channel_patterns": ["signals.btc"]}
    )
    headers = {"Authorization": f"Bearer {limited.json()['token']}"}
    outside = await client.post(f"{API}/webhooks", headers=headers, json={"name": "x", "channel": "signals.eth"})
    assert_error(outside, 403, "hub_not_allowed")
    inside = await client.post(f"{API}/webhooks", headers=headers, json={"name": "x", "channel": "signals.btc"})
    assert inside.status_code == 201, inside.text


async def test_one_user_cannot_see_or_touch_anothers_webhooks(trader, rival, sender):
    hook = await make_hook(trader)
    mine = await make_hook(rival, channel="signals.rival")
    assert [h["id"] for h in (await rival.get(f"{API}/webhooks")).json()] == [mine["id"]]
    ghost = 2**62
    for method in ("GET", "DELETE"):
        hers = await rival.client.request(method, f"{API}/webhooks/{hook['id']}", headers=rival.headers)
        nobody = await rival.client.request(method, f"{API}/webhooks/{ghost}", headers=rival.headers)
        assert_error(hers, 404, "hub_webhook_not_found")
        assert hers.json()["error"]["message"] == nobody.json()["error"]["message"]
    assert (await trader.get(f"{API}/webhooks/{hook['id']}")).json()["revoked_at"] is None
    async with sender() as tv:
        assert (await tv.post(hook["path"], content="still works")).status_code == 201


async def test_the_secret_stays_out_of_the_access_log(app, trader):
    hook = await make_hook(trader)
    logged: list[str] = []

    async def access_log(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        logged.append(scope["path"])  # what the request log middleware writes once the app is done

    transport = httpx.ASGITransport(app=access_log, client=(TRADINGVIEW_IP, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as tv:
        assert (await tv.post(hook["path"], content="x")).status_code == 201
    assert logged == [f"/hooks/tradingview/{hook['secret'][:4]}..."]
