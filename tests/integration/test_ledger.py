"""Accounts, payees, tags and FX rates, with their bad inputs."""

from __future__ import annotations

import pytest


async def test_accounts_default_to_the_book_currency_and_keep_exact_balances(alice):
    made = await alice.post("/api/v1/accounts", json={"name": "Itaú", "type": "checking", "opening_balance": "1000.10"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["currency"], body["opening_balance"], body["balance"]) == ("BRL", "1000.10", "1000.10")


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"name": "X", "currency": "XYZ"}, "invalid_money", "currency"),
        ({"name": "X", "opening_balance": "1.234"}, "invalid_money", "opening_balance"),
        ({"name": "X", "opening_balance": 12.5}, "validation_error", "opening_balance"),
        ({"name": "X", "opening_balance": "1,50"}, "validation_error", "opening_balance"),
        ({"name": "X", "type": "crypto"}, "validation_error", "type"),
        ({"name": ""}, "validation_error", "name"),
        ({"name": "X", "colour": "red"}, "validation_error", "colour"),
    ],
)
async def test_invalid_accounts_are_refused_and_nothing_is_written(alice, payload, code, field):
    response = await alice.post("/api/v1/accounts", json=payload)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert field in response.text
    assert (await alice.get("/api/v1/accounts")).json() == []


async def test_duplicate_names_conflict_ignoring_case(alice):
    assert (await alice.post("/api/v1/accounts", json={"name": "Nubank"})).status_code == 201
    again = await alice.post("/api/v1/accounts", json={"name": "NUBANK"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate_name"
    tag = await alice.post("/api/v1/tags", json={"name": "viagem"})
    assert (await alice.post("/api/v1/tags", json={"name": "Viagem"})).status_code == 409
    assert (await alice.patch(f"/api/v1/tags/{tag.json()['id']}", json={"name": "férias"})).json()["name"] == "férias"


async def test_an_account_with_transactions_is_archived_not_deleted(alice):
    account = (await alice.post("/api/v1/accounts", json={"name": "Velha"})).json()
    await alice.post(
        "/api/v1/transactions", json={"account_id": account["id"], "date": "2026-01-02", "amount": "-1.00"}
    )
    refused = await alice.delete(f"/api/v1/accounts/{account['id']}")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "in_use"
    archived = await alice.patch(f"/api/v1/accounts/{account['id']}", json={"archived": True})
    assert archived.json()["archived"] is True
    empty = (await alice.post("/api/v1/accounts", json={"name": "Nova"})).json()
    assert (await alice.delete(f"/api/v1/accounts/{empty['id']}")).status_code == 204


async def test_fx_rates_are_stored_per_day_and_validated(alice):
    put = await alice.put("/api/v1/fx-rates", json={"currency": "USD", "day": "2026-11-02", "rate": "5.3412"})
    assert put.status_code == 200, put.text
    await alice.put("/api/v1/fx-rates", json={"currency": "USD", "day": "2026-11-02", "rate": "5.40"})
    assert (await alice.get("/api/v1/fx-rates")).json() == [{"currency": "USD", "day": "2026-11-02", "rate": "5.4"}]
    base = await alice.put("/api/v1/fx-rates", json={"currency": "BRL", "day": "2026-11-02", "rate": "1"})
    assert base.status_code == 422 and "base currency" in base.json()["error"]["message"]
    zero = await alice.put("/api/v1/fx-rates", json={"currency": "USD", "day": "2026-11-02", "rate": "0"})
    assert zero.status_code == 422
