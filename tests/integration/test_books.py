"""Books are shared with roles: owners manage, editors write, viewers read."""

from __future__ import annotations


async def test_default_book_has_categories_in_the_users_language(alice, bob):
    pt = {c["name"] for c in (await alice.get("/api/v1/categories")).json()}
    en = {c["name"] for c in (await bob.get("/api/v1/categories")).json()}
    assert {"Alimentação", "Supermercado", "Salário"} <= pt
    assert {"Food", "Groceries", "Salary"} <= en
    books = (await bob.get("/api/v1/books")).json()
    assert [(b["base_currency"], b["locale"], b["role"]) for b in books] == [("USD", "en", "owner")]


async def test_categories_have_two_levels(alice):
    cats = (await alice.get("/api/v1/categories")).json()
    by_id = {c["id"]: c for c in cats}
    assert all(by_id[c["parent_id"]]["parent_id"] is None for c in cats if c["parent_id"])
    child = next(c for c in cats if c["parent_id"])
    deeper = await alice.post("/api/v1/categories", json={"name": "Deep", "parent_id": child["id"]})
    assert deeper.status_code == 422 and deeper.json()["error"]["code"] == "invalid_category_parent"


async def test_a_second_book_is_reached_by_naming_it(alice):
    second = await alice.post("/api/v1/books", json={"name": "Empresa", "base_currency": "USD", "locale": "en"})
    assert second.status_code == 201, second.text
    book_id = second.json()["id"]
    made = await alice.post(f"/api/v1/accounts?book_id={book_id}", json={"name": "Chase"})
    assert made.json()["currency"] == "USD"
    assert [a["name"] for a in (await alice.get(f"/api/v1/accounts?book_id={book_id}")).json()] == ["Chase"]
    assert (await alice.get("/api/v1/accounts")).json() == []


async def test_viewer_reads_but_cannot_write(alice, bob):
    await alice.post("/api/v1/accounts", json={"name": "Conta"})
    shared = await alice.put(f"/api/v1/books/{alice.book_id}/members", json={"email": bob.email, "role": "viewer"})
    assert shared.status_code == 200, shared.text
    seen = await bob.get(f"/api/v1/accounts?book_id={alice.book_id}")
    assert [a["name"] for a in seen.json()] == ["Conta"]
    write = await bob.post(f"/api/v1/accounts?book_id={alice.book_id}", json={"name": "Mine now"})
    assert write.status_code == 403 and write.json()["error"]["code"] == "read_only"


async def test_editor_writes_but_only_owners_share(alice, bob):
    await alice.put(f"/api/v1/books/{alice.book_id}/members", json={"email": bob.email, "role": "editor"})
    made = await bob.post(f"/api/v1/accounts?book_id={alice.book_id}", json={"name": "Conjunta"})
    assert made.status_code == 201
    share = await bob.put(f"/api/v1/books/{alice.book_id}/members", json={"email": bob.email, "role": "owner"})
    assert share.status_code == 403 and share.json()["error"]["code"] == "owner_required"


async def test_the_last_owner_cannot_leave(alice):
    gone = await alice.delete(f"/api/v1/books/{alice.book_id}/members/{alice.user_id}")
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "last_owner"
    demote = await alice.put(f"/api/v1/books/{alice.book_id}/members", json={"email": alice.email, "role": "viewer"})
    assert demote.status_code == 409


async def test_another_households_book_is_not_found_not_forbidden(alice, bob):
    response = await bob.get(f"/api/v1/accounts?book_id={alice.book_id}")
    missing = await bob.get("/api/v1/accounts?book_id=999999999")
    assert response.status_code == missing.status_code == 404
    assert response.json()["error"]["code"] == missing.json()["error"]["code"] == "book_not_found"
