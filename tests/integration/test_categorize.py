"""Learned suggestions: vectors in pgvector, neighbours vote, corrections count at once, hybrid search."""

from __future__ import annotations

import pytest

from fintrack.categorize import service as categorize


@pytest.fixture
async def account(alice):
    return (await alice.post("/api/v1/accounts", json={"name": "Nubank"})).json()


async def category_named(persona, name):
    found = [c for c in (await persona.get("/api/v1/categories")).json() if c["name"] == name]
    assert found, f"no category {name!r}"
    return found[0]["id"]


async def record(persona, account, rows):
    items = [
        {
            "account_id": account["id"],
            "date": f"2026-10-{i % 28 + 1:02d}",
            "amount": amount,
            "description": text,
            **({"category_id": category} if category else {}),
        }
        for i, (text, amount, category) in enumerate(rows)
    ]
    response = await persona.post("/api/v1/transactions/bulk", json={"transactions": items})
    assert response.status_code == 201, response.text
    return response.json()["ids"]


async def embed_all(db, persona):
    async with db.sessionmaker() as session, session.begin():
        return await categorize.embed_missing(session, persona.book_id)


async def test_similar_history_suggests_a_category_with_confidence(alice, account, db):
    food = await category_named(alice, "Restaurantes")
    market = await category_named(alice, "Supermercado")
    await record(
        alice,
        account,
        [(f"IFD*IFOOD CLUB {n}", "-42.90", food) for n in range(4)]
        + [(f"SUPERMERCADO ZONA SUL {n}", "-180.00", market) for n in range(4)],
    )
    assert await embed_all(db, alice) == 8
    assert await embed_all(db, alice) == 0, "vectors are stored once"

    body = (await alice.post("/api/v1/categorize/suggest", json={"description": "IFOOD *IFOOD CLUB SAO PAULO"})).json()
    assert body["category_id"] == food and body["applies"] and body["confidence"] >= 0.8
    assert body["source"] == "similar" and body["neighbours"] == 5
    unknown = (await alice.post("/api/v1/categorize/suggest", json={"description": "XYZWQ"})).json()
    assert unknown["category_id"] is None or not unknown["applies"]


async def test_a_correction_is_learned_at_once(alice, account, db):
    market = await category_named(alice, "Supermercado")
    pharmacy = await category_named(alice, "Farmácia")
    ids = await record(alice, account, [("DROGASIL 123", "-35.00", market)] * 5)
    await embed_all(db, alice)
    assert (await alice.get(f"/api/v1/transactions/{ids[0]}/suggestion")).json()["category_id"] == market
    for tid in ids:
        await alice.patch(f"/api/v1/transactions/{tid}", json={"category_id": pharmacy})
    suggestion = (await alice.get(f"/api/v1/transactions/{ids[0]}/suggestion")).json()
    assert suggestion["category_id"] == pharmacy and suggestion["confidence"] == 1.0


async def test_a_new_transaction_is_learned_when_categorized_before_the_worker_ran(alice, account):
    pharmacy = await category_named(alice, "Farmácia")
    ids = await record(alice, account, [("DROGA RAIA 44", "-12.00", None)] * 5)
    for tid in ids:
        await alice.patch(f"/api/v1/transactions/{tid}", json={"category_id": pharmacy})
    body = (await alice.post("/api/v1/categorize/suggest", json={"description": "DROGA RAIA 99"})).json()
    assert body["category_id"] == pharmacy


async def test_suggestions_never_cross_books(alice, bob, account, db):
    market = await category_named(alice, "Supermercado")
    ids = await record(alice, account, [("SUPERMERCADO ZONA SUL", "-10.00", market)] * 6)
    await embed_all(db, alice)
    body = (await bob.post("/api/v1/categorize/suggest", json={"description": "SUPERMERCADO ZONA SUL"})).json()
    assert body["category_id"] is None
    assert (await bob.get(f"/api/v1/transactions/{ids[0]}/suggestion")).status_code == 404


async def test_hybrid_search_ranks_exact_merchants_first(alice, account, db):
    await record(
        alice,
        account,
        [
            ("IFD*IFOOD CLUB", "-30.00", None),
            ("PAG*JOSEDASILVA", "-50.00", None),
            ("Pix enviado - MARIA S", "-5", None),
        ],
    )
    await embed_all(db, alice)
    hits = (await alice.get("/api/v1/search", params={"q": "ifood"})).json()
    assert hits and hits[0]["transaction"]["description"] == "IFD*IFOOD CLUB"
    hits = (await alice.get("/api/v1/search", params={"q": "jose da silva"})).json()
    assert hits[0]["transaction"]["description"] == "PAG*JOSEDASILVA"
    assert (await alice.get("/api/v1/search", params={"q": ""})).status_code == 422
