"""Bob walks every route of the OpenAPI document against Alice's household: each one refuses, and her data stays.

The walk is driven by the document, so a new route fails `test_every_route_is_classified` until someone decides
here how it must behave when another household calls it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from tests.conftest import PASSWORD, Persona

API = "/api/v1"
SECRET = "ALICE-SECRET"  # in every name Alice gives, so a leak shows up in any response text
RATE = "5.98765"  # Alice's USD rate: the one piece of her data with no name
GHOST = 2**62  # ids from here up belong to nobody: Alice's ids must get exactly the answer these get
_probe = itertools.count(1)


@dataclass(frozen=True)
class Household:
    """Alice's ids (by the parameter names the API uses) and the names Bob could try to reuse."""

    ids: dict[str, int]
    spare: dict[str, int]  # throwaway items an editor may delete
    payee: str
    tag: str

    def ghost(self) -> Household:
        def unused(ids: dict[str, int]) -> dict[str, int]:
            return {name: GHOST + n for n, name in enumerate(ids)}

        return dataclasses.replace(self, ids=unused(self.ids), spare=unused(self.spare))


# What each route must do when Bob calls it ------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    code: str
    status: int = 404


@dataclass(frozen=True)
class Served:
    """Bob's own book answers, with his data only."""

    status: int = 200
    listed_in: str | None = None  # where Bob must find what he created


@dataclass(frozen=True)
class BookScoped:
    """Reached through a book (?book_id= or /books/{book_id}): naming Alice's book is a 404 book_not_found.

    own: in Bob's default book with Alice's ids in the path, body and filters (None: not applicable).
    member: what a member of Alice's book may do here: read, write (editors, not viewers) or owner only.
    """

    own: Refused | Served | None
    member: Literal["read", "write", "owner"]


@dataclass(frozen=True)
class UserScoped:
    """Not reached through a book: acts on the caller alone; `check` proves it touches only Bob."""

    check: Callable[[Walk], Awaitable[None]]


# Search filters that take ids, and which of Alice's ids they get.
FILTERS = {"account_id": "account_id", "category_id": "child_id", "tag_id": "tag_id"}


@dataclass
class Walk:
    """The document, both personas and Alice's household: enough to call any route as anyone."""

    doc: dict[str, Any]
    alice: Persona
    bob: Persona
    home: Household

    async def send(
        self,
        who: Persona,
        method: str,
        path: str,
        *,
        ids: dict[str, int] | None = None,
        refs: Household | None = None,
        book_id: int | None = None,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """One request built from the document: path ids, ?book_id=, filters and a body naming `refs`."""
        refs = refs or self.home
        op = self.doc["paths"][path][method.lower()]
        url = path
        for name in _path_params(op):
            url = url.replace(f"{{{name}}}", str(_path_value(path, name, ids or refs.ids)))
        params: dict[str, Any] = {}
        headers = dict(who.headers)
        for param in op.get("parameters", []):
            name = param["name"]
            if param["in"] == "query" and name == "book_id":
                if book_id is not None:
                    params["book_id"] = book_id
            elif param["in"] == "query" and name in FILTERS:
                params[name] = refs.ids[FILTERS[name]]
            elif param["in"] == "query" and name == "q":
                params[name] = SECRET  # searching for Alice's words must find nothing of hers
            elif param["in"] == "header" and name == "idempotency-key":
                # The keys Alice used: a key store shared across users would replay her response to Bob.
                headers["Idempotency-Key"] = f"key-{path}"
        if body is None and "requestBody" in op:
            if "application/octet-stream" in op["requestBody"]["content"]:
                # A statement upload: the file is the body, and it names an account through ?account_id=.
                headers["Content-Type"] = "application/octet-stream"
                probe = b"date,amount,payee,notes\n2026-11-06,-1.00,probe,\n"
                return await who.client.request(method, url, params=params, headers=headers, content=probe)
            body = self.body(op, refs)
        return await who.client.request(method, url, params=params, headers=headers, json=body)

    def body(self, op: dict[str, Any], refs: Household, **overrides: Any) -> Any:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        name = schema["$ref"].rsplit("/", 1)[-1]
        values = {
            "account_id": refs.ids["account_id"],
            "from_account_id": refs.ids["account_id"],
            "to_account_id": refs.ids["other_account_id"],
            "category_id": refs.ids["child_id"],
            "parent_id": refs.ids["category_id"],
            "kind": "expense",
            "payee": refs.payee,
            "tags": [refs.tag],
            "amount": "-10.00",
            # Rules: conditions and actions that name the household's account, category and tag.
            "conditions": [
                {"field": "description", "op": "contains", "value": "probe"},
                {"field": "account", "ids": [refs.ids["account_id"]]},
            ],
            "actions": {"category_id": refs.ids["child_id"], "tag_ids": [refs.ids["tag_id"]]},
            "ids": [refs.ids["rule_id"], refs.spare["rule_id"]],  # RuleOrder: every rule of the book
            "splits": [
                {"category_id": refs.ids["child_id"], "amount": "-6.00", "memo": "probe"},
                {"category_id": refs.ids["category_id"], "amount": "-4.00", "memo": None},
            ],
            "email": self.bob.email,  # MemberPut: Bob tries to add himself to the book
            "role": "owner",
            "password": PASSWORD,
            "locale": "en",
            "base_currency": "USD",
            **BODY_VALUES.get(name, {}),
            **overrides,
        }
        return _instance(self.doc, schema, values)


BODY_VALUES: dict[str, dict[str, Any]] = {
    "TransferCreate": {"amount": "10.00", "to_amount": "10.00"},
    "FxRatePut": {"currency": "EUR"},  # neither Alice's (BRL) nor Bob's (USD) base currency
    "BudgetCreate": {"amount": "10.00"},  # a limit is above zero
    "BudgetUpdate": {"amount": "10.00"},
    "CsvMapping": {
        "date": 0,
        "amount": 1,
        "payee": 2,
        "memo": 3,
        "description": None,
        "debit": None,
        "credit": None,
        "category": None,
        "external_id": None,
        "kind": None,
    },
}


def _instance(doc: dict[str, Any], schema: dict[str, Any], values: dict[str, Any]) -> Any:
    """A valid instance of a request schema: `values` by property name, else the schema's example or default."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        return _instance(doc, next(s for s in schema["anyOf"] if s.get("type") != "null"), values)
    if schema.get("type") == "object":
        return {
            key: values[key] if key in values else _instance(doc, sub, values)
            for key, sub in schema["properties"].items()
        }
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("default") is not None:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "array":
        return [_instance(doc, schema["items"], values)]
    if kind == "boolean":
        return False
    if kind == "string" and schema.get("format") == "date":
        return "2026-11-05"
    if kind == "string" and schema.get("format") == "date-time":
        return "2030-01-01T00:00:00Z"
    if kind == "string" and "pattern" not in schema:
        return f"Bob probe {next(_probe)}"
    raise AssertionError(f"no value for {schema}: add one by property name to Walk.body")


def _path_params(op: dict[str, Any]) -> list[str]:
    return [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]


def _path_value(path: str, name: str, ids: dict[str, int]) -> int:
    if name == "item_id":  # payees and tags share their routes' shape
        name = "payee_id" if path.startswith(f"{API}/payees") else "tag_id"
    return ids[name]


# Checks of the routes that act on the caller, not on a book ----------------------------------------------------


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and isinstance(body["error"]["details"], dict), body


def assert_nothing_of_alices(walk: Walk, response: httpx.Response) -> None:
    for secret in (SECRET, RATE, walk.alice.email):
        assert secret not in response.text, f"{response.request.method} {response.request.url}: {response.text}"


async def setup_status_says_nothing_about_users(walk: Walk) -> None:
    response = await walk.send(walk.bob, "GET", f"{API}/setup")
    assert response.status_code == 200 and response.json() == {"needs_setup": False}


async def setup_is_closed(walk: Walk) -> None:
    op = walk.doc["paths"][f"{API}/setup"]["post"]
    body = walk.body(op, walk.home, email="mallory@example.com")
    assert_error(await walk.send(walk.bob, "POST", f"{API}/setup", body=body), 409, "setup_done")


async def login_does_not_reveal_who_exists(walk: Walk) -> None:
    wrong = await walk.send(
        walk.bob, "POST", f"{API}/auth/login", body={"email": walk.alice.email, "password": "not her password"}
    )
    nobody = await walk.send(
        walk.bob, "POST", f"{API}/auth/login", body={"email": "nobody@example.com", "password": "not her password"}
    )
    assert_error(wrong, 401, "invalid_credentials")
    assert_error(nobody, 401, "invalid_credentials")
    assert wrong.json() == nobody.json() and "set-cookie" not in wrong.headers


async def logout_ends_nothing_of_alices(walk: Walk) -> None:
    # A bearer token has no web session to end; Alice's token still working is part of the final snapshot.
    assert (await walk.send(walk.bob, "POST", f"{API}/auth/logout")).status_code == 204


async def me_is_bob(walk: Walk) -> None:
    me = (await walk.send(walk.bob, "GET", f"{API}/auth/me")).json()
    assert (me["id"], me["email"], me["default_book_id"]) == (walk.bob.user_id, walk.bob.email, walk.bob.book_id)


async def tokens_are_bobs(walk: Walk) -> None:
    response = await walk.send(walk.bob, "GET", f"{API}/tokens")
    assert response.status_code == 200
    assert walk.home.ids["token_id"] not in {t["id"] for t in response.json()}
    assert_nothing_of_alices(walk, response)


async def new_token_is_bobs(walk: Walk) -> None:
    made = await walk.send(walk.bob, "POST", f"{API}/tokens")  # with the Idempotency-Key Alice used
    assert made.status_code == 201, made.text
    assert made.json()["token"].startswith(made.json()["prefix"]), "a replay of Alice's token would hide the secret"
    me = await walk.bob.client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {made.json()['token']}"})
    assert me.json()["id"] == walk.bob.user_id
    mine = (await walk.send(walk.bob, "GET", f"{API}/tokens")).json()
    assert made.json()["id"] in {t["id"] for t in mine}


async def alices_token_is_not_found(walk: Walk) -> None:
    hers = await walk.send(walk.bob, "DELETE", f"{API}/tokens/{{token_id}}")
    ghost = await walk.send(walk.bob, "DELETE", f"{API}/tokens/{{token_id}}", refs=walk.home.ghost())
    assert_error(hers, 404, "not_found")
    assert_error(ghost, 404, "not_found")


async def only_admins_create_users(walk: Walk) -> None:
    assert_error(await walk.send(walk.bob, "POST", f"{API}/users"), 403, "admin_required")


async def books_are_bobs(walk: Walk) -> None:
    response = await walk.send(walk.bob, "GET", f"{API}/books")
    books = response.json()
    assert walk.bob.book_id in {b["id"] for b in books}
    assert walk.home.ids["book_id"] not in {b["id"] for b in books}
    assert {b["role"] for b in books} == {"owner"}
    assert_nothing_of_alices(walk, response)


async def new_book_is_bobs(walk: Walk) -> None:
    made = await walk.send(walk.bob, "POST", f"{API}/books")
    assert made.status_code == 201 and made.json()["role"] == "owner", made.text
    assert made.json()["id"] in {b["id"] for b in (await walk.send(walk.bob, "GET", f"{API}/books")).json()}


async def _bobs_hub_token(walk: Walk) -> dict[str, str]:
    made = await walk.bob.post(f"{API}/tokens", json={"name": "hub", "scopes": ["hub:publish", "hub:history"]})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


async def alices_private_channel_takes_nothing_from_bob(walk: Walk) -> None:
    url = f"{API}/hub/channels/user.{walk.alice.user_id}/publications"
    hub = await _bobs_hub_token(walk)
    assert_error(await walk.bob.client.post(url, headers=hub, json={"payload": SECRET}), 403, "hub_not_allowed")
    assert_error(await walk.bob.post(url, json={"payload": SECRET}), 403, "missing_scope")


async def alices_private_history_is_not_bobs(walk: Walk) -> None:
    url = f"{API}/hub/channels/user.{walk.alice.user_id}/publications"
    hub = await _bobs_hub_token(walk)
    assert_error(await walk.bob.client.get(url, headers=hub), 403, "hub_not_allowed")
    assert_error(await walk.bob.get(url), 403, "missing_scope")


async def alices_private_channel_streams_nothing_to_bob(walk: Walk) -> None:
    url = f"{API}/hub/channels/user.{walk.alice.user_id}/events"
    made = await walk.bob.post(f"{API}/tokens", json={"name": "stream", "scopes": ["hub:subscribe"]})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    resuming = {"Authorization": f"Bearer {token}", "Last-Event-ID": "1:0"}
    # Refused before the stream starts, however the token comes: never a 200 that would then say nothing.
    assert_error(await walk.bob.client.get(url, headers=resuming), 403, "hub_not_allowed")
    assert_error(await walk.bob.client.get(url, params={"token": token}), 403, "hub_not_allowed")
    assert_error(await walk.bob.get(url), 403, "missing_scope")


async def bob_lists_no_private_channel_but_his_own(walk: Walk) -> None:
    response = await walk.bob.client.get(f"{API}/hub/channels", headers=await _bobs_hub_token(walk))
    assert response.status_code == 200, response.text
    assert all(not c["name"].startswith("user.") or c["name"] == f"user.{walk.bob.user_id}" for c in response.json())
    assert_nothing_of_alices(walk, response)


async def _hub_headers(who: Persona) -> dict[str, str]:
    scopes = ["hub:publish", "hub:subscribe", "hub:history"]
    made = await who.post(f"{API}/tokens", json={"name": "hub consumers", "scopes": scopes})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


async def _as_alice(walk: Walk, method: str, url: str, body: dict[str, Any] | None = None) -> httpx.Response:
    """Alice in a web session (all scopes): a new hub token would show up in her snapshot."""
    client = walk.alice.client
    login = await client.post(f"{API}/auth/login", json={"email": walk.alice.email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    try:
        return await client.request(method, url, headers={"X-CSRF-Token": login.json()["csrf_token"]}, json=body)
    finally:
        client.cookies.clear()  # the personas share one client: Bob must not carry Alice's session


async def _alices_consumer(walk: Walk, name: str = "alices-bot") -> str:
    url = f"{API}/hub/consumers/signals.cross/{name}"
    made = await _as_alice(walk, "PUT", url, {})
    assert made.status_code == 200, made.text
    return url


async def bob_lists_only_his_consumers(walk: Walk) -> None:
    await _alices_consumer(walk)
    response = await walk.bob.client.get(f"{API}/hub/consumers", headers=await _hub_headers(walk.bob))
    assert response.status_code == 200 and response.json() == [], response.text


async def bob_cannot_forget_alices_consumer(walk: Walk) -> None:
    url = await _alices_consumer(walk, "hers-only")
    assert_error(await walk.bob.client.delete(url, headers=await _hub_headers(walk.bob)), 404, "hub_consumer_not_found")
    listed = (await _as_alice(walk, "GET", f"{API}/hub/consumers")).json()
    assert "hers-only" in [c["name"] for c in listed]


async def bobs_consumer_of_the_same_name_is_his_own(walk: Walk) -> None:
    url = await _alices_consumer(walk)
    sent = await _as_alice(walk, "POST", f"{API}/hub/channels/signals.cross/publications", {"payload": SECRET})
    assert sent.status_code == 201, sent.text
    his = await _hub_headers(walk.bob)
    mine = await walk.bob.client.put(url, headers=his, json={"after_seq": 0})
    assert mine.status_code == 200 and mine.json()["acked_seq"] == 0, mine.text
    listed = (await _as_alice(walk, "GET", f"{API}/hub/consumers")).json()
    assert ("alices-bot", 1) not in [(c["name"], c["acked_seq"]) for c in listed]  # hers did not move with his
    assert [c["acked_seq"] for c in listed if c["name"] == "alices-bot"] == [0]
    private = f"{API}/hub/consumers/user.{walk.alice.user_id}/spy"
    assert_error(await walk.bob.client.put(private, headers=his, json={}), 403, "hub_not_allowed")


async def alices_private_channel_presence_is_not_bobs(walk: Walk) -> None:
    url = f"{API}/hub/channels/user.{walk.alice.user_id}/presence"
    assert_error(await walk.bob.client.get(url, headers=await _hub_headers(walk.bob)), 403, "hub_not_allowed")
    assert_error(await walk.bob.get(url), 403, "missing_scope")


async def a_hub_token_is_only_for_a_web_session(walk: Walk) -> None:
    # Bob calls with an API token: he gets no token at all (and a web session's token carries only his user id).
    assert_error(await walk.bob.post(f"{API}/auth/hub-token"), 422, "invalid")


async def only_admins_see_hub_namespaces(walk: Walk) -> None:
    assert_error(await walk.send(walk.bob, "GET", f"{API}/hub/namespaces"), 403, "admin_required")


async def only_admins_set_hub_namespaces(walk: Walk) -> None:
    sent = await walk.bob.put(f"{API}/hub/namespaces", json={"pattern": "user.*", "history": "scope"})
    assert_error(sent, 403, "admin_required")


async def _alices_webhook(walk: Walk, *, body_secret: bool = False) -> dict[str, Any]:
    """A webhook of Alice's, made in a web session: a new hub token would show up in her snapshot."""
    client = walk.alice.client
    login = await client.post(f"{API}/auth/login", json={"email": walk.alice.email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    try:
        made = await client.post(
            f"{API}/hub/webhooks",
            headers={"X-CSRF-Token": login.json()["csrf_token"]},
            json={
                "name": f"{SECRET} alerts",
                "channel": "signals.alice",
                "secret_in": "body" if body_secret else "path",
            },
        )
    finally:
        client.cookies.clear()  # the personas share one client: Bob must not carry Alice's session
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


async def bob_lists_only_his_webhooks(walk: Walk) -> None:
    hers = await _alices_webhook(walk)
    assert_error(await walk.bob.get(f"{API}/hub/webhooks"), 403, "missing_scope")
    response = await walk.bob.client.get(f"{API}/hub/webhooks", headers=await _bobs_hub_token(walk))
    assert response.status_code == 200, response.text
    assert hers["id"] not in {w["id"] for w in response.json()}
    assert_nothing_of_alices(walk, response)


async def bobs_webhook_publishes_where_bob_may(walk: Walk) -> None:
    hub = await _bobs_hub_token(walk)
    url = f"{API}/hub/webhooks"
    private = {"name": "spy", "channel": f"user.{walk.alice.user_id}"}
    assert_error(await walk.bob.client.post(url, headers=hub, json=private), 403, "hub_not_allowed")
    made = await walk.bob.client.post(url, headers=hub, json={"name": "mine", "channel": "signals.bob"})
    assert made.status_code == 201, made.text
    assert made.json()["id"] in {w["id"] for w in (await walk.bob.client.get(url, headers=hub)).json()}


async def alices_webhook_is_not_found(walk: Walk) -> None:
    hers = await _alices_webhook(walk)
    hub = await _bobs_hub_token(walk)
    found = await walk.bob.client.get(f"{API}/hub/webhooks/{hers['id']}", headers=hub)
    ghost = await walk.bob.client.get(f"{API}/hub/webhooks/{GHOST}", headers=hub)
    assert_error(found, 404, "hub_webhook_not_found")
    assert found.json()["error"]["message"] == ghost.json()["error"]["message"]
    assert_nothing_of_alices(walk, found)


async def alices_webhook_cannot_be_revoked_by_bob(walk: Walk) -> None:
    hers = await _alices_webhook(walk)
    revoked = await walk.bob.client.delete(f"{API}/hub/webhooks/{hers['id']}", headers=await _bobs_hub_token(walk))
    assert_error(revoked, 404, "hub_webhook_not_found")
    assert (await walk.bob.client.post(hers["path"], content="still hers")).status_code == 201


async def a_webhook_url_takes_its_secret_not_a_token(walk: Walk) -> None:
    hers = await _alices_webhook(walk, body_secret=True)
    hub = await _bobs_hub_token(walk)
    without = await walk.bob.client.post(hers["path"], headers=hub, json={"ticker": SECRET})
    as_token = await walk.bob.client.post(f"/hooks/tradingview/{walk.alice.token}", headers=hub, content="x")
    assert_error(without, 404, "hub_webhook_not_found")
    assert_error(as_token, 404, "hub_webhook_not_found")
    assert without.json() == as_token.json()


# The table: every route of the document, and what it owes another household ---------------------------------

ROUTES: dict[tuple[str, str], BookScoped | UserScoped] = {
    ("GET", "/api/v1/setup"): UserScoped(setup_status_says_nothing_about_users),
    ("POST", "/api/v1/setup"): UserScoped(setup_is_closed),
    ("POST", "/api/v1/auth/login"): UserScoped(login_does_not_reveal_who_exists),
    ("POST", "/api/v1/auth/logout"): UserScoped(logout_ends_nothing_of_alices),
    ("GET", "/api/v1/auth/me"): UserScoped(me_is_bob),
    ("POST", "/api/v1/auth/hub-token"): UserScoped(a_hub_token_is_only_for_a_web_session),
    ("GET", "/api/v1/tokens"): UserScoped(tokens_are_bobs),
    ("POST", "/api/v1/tokens"): UserScoped(new_token_is_bobs),
    ("DELETE", "/api/v1/tokens/{token_id}"): UserScoped(alices_token_is_not_found),
    ("POST", "/api/v1/users"): UserScoped(only_admins_create_users),
    ("GET", "/api/v1/books"): UserScoped(books_are_bobs),
    ("POST", "/api/v1/hub/channels/{channel}/publications"): UserScoped(alices_private_channel_takes_nothing_from_bob),
    ("GET", "/api/v1/hub/channels/{channel}/publications"): UserScoped(alices_private_history_is_not_bobs),
    ("GET", "/api/v1/hub/channels/{channel}/events"): UserScoped(alices_private_channel_streams_nothing_to_bob),
    ("GET", "/api/v1/hub/channels"): UserScoped(bob_lists_no_private_channel_but_his_own),
    ("GET", "/api/v1/hub/namespaces"): UserScoped(only_admins_see_hub_namespaces),
    ("GET", "/api/v1/hub/consumers"): UserScoped(bob_lists_only_his_consumers),
    ("GET", "/api/v1/hub/channels/{channel}/presence"): UserScoped(alices_private_channel_presence_is_not_bobs),
    ("PUT", "/api/v1/hub/consumers/{channel}/{name}"): UserScoped(bobs_consumer_of_the_same_name_is_his_own),
    ("DELETE", "/api/v1/hub/consumers/{channel}/{name}"): UserScoped(bob_cannot_forget_alices_consumer),
    ("PUT", "/api/v1/hub/namespaces"): UserScoped(only_admins_set_hub_namespaces),
    ("GET", "/api/v1/hub/webhooks"): UserScoped(bob_lists_only_his_webhooks),
    ("POST", "/api/v1/hub/webhooks"): UserScoped(bobs_webhook_publishes_where_bob_may),
    ("GET", "/api/v1/hub/webhooks/{webhook_id}"): UserScoped(alices_webhook_is_not_found),
    ("DELETE", "/api/v1/hub/webhooks/{webhook_id}"): UserScoped(alices_webhook_cannot_be_revoked_by_bob),
    ("POST", "/hooks/tradingview/{token}"): UserScoped(a_webhook_url_takes_its_secret_not_a_token),
    ("POST", "/api/v1/books"): UserScoped(new_book_is_bobs),
    ("GET", "/api/v1/books/{book_id}"): BookScoped(None, "read"),
    ("PATCH", "/api/v1/books/{book_id}"): BookScoped(None, "owner"),
    ("GET", "/api/v1/books/{book_id}/members"): BookScoped(None, "read"),
    ("PUT", "/api/v1/books/{book_id}/members"): BookScoped(None, "owner"),
    ("DELETE", "/api/v1/books/{book_id}/members/{user_id}"): BookScoped(None, "owner"),
    ("GET", "/api/v1/accounts"): BookScoped(Served(), "read"),
    ("POST", "/api/v1/imports"): BookScoped(Refused("account_not_found"), "write"),
    ("GET", "/api/v1/imports"): BookScoped(Served(), "read"),
    ("GET", "/api/v1/imports/{import_id}"): BookScoped(Refused("import_not_found"), "read"),
    ("GET", "/api/v1/imports/{import_id}/rows"): BookScoped(Refused("import_not_found"), "read"),
    ("PUT", "/api/v1/imports/{import_id}/rows/{row_id}/decision"): BookScoped(Refused("import_not_found"), "write"),
    ("PUT", "/api/v1/imports/{import_id}/rows/{row_id}/category"): BookScoped(Refused("import_not_found"), "write"),
    ("PUT", "/api/v1/imports/{import_id}/mapping"): BookScoped(Refused("import_not_found"), "write"),
    ("GET", "/api/v1/import-profiles"): BookScoped(Served(), "read"),
    ("DELETE", "/api/v1/import-profiles/{profile_id}"): BookScoped(Refused("import_profile_not_found"), "write"),
    ("POST", "/api/v1/imports/{import_id}/commit"): BookScoped(Refused("import_not_found"), "write"),
    ("POST", "/api/v1/imports/{import_id}/revert"): BookScoped(Refused("import_not_found"), "write"),
    ("POST", "/api/v1/accounts"): BookScoped(Served(201, listed_in="/api/v1/accounts"), "write"),
    ("GET", "/api/v1/accounts/{account_id}"): BookScoped(Refused("account_not_found"), "read"),
    ("PATCH", "/api/v1/accounts/{account_id}"): BookScoped(Refused("account_not_found"), "write"),
    ("DELETE", "/api/v1/accounts/{account_id}"): BookScoped(Refused("account_not_found"), "write"),
    ("GET", "/api/v1/categories"): BookScoped(Served(), "read"),
    ("POST", "/api/v1/categories"): BookScoped(Refused("invalid_category_parent", 422), "write"),
    ("PATCH", "/api/v1/categories/{category_id}"): BookScoped(Refused("category_not_found"), "write"),
    ("DELETE", "/api/v1/categories/{category_id}"): BookScoped(Refused("category_not_found"), "write"),
    ("GET", "/api/v1/payees"): BookScoped(Served(), "read"),
    ("POST", "/api/v1/payees"): BookScoped(Served(201, listed_in="/api/v1/payees"), "write"),
    ("GET", "/api/v1/payees/{item_id}"): BookScoped(Refused("payee_not_found"), "read"),
    ("PATCH", "/api/v1/payees/{item_id}"): BookScoped(Refused("payee_not_found"), "write"),
    ("DELETE", "/api/v1/payees/{item_id}"): BookScoped(Refused("payee_not_found"), "write"),
    ("GET", "/api/v1/tags"): BookScoped(Served(), "read"),
    ("POST", "/api/v1/tags"): BookScoped(Served(201, listed_in="/api/v1/tags"), "write"),
    ("GET", "/api/v1/tags/{item_id}"): BookScoped(Refused("tag_not_found"), "read"),
    ("PATCH", "/api/v1/tags/{item_id}"): BookScoped(Refused("tag_not_found"), "write"),
    ("DELETE", "/api/v1/tags/{item_id}"): BookScoped(Refused("tag_not_found"), "write"),
    ("GET", "/api/v1/fx-rates"): BookScoped(Served(), "read"),
    ("PUT", "/api/v1/fx-rates"): BookScoped(Served(200, listed_in="/api/v1/fx-rates"), "write"),
    ("GET", "/api/v1/transactions"): BookScoped(Served(), "read"),  # filtered by Alice's ids: nothing
    ("POST", "/api/v1/transactions"): BookScoped(Refused("account_not_found"), "write"),
    ("POST", "/api/v1/transactions/bulk"): BookScoped(Refused("account_not_found"), "write"),
    ("GET", "/api/v1/transactions/{transaction_id}"): BookScoped(Refused("transaction_not_found"), "read"),
    ("PATCH", "/api/v1/transactions/{transaction_id}"): BookScoped(Refused("transaction_not_found"), "write"),
    ("DELETE", "/api/v1/transactions/{transaction_id}"): BookScoped(Refused("transaction_not_found"), "write"),
    ("POST", "/api/v1/transfers"): BookScoped(Refused("account_not_found"), "write"),
    ("GET", "/api/v1/transfers/{transfer_id}"): BookScoped(Refused("transfer_not_found"), "read"),
    ("DELETE", "/api/v1/transfers/{transfer_id}"): BookScoped(Refused("transfer_not_found"), "write"),
    ("GET", "/api/v1/transactions/{transaction_id}/suggestion"): BookScoped(Refused("transaction_not_found"), "read"),
    ("POST", "/api/v1/categorize/suggest"): BookScoped(Served(), "read"),  # learned from Bob's history only
    ("GET", "/api/v1/search"): BookScoped(Served(), "read"),
    # Reports filtered by Alice's account ids: refused, as made-up ids are.
    ("GET", "/api/v1/reports/balances"): BookScoped(Refused("account_not_found"), "read"),
    ("GET", "/api/v1/reports/categories"): BookScoped(Refused("account_not_found"), "read"),
    ("GET", "/api/v1/reports/cashflow"): BookScoped(Refused("account_not_found"), "read"),
    ("GET", "/api/v1/reports/category-trends"): BookScoped(Refused("account_not_found"), "read"),
    ("GET", "/api/v1/reports/net-worth"): BookScoped(Refused("account_not_found"), "read"),
    ("GET", "/api/v1/rules"): BookScoped(Served(), "read"),
    # Before POST: the order must name every rule, and an editor's new rule would be missing from it.
    ("PUT", "/api/v1/rules/order"): BookScoped(Refused("rule_order_mismatch", 422), "write"),
    ("POST", "/api/v1/rules"): BookScoped(Refused("unknown_reference", 422), "write"),
    ("POST", "/api/v1/rules/dry-run"): BookScoped(Refused("unknown_reference", 422), "read"),
    ("GET", "/api/v1/rules/suggestions"): BookScoped(Served(), "read"),
    ("GET", "/api/v1/rules/{rule_id}"): BookScoped(Refused("rule_not_found"), "read"),
    ("PATCH", "/api/v1/rules/{rule_id}"): BookScoped(Refused("rule_not_found"), "write"),
    ("DELETE", "/api/v1/rules/{rule_id}"): BookScoped(Refused("rule_not_found"), "write"),
    ("POST", "/api/v1/rules/{rule_id}/apply"): BookScoped(Refused("rule_not_found"), "write"),
    ("GET", "/api/v1/budgets"): BookScoped(Served(), "read"),
    ("POST", "/api/v1/budgets"): BookScoped(Refused("unknown_category", 422), "write"),
    ("GET", "/api/v1/budgets/status"): BookScoped(Served(), "read"),
    ("GET", "/api/v1/budgets/{budget_id}"): BookScoped(Refused("budget_not_found"), "read"),
    ("PATCH", "/api/v1/budgets/{budget_id}"): BookScoped(Refused("budget_not_found"), "write"),
    ("DELETE", "/api/v1/budgets/{budget_id}"): BookScoped(Refused("budget_not_found"), "write"),
    ("POST", "/api/v1/recurring/detect"): BookScoped(Served(), "write"),  # finds only Bob's own history
    ("GET", "/api/v1/recurring"): BookScoped(Served(), "read"),
    ("GET", "/api/v1/recurring/upcoming"): BookScoped(Served(), "read"),
    ("GET", "/api/v1/recurring/{series_id}"): BookScoped(Refused("recurring_not_found"), "read"),
    ("PATCH", "/api/v1/recurring/{series_id}"): BookScoped(Refused("recurring_not_found"), "write"),
    ("DELETE", "/api/v1/recurring/{series_id}"): BookScoped(Refused("recurring_not_found"), "write"),
}


# Alice's household and its snapshot ---------------------------------------------------------------------------


async def _made(response: Awaitable[httpx.Response], status: int = 201) -> dict[str, Any]:
    done = await response
    assert done.status_code == status, done.text
    return done.json()  # type: ignore[no-any-return]


async def furnish(alice: Persona) -> Household:
    """One of everything in Alice's book, created through her API, plus spare items an editor may delete."""

    def key(path: str) -> dict[str, Any]:
        return {"headers": {"Idempotency-Key": f"key-{API}{path}"}}

    account = await _made(
        alice.post(
            f"{API}/accounts", json={"name": f"{SECRET} Conta", "opening_balance": "1000.00"}, **key("/accounts")
        )
    )
    other = await _made(alice.post(f"{API}/accounts", json={"name": f"{SECRET} Poupança", "type": "savings"}))
    category = await _made(alice.post(f"{API}/categories", json={"name": f"{SECRET} Moradia"}, **key("/categories")))
    child = await _made(
        alice.post(f"{API}/categories", json={"name": f"{SECRET} Aluguel", "parent_id": category["id"]})
    )
    payee = await _made(alice.post(f"{API}/payees", json={"name": f"{SECRET} Padaria"}, **key("/payees")))
    tag = await _made(alice.post(f"{API}/tags", json={"name": f"{SECRET} viagem"}, **key("/tags")))
    transaction = await _made(
        alice.post(
            f"{API}/transactions",
            json={
                "account_id": account["id"],
                "date": "2026-11-02",
                "amount": "-150.00",
                "payee": payee["name"],
                "description": f"{SECRET} aluguel e condomínio",
                "tags": [tag["name"]],
                "splits": [
                    {"category_id": child["id"], "amount": "-100.00"},
                    {"category_id": category["id"], "amount": "-50.00", "memo": f"{SECRET} condomínio"},
                ],
            },
            **key("/transactions"),
        )
    )
    transfer = await _made(
        alice.post(
            f"{API}/transfers",
            json={
                "from_account_id": account["id"],
                "to_account_id": other["id"],
                "date": "2026-11-03",
                "amount": "200.00",
                "description": f"{SECRET} reserva",
            },
            **key("/transfers"),
        )
    )
    await _made(alice.put(f"{API}/fx-rates", json={"currency": "USD", "day": "2026-11-01", "rate": RATE}), 200)
    await _made(alice.post(f"{API}/tokens", json={"name": f"{SECRET} cli"}, **key("/tokens")))
    tokens = (await alice.get(f"{API}/tokens")).json()
    spare_transaction = await _made(
        alice.post(
            f"{API}/transactions",
            json={"account_id": account["id"], "date": "2026-11-04", "amount": "-5.00", "description": f"{SECRET} x"},
        )
    )
    rule = {"conditions": [{"field": "description", "value": "aluguel"}], "actions": {"category_id": child["id"]}}
    alices_rule = await _made(alice.post(f"{API}/rules", json={**rule, "name": f"{SECRET} aluguel"}, **key("/rules")))
    spare_rule = await _made(alice.post(f"{API}/rules", json={**rule, "name": f"{SECRET} spare"}))
    spare_transfer = await _made(
        alice.post(
            f"{API}/transfers",
            json={"from_account_id": other["id"], "to_account_id": account["id"], "date": "2026-11-04", "amount": "1"},
        )
    )
    statement = f"date,amount,payee,notes\n2026-11-05,-42.00,{SECRET} feira,x\n".encode()
    octet = {"Content-Type": "application/octet-stream"}

    async def preview(name: str, **kw: Any) -> dict[str, Any]:
        params = {"account_id": account["id"], "filename": name}
        return await _made(alice.post(f"{API}/imports", params=params, content=statement, **kw))

    imported = await preview("extrato.csv", headers={**octet, **key("/imports")["headers"]})
    await _made(alice.post(f"{API}/imports/{imported['id']}/commit"), 200)
    spare_import = await preview("outro.csv", headers=octet)
    first_row = (await alice.get(f"{API}/imports/{imported['id']}/rows")).json()["items"][0]["id"]
    mapping = {"date": 0, "amount": 1, "payee": 2, "memo": 3, "name": f"{SECRET} mapping"}
    # Before its rows are read: a new mapping explains the file afresh, with new row ids.
    profile = await _made(alice.put(f"{API}/imports/{spare_import['id']}/mapping", json=mapping), 200)
    spare_row = (await alice.get(f"{API}/imports/{spare_import['id']}/rows")).json()["items"][0]["id"]
    ids = {
        "book_id": alice.book_id,
        "import_id": imported["id"],
        "row_id": first_row,
        "user_id": alice.user_id,
        "account_id": account["id"],
        "other_account_id": other["id"],
        "category_id": category["id"],
        "child_id": child["id"],
        "payee_id": payee["id"],
        "tag_id": tag["id"],
        "transaction_id": transaction["id"],
        "transfer_id": transfer["id"],
        "token_id": min(t["id"] for t in tokens),
        "rule_id": alices_rule["id"],
        "profile_id": profile["profile_id"],
    }
    # On the parent category: an editor's new budget (on the child) must not collide with it.
    budget = {"category_id": category["id"], "amount": "800.00", "starts": "2026-11"}
    ids["budget_id"] = (await _made(alice.post(f"{API}/budgets", json=budget, **key("/budgets"))))["id"]
    spare = {
        **ids,
        "account_id": (await _made(alice.post(f"{API}/accounts", json={"name": f"{SECRET} spare"})))["id"],
        "category_id": (await _made(alice.post(f"{API}/categories", json={"name": f"{SECRET} spare"})))["id"],
        "payee_id": (await _made(alice.post(f"{API}/payees", json={"name": f"{SECRET} spare"})))["id"],
        "tag_id": (await _made(alice.post(f"{API}/tags", json={"name": f"{SECRET} spare"})))["id"],
        "transaction_id": spare_transaction["id"],
        "transfer_id": spare_transfer["id"],
        "import_id": spare_import["id"],
        "row_id": spare_row,
        "rule_id": spare_rule["id"],
    }
    # Its own category: deleting the spare category (earlier in an editor's walk) would take its budget along.
    budgeted = await _made(alice.post(f"{API}/categories", json={"name": f"{SECRET} spare budget"}))
    spare_budget = {"category_id": budgeted["id"], "amount": "1.00"}
    spare["budget_id"] = (await _made(alice.post(f"{API}/budgets", json=spare_budget)))["id"]
    # Three monthly charges up to this month's first, found by detection: a series of hers, and a spare one.
    this_month = dt.date.today().year * 12 + dt.date.today().month - 1
    months = [dt.date((this_month - k) // 12, (this_month - k) % 12 + 1, 1) for k in (2, 1, 0)]
    charges = [
        {"account_id": account["id"], "date": day.isoformat(), "amount": "-39.90", "description": text}
        for text in (f"{SECRET} STREAMING", f"{SECRET} ACADEMIA")
        for day in months
    ]
    await _made(alice.post(f"{API}/transactions/bulk", json={"transactions": charges}))
    assert (await _made(alice.post(f"{API}/recurring/detect"), 200))["found"] == 2
    series = {s["key"]: s["id"] for s in (await alice.get(f"{API}/recurring")).json()}
    ids["series_id"] = series["alice-secret streaming"]
    spare["series_id"] = series["alice-secret academia"]
    return Household(ids=ids, spare=spare, payee=payee["name"], tag=tag["name"])


async def snapshot(alice: Persona, home: Household) -> dict[str, Any]:
    """Everything Alice can list; `last_used_at` moves whenever she reads, so it is left out."""
    book, transfer = home.ids["book_id"], home.ids["transfer_id"]
    seen: dict[str, Any] = {}
    for url in (
        "/auth/me",
        "/books",
        f"/books/{book}",
        f"/books/{book}/members",
        "/accounts",
        "/categories",
        "/payees",
        "/tags",
        "/transactions?limit=500",
        "/fx-rates",
        f"/transfers/{transfer}",
        "/reports/balances",
        "/imports",
        "/import-profiles",
        "/tokens",
        "/rules",
        "/budgets?month=2026-11",
        "/recurring",
    ):
        response = await alice.get(API + url)
        assert response.status_code == 200, f"{url}: {response.text}"
        seen[url] = response.json()
    seen["/tokens"] = [{k: v for k, v in t.items() if k != "last_used_at"} for t in seen["/tokens"]]
    return seen


async def _walk(client: httpx.AsyncClient, alice: Persona, bob: Persona) -> Walk:
    doc = (await client.get(f"{API}/openapi.json")).json()
    return Walk(doc, alice, bob, await furnish(alice))


def _documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}


# The tests ----------------------------------------------------------------------------------------------------


async def test_every_route_is_classified(client):
    doc = (await client.get(f"{API}/openapi.json")).json()
    documented = _documented(doc)
    assert not documented - set(ROUTES), f"classify these routes in ROUTES: {sorted(documented - set(ROUTES))}"
    assert not set(ROUTES) - documented, f"gone from the document: {sorted(set(ROUTES) - documented)}"


async def test_bob_naming_alices_book_or_items_is_refused_everywhere(client, alice, bob):
    walk = await _walk(client, alice, bob)
    before = await snapshot(alice, walk.home)
    assert set(ROUTES) == _documented(walk.doc)
    for (method, path), rule in ROUTES.items():
        if isinstance(rule, UserScoped):
            await rule.check(walk)
            continue
        hers = await walk.send(bob, method, path, book_id=walk.home.ids["book_id"])
        ghost = await walk.send(bob, method, path, refs=walk.home.ghost(), book_id=GHOST)
        assert_error(hers, 404, "book_not_found")
        assert_nothing_of_alices(walk, hers)
        # Byte for byte what a book that does not exist gets, but for the id echoed back.
        assert hers.json()["error"]["message"] == ghost.json()["error"]["message"]
        assert hers.json()["error"]["details"].keys() == ghost.json()["error"]["details"].keys()
    assert await snapshot(alice, walk.home) == before


async def test_alices_ids_in_bobs_own_book_are_not_found_and_touch_nothing(client, alice, bob):
    walk = await _walk(client, alice, bob)
    before = await snapshot(alice, walk.home)
    for (method, path), rule in ROUTES.items():
        if not isinstance(rule, BookScoped) or rule.own is None:
            continue
        hers = await walk.send(bob, method, path)
        assert_nothing_of_alices(walk, hers)
        if isinstance(rule.own, Refused):
            assert_error(hers, rule.own.status, rule.own.code)
            ghost = await walk.send(bob, method, path, refs=walk.home.ghost())
            assert_error(ghost, rule.own.status, rule.own.code)
        else:
            assert hers.status_code == rule.own.status, f"{method} {path}: {hers.text}"
            if rule.own.listed_in:
                listed = (await bob.get(rule.own.listed_in)).json()
                made = hers.json()
                assert any(item == made or item.get("id", ...) == made.get("id") for item in listed), made
    assert (await bob.get(f"{API}/transactions")).json()["items"] == []
    assert await snapshot(alice, walk.home) == before


async def test_bobs_own_records_cannot_point_at_alices_items(client, alice, bob):
    walk = await _walk(client, alice, bob)
    home = walk.home.ids
    before = await snapshot(alice, walk.home)
    account = await _made(bob.post(f"{API}/accounts", json={"name": "Chase"}))
    tx = {"account_id": account["id"], "date": "2026-11-05", "amount": "-10.00"}
    mine = await _made(bob.post(f"{API}/transactions", json=tx))

    for sent in (
        {**tx, "category_id": home["child_id"]},
        {**tx, "splits": [{"category_id": home["child_id"], "amount": "-10.00"}, {"amount": "0"}]},
    ):
        assert_error(await bob.post(f"{API}/transactions", json=sent), 404, "category_not_found")
    recategorised = await bob.patch(f"{API}/transactions/{mine['id']}", json={"category_id": home["child_id"]})
    assert_error(recategorised, 404, "category_not_found")
    moved = await bob.patch(f"{API}/transactions/{mine['id']}", json={"account_id": home["account_id"]})
    assert_error(moved, 404, "account_not_found")
    bulk = await bob.post(
        f"{API}/transactions/bulk", json={"transactions": [tx, {**tx, "account_id": home["account_id"]}]}
    )
    assert_error(bulk, 422, "bulk_invalid")
    assert [(e["index"], e["code"]) for e in bulk.json()["error"]["details"]["errors"]] == [(1, "account_not_found")]
    for source, target in ((account["id"], home["account_id"]), (home["account_id"], account["id"])):
        moved = await bob.post(
            f"{API}/transfers",
            json={"from_account_id": source, "to_account_id": target, "date": "2026-11-05", "amount": "1.00"},
        )
        assert_error(moved, 404, "account_not_found")
    for name in ("child_id", "category_id", "tag_id", "account_id"):
        value = home[name]
        name = "category_id" if name == "child_id" else name
        found = await bob.get(f"{API}/transactions", params={name: value})
        assert found.status_code == 200 and found.json()["items"] == [], found.text

    # Names are looked up within the caller's book: reusing Alice's makes Bob his own payee and tag.
    named = await _made(bob.post(f"{API}/transactions", json={**tx, "payee": walk.home.payee, "tags": [walk.home.tag]}))
    assert named["payee_id"] != home["payee_id"]
    assert [p["id"] for p in (await bob.get(f"{API}/payees")).json()] == [named["payee_id"]]

    assert [t["id"] for t in (await bob.get(f"{API}/transactions")).json()["items"]] == [named["id"], mine["id"]]
    assert await snapshot(alice, walk.home) == before


async def _share(walk: Walk, role: str) -> None:
    shared = await walk.alice.put(
        f"{API}/books/{walk.home.ids['book_id']}/members", json={"email": walk.bob.email, "role": role}
    )
    assert shared.status_code == 200, shared.text


def _success(walk: Walk, method: str, path: str) -> int:
    return min(int(code) for code in walk.doc["paths"][path][method.lower()]["responses"] if code.startswith("2"))


def _book_scoped(deletes_last: bool = False) -> list[tuple[str, str, BookScoped]]:
    routes = [(m, p, rule) for (m, p), rule in ROUTES.items() if isinstance(rule, BookScoped)]
    return sorted(routes, key=lambda r: r[0] == "DELETE") if deletes_last else routes


async def test_a_viewer_of_alices_book_reads_everything_and_changes_nothing(client, alice, bob):
    walk = await _walk(client, alice, bob)
    await _share(walk, "viewer")
    before = await snapshot(alice, walk.home)
    book = walk.home.ids["book_id"]
    for method, path, rule in _book_scoped():
        response = await walk.send(bob, method, path, book_id=book)
        if rule.member == "read":
            assert response.status_code == 200, f"{method} {path}: {response.text}"
        else:
            assert_error(response, 403, "read_only" if rule.member == "write" else "owner_required")
    assert (await bob.get(f"{API}/books/{book}")).json()["role"] == "viewer"
    assert await snapshot(alice, walk.home) == before


async def test_an_editor_of_alices_book_writes_ledger_data_but_cannot_share_it(client, alice, bob):
    walk = await _walk(client, alice, bob)
    await _share(walk, "editor")
    book = walk.home.ids["book_id"]
    members = (await alice.get(f"{API}/books/{book}/members")).json()
    for method, path, rule in _book_scoped(deletes_last=True):
        response = await walk.send(bob, method, path, ids=walk.home.spare, book_id=book)
        if rule.member == "owner":
            assert_error(response, 403, "owner_required")
        else:
            assert response.status_code == _success(walk, method, path), f"{method} {path}: {response.text}"
    assert (await alice.get(f"{API}/books/{book}/members")).json() == members
    assert (await alice.get(f"{API}/books/{book}")).json()["name"] == "Minhas finanças"
    notes = [t["notes"] or "" for t in (await alice.get(f"{API}/transactions?limit=500")).json()["items"]]
    assert any(n.startswith("Bob probe") for n in notes), "the editor's transactions land in Alice's book"
