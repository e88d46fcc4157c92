"""The service answers on its operations surface and a user can record money."""

from __future__ import annotations


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text


async def test_alice_records_an_account_and_a_transaction(alice):
    account = await alice.post("/api/v1/accounts", json={"name": "Nubank", "opening_balance": "100.00"})
    assert account.status_code == 201, account.text
    tx = await alice.post(
        "/api/v1/transactions",
        json={
            "account_id": account.json()["id"],
            "date": "2026-11-01",
            "amount": "-12.50",
            "description": "CAFÉ DO PONTO",
            "payee": "Café do Ponto",
        },
    )
    assert tx.status_code == 201, tx.text
    found = await alice.get("/api/v1/transactions", params={"q": "cafe"})
    assert [t["id"] for t in found.json()["items"]] == [tx.json()["id"]]
    accounts = await alice.get("/api/v1/accounts")
    assert accounts.json()[0]["balance"] == "87.50"
