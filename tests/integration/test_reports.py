"""Reports against a small household computed by hand: cash flow, category trends, net worth, filters and CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Persona

API = "/api/v1/reports"
Q1 = {"date_from": "2026-01-01", "date_to": "2026-03-31"}


@dataclass
class Household:
    """Alice's book: a checking account, a card and a dollar account; two months of life, then a quiet March."""

    conta: int
    cartao: int
    usd: int
    categories: dict[str, int]


async def _made(response: Any) -> dict[str, Any]:
    done = await response
    assert done.status_code in (200, 201), done.text
    return done.json()  # type: ignore[no-any-return]


@pytest.fixture
async def home(alice: Persona) -> Household:
    account = lambda **body: _made(alice.post("/api/v1/accounts", json=body))  # noqa: E731
    conta = (await account(name="Conta", opening_balance="1000.00"))["id"]
    cartao = (await account(name="Cartão", type="credit_card"))["id"]
    usd = (await account(name="Conta USD", currency="USD", opening_balance="100.00"))["id"]
    categories: dict[str, int] = {}
    for name, kind, parent in [
        ("Casa T", "expense", None),
        ("Aluguel T", "expense", "Casa T"),
        ("Mercado T", "expense", None),
        ("Lazer T", "expense", None),
        ("Saúde T", "expense", None),
        ("Renda T", "income", None),
        ("Salário T", "income", "Renda T"),
    ]:
        body = {"name": name, "kind": kind, "parent_id": categories[parent] if parent else None}
        categories[name] = (await _made(alice.post("/api/v1/categories", json=body)))["id"]
    for day, rate in [("2026-01-01", "5.00"), ("2026-02-15", "6.00")]:
        await _made(alice.put("/api/v1/fx-rates", json={"currency": "USD", "day": day, "rate": rate}))

    async def add(account: int, day: str, amount: str, category: str | None = None, **extra: Any) -> None:
        body = {"account_id": account, "date": day, "amount": amount, **extra}
        if category:
            body["category_id"] = categories[category]
        await _made(alice.post("/api/v1/transactions", json=body))

    await add(conta, "2026-01-05", "5000.00", "Salário T")
    await add(conta, "2026-01-10", "-2000.00", "Aluguel T")
    await add(cartao, "2026-01-12", "-300.00", "Mercado T")
    splits = [
        {"category_id": categories["Mercado T"], "amount": "-60.00"},
        {"category_id": categories["Casa T"], "amount": "-40.00"},
    ]
    await add(cartao, "2026-01-20", "-100.00", splits=splits)
    await add(usd, "2026-01-15", "-10.00", "Lazer T")  # at 5.00: -50.00
    await add(conta, "2026-01-25", "-20.00")  # not yet categorised
    transfer = {"from_account_id": conta, "to_account_id": cartao, "date": "2026-01-28", "amount": "400.00"}
    await _made(alice.post("/api/v1/transfers", json=transfer))  # paying the card: neither income nor expense
    await add(conta, "2026-02-05", "5000.00", "Salário T")
    await add(conta, "2026-02-10", "-2000.00", "Aluguel T")
    await add(cartao, "2026-02-11", "-150.00", "Mercado T")
    await add(usd, "2026-02-20", "-10.00", "Lazer T")  # at 6.00: -60.00
    await add(conta, "2026-02-21", "-30.00", "Saúde T")
    await add(conta, "2026-02-22", "15.00")  # a refund, not categorised
    return Household(conta, cartao, usd, categories)


async def _report(persona: Persona, name: str, **params: Any) -> dict[str, Any]:
    response = await persona.get(f"{API}/{name}", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _months(report: dict[str, Any], *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(m[f] for f in ("month", *fields)) for m in report["months"]]


# Cash flow: income against expense ----------------------------------------------------------------------------


async def test_cashflow_lists_every_month_with_income_expense_net_and_savings_rate(alice, home):
    report = await _report(alice, "cashflow", **Q1)
    assert report["base_currency"] == "BRL" and report["missing_rates"] == []
    assert _months(report, "income", "expense", "net", "savings_rate", "count") == [
        ("2026-01-01", "5000.00", "-2470.00", "2530.00", "0.5060", 7),
        ("2026-02-01", "5015.00", "-2240.00", "2775.00", "0.5533", 6),
        ("2026-03-01", "0.00", "0.00", "0.00", None, 0),
    ]
    total = report["total"]
    assert (total["income"], total["expense"], total["net"], total["savings_rate"], total["count"]) == (
        "10015.00",
        "-4710.00",
        "5305.00",
        "0.5297",
        13,
    )


async def test_transfers_between_own_accounts_are_not_income(alice, home):
    card = await _report(alice, "cashflow", **Q1, account_id=home.cartao)
    # The 400.00 paid into the card is a transfer: the card only spent.
    assert _months(card, "income", "expense", "savings_rate", "count") == [
        ("2026-01-01", "0.00", "-400.00", None, 3),
        ("2026-02-01", "0.00", "-150.00", None, 1),
        ("2026-03-01", "0.00", "0.00", None, 0),
    ]
    assert card["account_ids"] == [home.cartao]


async def test_several_accounts_filter_together(alice, home):
    both = await _report(
        alice, "cashflow", date_from="2026-01-01", date_to="2026-01-31", account_id=[home.usd, home.cartao]
    )
    assert _months(both, "income", "expense") == [("2026-01-01", "0.00", "-450.00")]
    assert both["account_ids"] == sorted([home.usd, home.cartao])


async def test_foreign_amounts_convert_at_each_days_rate(alice, home):
    usd = await _report(alice, "cashflow", **Q1, account_id=home.usd)
    assert _months(usd, "expense")[:2] == [("2026-01-01", "-50.00"), ("2026-02-01", "-60.00")]


async def test_a_currency_without_a_rate_is_named_not_guessed(alice, home):
    eur = await _made(alice.post("/api/v1/accounts", json={"name": "Conta EUR", "currency": "EUR"}))
    tx = {"account_id": eur["id"], "date": "2026-01-03", "amount": "-5.00"}
    await _made(alice.post("/api/v1/transactions", json=tx))
    report = await _report(alice, "cashflow", **Q1)
    assert report["missing_rates"] == ["EUR"]
    assert report["months"][0]["expense"] == "-2470.00"


async def test_cashflow_defaults_to_the_last_twelve_months(alice, home):
    report = await _report(alice, "cashflow", date_to="2026-03-31")
    assert (report["date_from"], report["date_to"]) == ("2025-04-01", "2026-03-31")
    assert len(report["months"]) == 12


# Category trends ------------------------------------------------------------------------------------------------


async def test_trends_roll_children_up_and_put_the_rest_in_others(alice, home):
    report = await _report(alice, "category-trends", **Q1, top=2)
    assert report["months"] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    c = home.categories
    got = [(s["bucket"], s["category"], s["total"], s["amounts"], s["category_ids"]) for s in report["series"]]
    assert got == [
        ("category", "Casa T", "-4040.00", ["-2040.00", "-2000.00", "0.00"], [c["Casa T"]]),
        ("category", "Mercado T", "-510.00", ["-360.00", "-150.00", "0.00"], [c["Mercado T"]]),
        ("others", None, "-140.00", ["-50.00", "-90.00", "0.00"], sorted([c["Lazer T"], c["Saúde T"]])),
        ("uncategorized", None, "-20.00", ["-20.00", "0.00", "0.00"], []),
    ]


async def test_trends_of_income_and_without_others_when_few_categories(alice, home):
    report = await _report(alice, "category-trends", **Q1, kind="income")
    got = [(s["bucket"], s["category"], s["amounts"]) for s in report["series"]]
    assert got == [
        ("category", "Renda T", ["5000.00", "5000.00", "0.00"]),
        ("uncategorized", None, ["0.00", "15.00", "0.00"]),
    ]


async def test_trends_follow_the_account_filter(alice, home):
    report = await _report(alice, "category-trends", **Q1, account_id=home.cartao)
    assert [(s["category"], s["total"]) for s in report["series"]] == [("Mercado T", "-510.00"), ("Casa T", "-40.00")]


# Net worth ------------------------------------------------------------------------------------------------------


async def test_net_worth_is_each_month_ends_total_in_the_base_currency(alice, home):
    report = await _report(alice, "net-worth", **Q1)
    assert [(p["month"], p["as_of"], p["assets"], p["liabilities"], p["net_worth"]) for p in report["months"]] == [
        ("2026-01-01", "2026-01-31", "4030.00", "0.00", "4030.00"),
        ("2026-02-01", "2026-02-28", "7045.00", "-150.00", "6895.00"),
        ("2026-03-01", "2026-03-31", "7045.00", "-150.00", "6895.00"),
    ]


async def test_net_worth_counts_history_before_the_range_and_stops_at_date_to(alice, home):
    report = await _report(alice, "net-worth", date_from="2026-02-01", date_to="2026-02-15")
    # Conta 1000 + 2580 (January) + 5000 - 2000; the card -150; 90 dollars at the rate of the 15th, 6.00.
    assert [(p["as_of"], p["net_worth"]) for p in report["months"]] == [("2026-02-15", "6970.00")]


async def test_net_worth_of_some_accounts(alice, home):
    report = await _report(alice, "net-worth", **Q1, account_id=[home.cartao, home.usd])
    assert [p["net_worth"] for p in report["months"]] == ["450.00", "330.00", "330.00"]


# CSV --------------------------------------------------------------------------------------------------------------


def _csv(response: Any, filename: str) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


async def test_cashflow_as_csv_reads_back_as_the_json(alice, home):
    rows = _csv(
        await alice.get(f"{API}/cashflow", params={**Q1, "format": "csv"}),
        "fintrack-cashflow-2026-01-01_2026-03-31.csv",
    )
    report = await _report(alice, "cashflow", **Q1)
    assert rows == [
        {
            "month": m["month"],
            "income": m["income"],
            "expense": m["expense"],
            "net": m["net"],
            "savings_rate": m["savings_rate"] or "",
            "count": str(m["count"]),
            "currency": "BRL",
        }
        for m in report["months"]
    ]


async def test_every_report_has_a_csv_with_a_header_row(alice, home):
    trends = _csv(
        await alice.get(f"{API}/category-trends", params={**Q1, "top": 2, "format": "csv"}),
        "fintrack-category-trends-2026-01-01_2026-03-31.csv",
    )
    assert {"month": "2026-01-01", "bucket": "category", "category_id": str(home.categories["Casa T"]),
            "category": "Casa T", "amount": "-2040.00", "currency": "BRL"} in trends  # fmt: skip
    assert len(trends) == 3 * 4
    worth = _csv(
        await alice.get(f"{API}/net-worth", params={**Q1, "format": "csv"}),
        "fintrack-net-worth-2026-01-01_2026-03-31.csv",
    )
    assert [(r["as_of"], r["net_worth"]) for r in worth] == [
        ("2026-01-31", "4030.00"),
        ("2026-02-28", "6895.00"),
        ("2026-03-31", "6895.00"),
    ]
    categories = _csv(
        await alice.get(f"{API}/categories", params={**Q1, "format": "csv"}),
        "fintrack-categories-2026-01-01_2026-03-31.csv",
    )
    assert {r["category"]: r["total"] for r in categories}["Saúde T"] == "-30.00"  # UTF-8, accents intact
    balances = _csv(
        await alice.get(f"{API}/balances", params={"as_of": "2026-01-31", "format": "csv"}),
        "fintrack-balances-2026-01-31.csv",
    )
    assert [(r["account"], r["balance"], r["balance_in_base"]) for r in balances] == [
        ("Cartão", "0.00", "0.00"),
        ("Conta", "3580.00", "3580.00"),
        ("Conta USD", "90.00", "450.00"),
    ]


# Refusals ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cashflow", "category-trends", "net-worth", "categories", "balances"])
async def test_bob_cannot_report_on_alices_accounts(alice, bob, home, name):
    mine = await _made(bob.post("/api/v1/accounts", json={"name": "Chase"}))
    for ids in ([home.conta], [mine["id"], home.cartao], [2**62]):
        response = await bob.get(f"{API}/{name}", params={"account_id": ids})
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert error["code"] == "account_not_found" and error["details"]["field"] == "account_id"
        for secret in ("Conta", "Cartão", "3580", "5000"):
            assert secret not in response.text
    assert (await bob.get(f"{API}/{name}", params={"account_id": mine["id"]})).status_code == 200


@pytest.mark.parametrize("name", ["cashflow", "category-trends", "net-worth", "categories"])
async def test_a_range_that_ends_before_it_starts_is_refused(alice, name):
    response = await alice.get(f"{API}/{name}", params={"date_from": "2026-03-01", "date_to": "2026-02-01"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["details"]["field"] == "date_from"
    assert "2026-03-01" in error["message"] and "2026-02-01" in error["message"]


@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize("value", ["01/02/2026", "2026-02-30", "20260201", "2300-01-01"])
async def test_a_badly_written_date_names_its_field(alice, field, value):
    response = await alice.get(f"{API}/cashflow", params={field: value})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [e["field"] for e in error["details"]["errors"]] == [field]


async def test_top_and_kind_are_checked(alice):
    for params in ({"top": 0}, {"top": 51}, {"kind": "transfer"}, {"format": "xlsx"}):
        response = await alice.get(f"{API}/category-trends", params=params)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"]["errors"][0]["field"] == next(iter(params))


async def test_the_overview_is_exactly_cashflow_and_trends_asked_for_apart(client, alice, db):
    """The reports page reads both from one pass: it must not differ from the two reports in any figure."""
    from fintrack.books.access import access
    from fintrack.reports import service as reports

    account = (await alice.post("/api/v1/accounts", json={"name": "Overview"})).json()["id"]
    categories = [c for c in (await alice.get("/api/v1/categories")).json() if c["parent_id"] is not None]
    for n, (day, amount) in enumerate(
        [("2026-09-03", "-10.50"), ("2026-09-20", "2500"), ("2026-10-02", "-99.99"), ("2026-11-11", "-7")]
    ):
        body = {
            "account_id": account,
            "date": day,
            "amount": amount,
            "category_id": categories[n % len(categories)]["id"],
        }
        assert (await alice.post("/api/v1/transactions", json=body)).status_code == 201
    async with db.sessionmaker() as session, session.begin():
        book = await access(session, alice.user_id, alice.book_id, None)
        for kind in ("expense", "income"):
            flow, trend = await reports.overview(session, book, None, None, kind=kind)
            assert flow == await reports.cashflow(session, book, None, None)
            assert trend == await reports.category_trends(session, book, None, None, kind=kind)
