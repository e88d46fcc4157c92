"""Transactions: splits, transfers, accent-free search, filters, keyset pages, balances, bulk, idempotency."""

from __future__ import annotations

import pytest


@pytest.fixture
async def nubank(alice):
    return (await alice.post("/api/v1/accounts", json={"name": "Nubank", "opening_balance": "500.00"})).json()


async def add(persona, account, amount, day="2026-11-10", **extra):
    response = await persona.post(
        "/api/v1/transactions", json={"account_id": account["id"], "date": day, "amount": amount, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def category_id(persona, name):
    return next(c["id"] for c in (await persona.get("/api/v1/categories")).json() if c["name"] == name)


async def test_a_transaction_carries_payee_tags_and_category(alice, nubank):
    groceries = await category_id(alice, "Supermercado")
    tx = await add(
        alice,
        nubank,
        "-230.45",
        payee="Pão de Açúcar",
        description="PAO DE ACUCAR 123",
        category_id=groceries,
        tags=["casa", "Mensal"],
        memo="compra do mês",
        external_id="FIT-1",
    )
    assert (tx["amount"], tx["currency"], tx["payee"], tx["category_id"]) == (
        "-230.45",
        "BRL",
        "Pão de Açúcar",
        groceries,
    )
    assert tx["tags"] == ["Mensal", "casa"] and tx["external_id"] == "FIT-1"
    again = await add(alice, nubank, "-10.00", payee="PÃO DE AÇÚCAR", tags=["CASA"])
    assert again["payee_id"] == tx["payee_id"]
    assert len((await alice.get("/api/v1/tags")).json()) == 2


async def test_splits_must_sum_to_the_whole(alice, nubank):
    food, home = await category_id(alice, "Supermercado"), await category_id(alice, "Casa e decoração")
    parts = [{"category_id": food, "amount": "-150.00"}, {"category_id": home, "amount": "-50.00"}]
    tx = await add(alice, nubank, "-200.00", splits=parts)
    assert [s["amount"] for s in tx["splits"]] == ["-150.00", "-50.00"] and tx["category_id"] is None
    bad = await alice.post(
        "/api/v1/transactions",
        json={
            "account_id": nubank["id"],
            "date": "2026-11-10",
            "amount": "-200.00",
            "splits": [{"category_id": food, "amount": "-150.00"}, {"category_id": home, "amount": "-49.99"}],
        },
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "split_mismatch"
    assert bad.json()["error"]["details"]["parts_total"] == "-199.99"
    by_category = await alice.get("/api/v1/transactions", params={"category_id": home})
    assert [t["id"] for t in by_category.json()["items"]] == [tx["id"]]
    changed = await alice.patch(f"/api/v1/transactions/{tx['id']}", json={"amount": "-210.00"})
    assert changed.status_code == 422 and changed.json()["error"]["code"] == "split_mismatch"


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"amount": "abc"}, 422, "validation_error"),
        ({"amount": -12.5}, 422, "validation_error"),
        ({"amount": "1.001"}, 422, "invalid_money"),
        ({"currency": "USD"}, 422, "currency_mismatch"),
        ({"currency": "ZZZ"}, 422, "currency_mismatch"),
        ({"date": "2026-02-30"}, 422, "validation_error"),
        ({"date": "30/01/2026"}, 422, "validation_error"),
        ({"date": "0001-01-01"}, 422, "validation_error"),
        ({"category_id": 999999999}, 404, "category_not_found"),
        ({"account_id": 999999999}, 404, "account_not_found"),
    ],
)
async def test_bad_transactions_are_refused_and_nothing_is_written(alice, nubank, payload, status, code):
    body = {"account_id": nubank["id"], "date": "2026-11-10", "amount": "-1.00", "payee": "Novo", **payload}
    response = await alice.post("/api/v1/transactions", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert (await alice.get("/api/v1/transactions")).json()["items"] == []
    assert (await alice.get("/api/v1/payees")).json() == []


async def test_transfer_across_currencies_keeps_the_rate_and_both_legs(alice, nubank):
    usd = (await alice.post("/api/v1/accounts", json={"name": "Wise USD", "currency": "USD"})).json()
    made = await alice.post(
        "/api/v1/transfers",
        json={
            "from_account_id": nubank["id"],
            "to_account_id": usd["id"],
            "date": "2026-11-05",
            "amount": "540.00",
            "to_amount": "100.00",
            "description": "Câmbio",
        },
    )
    assert made.status_code == 201, made.text
    transfer = made.json()
    assert transfer["rate"] == "0.185185185185"
    assert (transfer["from_transaction"]["amount"], transfer["to_transaction"]["amount"]) == ("-540.00", "100.00")
    missing = await alice.post(
        "/api/v1/transfers",
        json={"from_account_id": nubank["id"], "to_account_id": usd["id"], "date": "2026-11-05", "amount": "1.00"},
    )
    assert missing.status_code == 422 and missing.json()["error"]["details"]["field"] == "to_amount"
    locked = await alice.patch(f"/api/v1/transactions/{transfer['to_transaction']['id']}", json={"amount": "1.00"})
    assert locked.status_code == 422 and locked.json()["error"]["code"] == "transfer_leg"
    await alice.delete(f"/api/v1/transactions/{transfer['from_transaction']['id']}")
    assert (await alice.get("/api/v1/transactions")).json()["items"] == []
    assert (await alice.get(f"/api/v1/transfers/{transfer['id']}")).status_code == 404


async def test_search_ignores_accents_and_case_across_description_memo_and_payee(alice, nubank):
    cafe = await add(alice, nubank, "-8.50", description="CAFÉ DO PONTO")
    memo = await add(alice, nubank, "-3.00", description="DEBITO", memo="pão na padaria São João")
    payee = await add(alice, nubank, "-99.00", description="COMPRA 1234", payee="Mercadão Açaí")
    await add(alice, nubank, "-1.00", description="outra coisa")

    async def ids(q):
        return {t["id"] for t in (await alice.get("/api/v1/transactions", params={"q": q})).json()["items"]}

    assert await ids("cafe") == {cafe["id"]}
    assert await ids("CAFÉ ponto") == {cafe["id"]}
    assert await ids("sao joao") == {memo["id"]}
    assert await ids("acai") == {payee["id"]}
    assert await ids("mercadao") == {payee["id"]}
    assert await ids("100%") == set()
    assert await ids("_") == set()


async def test_filters_combine(alice, nubank):
    savings = (await alice.post("/api/v1/accounts", json={"name": "Poupança", "type": "savings"})).json()
    tag = "viagem"
    a = await add(alice, nubank, "-50.00", day="2026-10-01", tags=[tag])
    await add(alice, nubank, "-500.00", day="2026-10-02")
    await add(alice, savings, "-60.00", day="2026-10-03", tags=[tag])
    await add(alice, nubank, "-55.00", day="2026-09-01", tags=[tag])
    tag_id = (await alice.get("/api/v1/tags")).json()[0]["id"]
    params = {
        "account_id": nubank["id"],
        "tag_id": tag_id,
        "date_from": "2026-10-01",
        "date_to": "2026-10-31",
        "amount_min": "-100.00",
        "amount_max": "0",
    }
    assert [t["id"] for t in (await alice.get("/api/v1/transactions", params=params)).json()["items"]] == [a["id"]]
    bad = await alice.get("/api/v1/transactions", params={"amount_min": "ten"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["errors"][0]["field"] == "amount_min"


async def test_keyset_pages_cover_everything_once_newest_first(alice, nubank):
    made = [await add(alice, nubank, f"-{n}.00", day=f"2026-0{1 + n % 9}-1{n % 10}") for n in range(1, 24)]
    seen, cursor = [], None
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = (await alice.get("/api/v1/transactions", params=params)).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(t["id"] for t in seen) == sorted(t["id"] for t in made)
    keys = [(t["date"], t["id"]) for t in seen]
    assert keys == sorted(keys, reverse=True)
    bad = await alice.get("/api/v1/transactions", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"


async def test_balances_now_and_as_of_a_date(alice, nubank):
    await add(alice, nubank, "-100.00", day="2026-01-15")
    await add(alice, nubank, "2000.00", day="2026-02-05")
    tx = await add(alice, nubank, "-30.00", day="2026-02-20")
    balances = (await alice.get("/api/v1/reports/balances")).json()
    assert balances["accounts"][0]["balance"] == "2370.00" and balances["total_in_base"] == "2370.00"

    async def as_of(day):
        return (await alice.get("/api/v1/reports/balances", params={"as_of": day})).json()["accounts"][0]["balance"]

    assert [await as_of(d) for d in ("2025-12-31", "2026-01-15", "2026-02-05", "2026-02-19")] == [
        "500.00",
        "400.00",
        "2400.00",
        "2400.00",
    ]
    await alice.patch(f"/api/v1/transactions/{tx['id']}", json={"amount": "-40.00", "date": "2026-03-01"})
    assert await as_of("2026-02-28") == "2400.00"
    assert (await alice.get(f"/api/v1/accounts/{nubank['id']}")).json()["balance"] == "2360.00"
    await alice.delete(f"/api/v1/transactions/{tx['id']}")
    assert (await alice.get(f"/api/v1/accounts/{nubank['id']}")).json()["balance"] == "2400.00"


async def test_totals_in_base_currency_use_the_days_rate(alice, nubank):
    usd = (
        await alice.post("/api/v1/accounts", json={"name": "Card USD", "type": "credit_card", "currency": "USD"})
    ).json()
    await add(alice, usd, "-10.00", day="2026-11-03")
    missing = (await alice.get("/api/v1/reports/balances")).json()
    assert missing["missing_rates"] == ["USD"]
    await alice.put("/api/v1/fx-rates", json={"currency": "USD", "day": "2026-11-01", "rate": "5.00"})
    await alice.put("/api/v1/fx-rates", json={"currency": "USD", "day": "2026-11-04", "rate": "6.00"})
    balances = (await alice.get("/api/v1/reports/balances", params={"as_of": "2026-11-03"})).json()
    assert balances["total_in_base"] == "450.00"
    report = (
        await alice.get("/api/v1/reports/cashflow", params={"date_from": "2026-11-01", "date_to": "2026-11-30"})
    ).json()
    assert report["months"][0]["expense"] == "-50.00"


async def test_bulk_is_all_or_nothing_and_names_each_bad_item(alice, nubank):
    good = {"account_id": nubank["id"], "date": "2026-11-01", "amount": "-1.00"}
    bad = await alice.post(
        "/api/v1/transactions/bulk",
        json={"transactions": [good, {**good, "amount": "1.999"}, good, {**good, "category_id": 999999999}]},
    )
    assert bad.status_code == 422, bad.text
    details = bad.json()["error"]["details"]
    assert [(e["index"], e["code"]) for e in details["errors"]] == [(1, "invalid_money"), (3, "category_not_found")]
    assert (await alice.get("/api/v1/transactions")).json()["items"] == []
    ok = await alice.post("/api/v1/transactions/bulk", json={"transactions": [good] * 3})
    assert ok.json()["created"] == 3


async def test_idempotency_key_replays_instead_of_duplicating(alice, nubank):
    body = {"account_id": nubank["id"], "date": "2026-11-01", "amount": "-7.00"}
    headers = {"Idempotency-Key": "pix-123"}
    first = await alice.post("/api/v1/transactions", json=body, headers=headers)
    second = await alice.post("/api/v1/transactions", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second.headers["idempotent-replayed"] == "true"
    assert len((await alice.get("/api/v1/transactions")).json()["items"]) == 1
    other = await alice.post("/api/v1/transactions", json={**body, "amount": "-8.00"}, headers=headers)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"


async def test_update_sends_only_what_changes_and_null_clears(alice, nubank):
    tx = await add(alice, nubank, "-5.00", memo="x", payee="Padaria", tags=["a"])
    changed = await alice.patch(f"/api/v1/transactions/{tx['id']}", json={"memo": None, "tags": ["b"], "payee": None})
    body = changed.json()
    assert (body["memo"], body["tags"], body["payee"], body["amount"]) == (None, ["b"], None, "-5.00")
