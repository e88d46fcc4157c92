"""First run, login by cookie with CSRF, throttling, and scoped, revocable tokens."""

from __future__ import annotations

from tests.conftest import PASSWORD


async def test_first_run_creates_the_admin_once(client):
    assert (await client.get("/api/v1/setup")).json() == {"needs_setup": True}
    created = await client.post("/api/v1/setup", json={"email": "root@example.com", "password": PASSWORD})
    assert created.status_code == 201, created.text
    assert created.json()["is_admin"] is True and created.json()["default_book_id"]
    assert (await client.get("/api/v1/setup")).json() == {"needs_setup": False}
    again = await client.post("/api/v1/setup", json={"email": "evil@example.com", "password": PASSWORD})
    assert again.status_code == 409 and again.json()["error"]["code"] == "setup_done"


async def test_setup_refuses_a_weak_password(client):
    weak = await client.post("/api/v1/setup", json={"email": "root@example.com", "password": "123"})
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "weak_password"
    assert (await client.get("/api/v1/setup")).json() == {"needs_setup": True}


async def login(client, email, password=PASSWORD):
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_cookie_login_needs_the_csrf_header_to_write(client, alice):
    response = await login(client, alice.email)
    assert response.status_code == 200, response.text
    assert "httponly" in response.headers["set-cookie"].lower()
    csrf = response.json()["csrf_token"]
    assert (await client.get("/api/v1/auth/me")).json()["email"] == alice.email
    forged = await client.post("/api/v1/accounts", json={"name": "Forged"})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed"
    wrong = await client.post("/api/v1/accounts", json={"name": "Forged"}, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    ok = await client.post("/api/v1/accounts", json={"name": "Real"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text


async def test_logout_ends_the_session(client, alice):
    csrf = (await login(client, alice.email)).json()["csrf_token"]
    assert (await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})).status_code == 204
    client.cookies.clear()
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_wrong_password_and_unknown_email_look_the_same(client, alice):
    wrong = await login(client, alice.email, "not the password at all")
    unknown = await login(client, "nobody@example.com", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_repeated_failures_are_throttled_even_with_the_right_password(client, alice):
    for _ in range(5):
        assert (await login(client, alice.email, "wrong password here")).status_code == 401
    throttled = await login(client, alice.email)
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "login_throttled"
    assert int(throttled.headers["retry-after"]) > 0


async def test_requests_without_credentials_are_refused(client):
    response = await client.get("/api/v1/accounts")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    bad = await client.get("/api/v1/accounts", headers={"Authorization": "Basic abc"})
    assert bad.status_code == 401
    unknown = await client.get("/api/v1/accounts", headers={"Authorization": "Bearer ft_nope"})
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "invalid_token"


async def test_tokens_are_shown_once_listed_without_secret_and_revocable(alice):
    created = await alice.post("/api/v1/tokens", json={"name": "bot", "scopes": ["api", "hub:subscribe"]})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    listed = (await alice.get("/api/v1/tokens")).json()
    assert all("token" not in t for t in listed)
    assert {t["name"] for t in listed} == {"test", "bot"}
    headers = {"Authorization": f"Bearer {token}"}
    assert (await alice.client.get("/api/v1/accounts", headers=headers)).status_code == 200
    revoked = await alice.delete(f"/api/v1/tokens/{created.json()['id']}")
    assert revoked.json()["revoked_at"]
    after = await alice.client.get("/api/v1/accounts", headers=headers)
    assert after.status_code == 401 and after.json()["error"]["code"] == "invalid_token"


async def test_a_hub_only_token_cannot_use_the_ledger_api(db, client):
    from tests.conftest import make_persona

    bot = await make_persona(db, client, "bot@example.com", scopes=["hub:subscribe"])
    response = await bot.get("/api/v1/accounts")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "missing_scope",
        "message": "this token lacks the 'api' scope",
        "details": {"required": "api"},
    }


async def test_only_admins_create_users(db, client, alice):
    refused = await alice.post("/api/v1/users", json={"email": "carol@example.com", "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "admin_required"
    root = await client.post("/api/v1/setup", json={"email": "root@example.com", "password": PASSWORD})
    assert root.status_code == 409  # alice exists already: setup is closed


async def test_a_token_that_expired_before_it_was_made_is_refused(alice):
    response = await alice.post("/api/v1/tokens", json={"name": "old", "expires_at": "2020-01-01T00:00:00Z"})
    assert response.status_code == 422 and response.json()["error"]["details"]["field"] == "expires_at"
