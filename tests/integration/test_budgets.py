"""Budgets: status math (children, splits, FX, rollover chains), alerts announced once, other books, bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from fintrack.books.access import access
from fintrack.budgets import flows, service
from fintrack.hub import store
from fintrack.hub.policy import SERVER

API = "/api/v1"
THIS_MONTH = dt.date.today().replace(day=1)


async def _made(response, status: int = 201) -> dict:
    done = await response
    assert done.status_code == status, done.text
    return done.json()


async def category(persona, name: str, parent: int | None = None, kind: str = "expense") -> int:
    body = {"name": name, "parent_id": parent, "kind": kind}
    return (await _made(persona.post(f"{API}/categories", json=body)))["id"]


async def spend(persona, account: int, day: str | dt.date, amount: str, category_id: int | None = None, **extra):
    body = {"account_id": account, "date": str(day), "amount": amount, "category_id": category_id, **extra}
    return await _made(persona.post(f"{API}/transactions", json=body))


async def budget(persona, category_id: int, amount: str, **extra) -> dict:
    return await _made(persona.post(f"{API}/budgets", json={"category_id": category_id, "amount": amount, **extra}))


async def status_of(persona, month: str) -> dict[int, dict]:
    found = await _made(persona.get(f"{API}/budgets/status", params={"month": month}), 200)
    return {line["budget_id"]: line for line in found["budgets"]}


@pytest.fixture
async def wallet(alice) -> int:
    return (await _made(alice.post(f"{API}/accounts", json={"name": "Carteira"})))["id"]


async def test_spent_counts_children_splits_refunds_and_converted_currencies_but_not_transfers(alice, wallet):
    market = await category(alice, "Feira")
    greens = await category(alice, "Hortifruti", parent=market)
    cinema = await category(alice, "Cinema")
    usd = (await _made(alice.post(f"{API}/accounts", json={"name": "Wise", "currency": "USD"})))["id"]
    await _made(alice.put(f"{API}/fx-rates", json={"currency": "USD", "day": "2026-02-01", "rate": "5.0"}), 200)
    made = await budget(alice, market, "500.00", starts="2026-03")
    assert (made["amount"], made["currency"], made["starts"], made["ends"]) == ("500.00", "BRL", "2026-03", None)

    await spend(alice, wallet, "2026-03-02", "-100.00", market)
    await spend(alice, wallet, "2026-03-03", "-50.50", greens)  # a child counts in its parent's budget
    await spend(alice, wallet, "2026-03-04", "20.00", market)  # a refund lowers spending
    await spend(alice, wallet, "2026-03-05", "-999.00", cinema)
    parts = [{"category_id": greens, "amount": "-120.00"}, {"category_id": cinema, "amount": "-80.00"}]
    await spend(alice, wallet, "2026-03-06", "-200.00", splits=parts)
    await spend(alice, usd, "2026-03-07", "-10.00", market)  # 50.00 BRL at 5.0
    await spend(alice, wallet, "2026-02-28", "-70.00", market)  # another month
    await spend(alice, wallet, "2026-04-01", "-70.00", market)
    other = (await _made(alice.post(f"{API}/accounts", json={"name": "Poupança"})))["id"]
    transfer = {"from_account_id": wallet, "to_account_id": other, "date": "2026-03-08", "amount": "300.00"}
    await _made(alice.post(f"{API}/transfers", json=transfer))

    line = (await status_of(alice, "2026-03"))[made["id"]]
    assert line == {
        "budget_id": made["id"],
        "category_id": market,
        "category": "Feira",
        "month": "2026-03",
        "limit": "500.00",
        "rollover": "0.00",
        "available": "500.00",
        "spent": "300.50",  # 100 + 50.50 - 20 + 120 + 50
        "remaining": "199.50",
        "percent": 60.1,
        "state": "ok",
    }
    assert await status_of(alice, "2026-02") == {}  # before its first month the budget is not active
    listed = await _made(alice.get(f"{API}/budgets", params={"month": "2026-03"}), 200)
    assert [(b["id"], b["status"]["spent"]) for b in listed] == [(made["id"], "300.50")]
    one = await _made(alice.get(f"{API}/budgets/{made['id']}", params={"month": "2026-02"}), 200)
    assert one["status"] is None and one["amount"] == "500.00"


async def test_rollover_carries_unspent_and_overspent_month_to_month_from_the_first_month(alice, wallet):
    cinema = await category(alice, "Cinema")
    games = await category(alice, "Jogos")
    rolling = await budget(alice, cinema, "100.00", rollover=True, starts="2026-01", ends="2026-04")
    plain = await budget(alice, games, "100.00", starts="2026-01")
    for day, amount in (("2026-01-10", "-30.00"), ("2026-02-10", "-250.00"), ("2026-04-10", "-90.00")):
        await spend(alice, wallet, day, amount, cinema)
        await spend(alice, wallet, day, amount, games)

    expected = {  # month: (rollover, available, spent, remaining, percent, state)
        "2026-01": ("0.00", "100.00", "30.00", "70.00", 30.0, "ok"),
        "2026-02": ("70.00", "170.00", "250.00", "-80.00", 147.1, "over"),
        "2026-03": ("-80.00", "20.00", "0.00", "20.00", 0.0, "ok"),
        "2026-04": ("20.00", "120.00", "90.00", "30.00", 75.0, "ok"),
    }
    for month, want in expected.items():
        lines = await status_of(alice, month)
        got = lines[rolling["id"]]
        assert (got["rollover"], got["available"], got["spent"], got["remaining"], got["percent"], got["state"]) == want
        assert lines[plain["id"]]["rollover"] == "0.00" and lines[plain["id"]]["available"] == "100.00"
    assert rolling["id"] not in await status_of(alice, "2026-05")  # after its last month

    # An overspent carry larger than the limit leaves nothing to spend: over, with no percentage.
    await spend(alice, wallet, "2026-02-11", "-100.00", cinema)
    march = (await status_of(alice, "2026-03"))[rolling["id"]]
    assert (march["available"], march["percent"], march["state"]) == ("-80.00", None, "over")


async def test_warning_from_80_and_over_from_100_percent_each_announced_once(db, alice, bob, wallet):
    food = await category(alice, "Restaurantes")
    made = await budget(alice, food, "100.00", starts=f"{THIS_MONTH:%Y-%m}")
    first = await spend(alice, wallet, THIS_MONTH, "-50.00", food)
    assert (await status_of(alice, f"{THIS_MONTH:%Y-%m}"))[made["id"]]["state"] == "ok"
    await spend(alice, wallet, THIS_MONTH, "-35.00", food)  # 85 %: warning
    assert (await status_of(alice, f"{THIS_MONTH:%Y-%m}"))[made["id"]]["state"] == "warning"
    await spend(alice, wallet, THIS_MONTH, "-1.00", food)  # still past 80 %: nothing new
    changed = await alice.patch(f"{API}/transactions/{first['id']}", json={"amount": "-70.00"})  # 106 %: over
    assert changed.status_code == 200, changed.text
    await spend(alice, wallet, THIS_MONTH, "-5.00", food)

    async with db.sessionmaker() as session, session.begin():
        history = await store.read(session, f"user.{alice.user_id}", 0, None, 1000, user=SERVER)
        crossed = [p for p in history.publications if p.payload["type"] == "budget.crossed"]
        assert [(p.payload["threshold"], p.payload["state"], p.payload["spent"]) for p in crossed] == [
            (80, "warning", "85.00"),
            (100, "over", "106.00"),
        ]
        assert crossed[0].key == f"budget.{made['id']}.{THIS_MONTH:%Y-%m}"
        assert crossed[1].payload["budget_id"] == made["id"] and crossed[1].payload["category"] == "Restaurantes"
        # Checking again finds nothing new to say.
        assert await service.check_crossings(session, alice.book_id, [THIS_MONTH]) == []
        assert await flows.spending_changed(session, alice.book_id, [THIS_MONTH]) == []
        # Bob's channel hears nothing of Alice's budgets.
        assert await service.check_crossings(session, bob.book_id, [THIS_MONTH]) == []


async def test_crossing_both_thresholds_at_once_is_one_event_and_old_months_ring_no_alert(db, alice, wallet):
    travel = await category(alice, "Viagens")
    made = await budget(alice, travel, "100.00", starts="2025-01")
    await spend(alice, wallet, "2025-06-10", "-500.00", travel)  # long gone: history, not news
    await spend(alice, wallet, THIS_MONTH, "-120.00", travel)
    async with db.sessionmaker() as session, session.begin():
        history = await store.read(session, f"user.{alice.user_id}", 0, None, 1000, user=SERVER)
        crossed = [p.payload for p in history.publications if p.payload["type"] == "budget.crossed"]
        assert [(c["month"], c["threshold"]) for c in crossed] == [(f"{THIS_MONTH:%Y-%m}", 100)]
        # The service itself announces any month it is given, once.
        book = await access(session, alice.user_id, None, alice.book_id)
        old = dt.date(2025, 6, 1)
        announced = await service.check_crossings(session, book.id, [old])
        assert [(c.line.budget_id, c.line.month, c.threshold) for c in announced] == [(made["id"], old, 100)]
        assert await service.check_crossings(session, book.id, [old]) == []


async def test_an_import_commit_announces_the_crossings_it_causes(db, alice, wallet):
    market = await category(alice, "Feira livre")
    made = await budget(alice, market, "100.00", starts=f"{THIS_MONTH:%Y-%m}")
    rule = {"name": "feira", "conditions": [{"field": "text", "value": "feira"}], "actions": {"category_id": market}}
    await _made(alice.post(f"{API}/rules", json=rule))
    day = THIS_MONTH.strftime("%d/%m/%Y")
    csv = f"Data,Valor,Identificador,Descrição\n{day},-45.00,,FEIRA A\n{day},-40.00,,FEIRA B\n"
    headers = {"Content-Type": "application/octet-stream"}
    preview = await _made(
        alice.post(f"{API}/imports", params={"account_id": wallet}, content=csv.encode(), headers=headers)
    )
    await _made(alice.post(f"{API}/imports/{preview['id']}/commit"), 200)
    assert (await status_of(alice, f"{THIS_MONTH:%Y-%m}"))[made["id"]]["spent"] == "85.00"
    async with db.sessionmaker() as session, session.begin():
        history = await store.read(session, f"user.{alice.user_id}", 0, None, 1000, user=SERVER)
        kinds = [(p.payload["type"], p.payload.get("threshold")) for p in history.publications]
        assert ("budget.crossed", 80) in kinds and kinds[-1] == ("import.committed", None)


async def test_bob_can_neither_see_nor_touch_alices_budgets(alice, bob):
    hers = await budget(alice, await category(alice, "Pets"), "300.00")
    url = f"{API}/budgets/{hers['id']}"
    for response in (
        await bob.get(url),
        await bob.patch(url, json={"amount": "1.00"}),
        await bob.delete(url),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "budget_not_found"
    assert (await bob.get(f"{API}/budgets")).json() == []
    assert (await bob.get(f"{API}/budgets/status")).json()["budgets"] == []
    stolen = await bob.post(f"{API}/budgets", json={"category_id": hers["category_id"], "amount": "5.00"})
    assert stolen.status_code == 422 and stolen.json()["error"]["details"]["field"] == "category_id"
    assert (await alice.get(url)).json()["amount"] == "300.00"


async def test_changes_and_deletion(alice):
    made = await budget(alice, await category(alice, "Academia"), "90.00", starts="2026-01")
    changed = await _made(alice.patch(f"{API}/budgets/{made['id']}", json={"amount": "120", "ends": "2026-06"}), 200)
    assert (changed["amount"], changed["ends"], changed["rollover"]) == ("120.00", "2026-06", False)
    opened = await _made(alice.patch(f"{API}/budgets/{made['id']}", json={"ends": None, "rollover": True}), 200)
    assert (opened["ends"], opened["rollover"]) == (None, True)
    assert (await alice.delete(f"{API}/budgets/{made['id']}")).status_code == 204
    assert (await alice.get(f"{API}/budgets/{made['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"category_id": 2**62, "amount": "10.00"}, 422, "unknown_category", "category_id"),
        ({"amount": "0"}, 422, "invalid_budget", "amount"),
        ({"amount": "-10.00"}, 422, "invalid_budget", "amount"),
        ({"amount": "10.001"}, 422, "invalid_budget", "amount"),  # BRL has two decimals
        ({"amount": 10}, 422, "validation_error", "amount"),  # never a JSON number
        ({"amount": "10.00", "starts": "2026-13"}, 422, "validation_error", "starts"),
        ({"amount": "10.00", "starts": "11/2026"}, 422, "validation_error", "starts"),
        ({"amount": "10.00", "starts": "2026-05", "ends": "2026-04"}, 422, "invalid_budget", "ends"),
        ({"amount": "10.00", "colour": "red"}, 422, "validation_error", "colour"),
    ],
)
async def test_bad_budgets_are_refused_naming_the_field(alice, body, status, code, field):
    body = {"category_id": await category(alice, "Presentes"), **body}
    response = await alice.post(f"{API}/budgets", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["details"].get("field", (error["details"].get("errors") or [{}])[0].get("field")) == field
    assert field in error["message"]


async def test_duplicates_income_categories_bad_months_and_nulls_are_refused(alice):
    gifts = await category(alice, "Presentes")
    made = await budget(alice, gifts, "10.00")
    again = await alice.post(f"{API}/budgets", json={"category_id": gifts, "amount": "20.00"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate_budget"
    assert again.json()["error"]["details"] == {"field": "category_id", "budget_id": made["id"]}
    salary = await category(alice, "Bônus", kind="income")
    income = await alice.post(f"{API}/budgets", json={"category_id": salary, "amount": "20.00"})
    assert income.status_code == 422 and income.json()["error"]["details"]["field"] == "category_id"
    for month in ("2026-1", "2026-00", "nov", "2026-11-01"):
        bad = await alice.get(f"{API}/budgets/status", params={"month": month})
        assert bad.status_code == 422 and bad.json()["error"]["details"]["errors"][0]["field"] == "month", month
    cleared = await alice.patch(f"{API}/budgets/{made['id']}", json={"amount": None})
    assert cleared.status_code == 422 and cleared.json()["error"]["details"]["field"] == "amount"
