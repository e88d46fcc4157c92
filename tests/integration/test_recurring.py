"""Recurring series: detection over a household's history, the user's verdicts across re-runs, what is due."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fintrack.books.access import access
from fintrack.demo.service import fill_book
from fintrack.recurring import flows as recurring_flows
from fintrack.recurring import queries, service
from fintrack.recurring.detection import add_months, merchant_key
from fintrack.recurring.models import RecurringScan
from fintrack.recurring.schemas import RecurringUpdate
from fintrack.transactions import service as transactions
from fintrack.transactions.schemas import TransactionCreate

API = "/api/v1"
D = Decimal
TODAY = dt.date(2025, 12, 31)  # the demo's two whole calendar years: 2024 and 2025


async def book_of(session, persona):
    return await access(session, persona.user_id, None, persona.book_id)


def error(response, status, code, field=None):
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    if field is not None:
        assert field in body["message"], body
        assert body["details"].get("field") == field or field in str(body["details"]), body
    return body


# Detection on the demo household ------------------------------------------------------------------------------


async def test_detection_finds_the_demo_households_subscriptions_and_bills_and_nothing_else(session, alice):
    book = await book_of(session, alice)
    await fill_book(session, book, today=TODAY)

    summary = await service.detect(session, book, today=TODAY)
    series = {s.key: s for s in await service.list_series(session, book)}

    bills = {
        "netflix.com",
        "spotify",
        "smartfit",
        "claro movel",
        "deb automatico vivo fibra",
        "aluguel imobiliaria lopes",
        "condominio ed jacaranda",
        "sulamerica saude",
        "tarifa cesta servicos",
        "salario acme tecnologia ltda",
    }
    assert bills <= set(series)
    # Shops, friends and card bills (transfers) are not series; the property tax (February to November) has
    # ended for the year on 31 December.
    for prefix in ("uber", "ifood", "pao de acucar", "carrefour", "pix", "pagamento fatura", "aplicacao", "iptu"):
        assert not [k for k in series if k.startswith(prefix)], prefix
    assert (summary.found, summary.created, summary.updated, summary.removed) == (len(series), len(series), 0, 0)

    netflix = series["netflix.com"]
    assert (netflix.name, netflix.period, netflix.interval_days, netflix.direction) == (
        "Netflix",
        "monthly",
        30,
        "debit",
    )
    assert (netflix.typical_amount, netflix.amount, netflix.currency, netflix.occurrences) == (
        D("-44.90"),
        D("-44.90"),
        "BRL",
        24,
    )
    assert (netflix.last_date, netflix.next_date, netflix.status) == (
        dt.date(2025, 12, 7),
        dt.date(2026, 1, 7),
        "detected",
    )
    assert netflix.category_id is not None
    salary = series["salario acme tecnologia ltda"]
    assert salary.direction == "credit" and salary.typical_amount > 0
    assert salary.amount_min < salary.amount_max == salary.typical_amount  # raised every year: the latest pay

    # Running it again changes nothing but the refresh.
    again = await service.detect(session, book, today=TODAY)
    assert (again.found, again.created, again.updated, again.removed) == (len(series), 0, len(series), 0)
    assert len(await service.list_series(session, book)) == len(series)


async def test_the_sql_key_is_the_python_key(session):
    for text in ("IPTU SAO PAULO 2025 PARC 03/10", "PAO DE ACUCAR 1184", "NETFLIX.COM", "Padaria São João", "12 34"):
        assert await queries.key_of(session, text) == merchant_key(text)


# Verdicts and what is due, through the service ----------------------------------------------------------------


async def _history(session, book, account_id: int, rows: list[tuple[dt.date, str, str]]) -> None:
    items = [TransactionCreate(account_id=account_id, date=d, amount=a, description=t) for d, t, a in rows]
    await transactions.create_many(session, book, items)


@pytest.fixture
async def household(session, alice):
    """Alice's checking account with a gym on the 5th, streaming on the 20th and a weekly cleaner, until TODAY."""
    from fintrack.ledger import service as ledger
    from fintrack.ledger.models import AccountType

    book = await book_of(session, alice)
    account = await ledger.create_account(session, book, "Conta", AccountType.checking, "BRL", "0")
    rows = [(add_months(dt.date(2025, 1, 5), k), "SMARTFIT 0042", "-119.90") for k in range(12)]
    rows += [(add_months(dt.date(2025, 1, 20), k), "STREAMING PLUS", "-29.90") for k in range(12)]
    rows += [(dt.date(2025, 10, 3) + dt.timedelta(weeks=k), "PIX ENVIADO MARIA", "-150.00") for k in range(13)]
    # Ended in the summer: not due any more.
    rows += [(add_months(dt.date(2025, 1, 12), k), "REVISTA SEMANAL", "-19.90") for k in range(6)]
    rows += [(dt.date(2025, m, d), "PADARIA REAL", "-12.00") for m, d in ((3, 2), (3, 9), (5, 17), (9, 1), (12, 2))]
    await _history(session, book, account.id, rows)
    return book, account


async def test_upcoming_lists_the_next_charges_by_date_with_their_amounts(session, household):
    book, _ = household
    summary = await service.detect(session, book, today=TODAY)
    assert summary.found == 3
    due = await service.upcoming(session, book, 14, today=TODAY)
    assert [(d.date, d.series.key, d.amount, d.overdue) for d in due] == [
        (dt.date(2026, 1, 2), "pix enviado maria", D("-150.00"), False),
        (dt.date(2026, 1, 5), "smartfit", D("-119.90"), False),
        (dt.date(2026, 1, 9), "pix enviado maria", D("-150.00"), False),
    ]
    # Late but within its grace: overdue, listed first.
    later = await service.upcoming(session, book, 30, today=dt.date(2026, 1, 8))
    assert (later[0].date, later[0].series.key, later[0].overdue) == (dt.date(2026, 1, 2), "pix enviado maria", True)
    assert [d.date for d in later if d.series.key == "smartfit"] == [dt.date(2026, 1, 5), dt.date(2026, 2, 5)]


async def test_a_charge_that_arrives_after_detection_moves_the_series_on(session, household):
    book, account = household
    await service.detect(session, book, today=TODAY)
    await _history(session, book, account.id, [(dt.date(2026, 1, 6), "SMARTFIT 0042", "-119.90")])
    due = await service.upcoming(session, book, 40, today=dt.date(2026, 1, 7))
    assert [d.date for d in due if d.series.key == "smartfit"] == [dt.date(2026, 2, 5)]


async def test_what_is_due_reads_only_rows_detection_has_not_read(session, household):
    """The scan's watermark: rows above its id, and rows dated after its day (written before, dated later)."""
    book, account = household
    # Written before detection but dated after its day, like a card's future instalment: read once due.
    await _history(session, book, account.id, [(dt.date(2026, 1, 20), "STREAMING PLUS", "-29.90")])
    await service.detect(session, book, today=TODAY)
    scan = await session.get(RecurringScan, book.id)
    assert scan is not None and scan.day == TODAY and scan.seen_id == await queries.newest_id(session)
    assert await queries.newer_charges(session, book.id, TODAY) == {}
    moved = await queries.newer_charges(session, book.id, dt.date(2026, 1, 21))
    streaming = next(s for s in await queries.all_series(session, book.id) if s.key == "streaming plus")
    assert moved == {streaming.id: dt.date(2026, 1, 20)}
    # A new row, written after detection, is read through its id.
    await _history(session, book, account.id, [(dt.date(2025, 12, 31), "SMARTFIT 0042", "-119.90")])
    smartfit = next(s for s in await queries.all_series(session, book.id) if s.key == "smartfit")
    assert (await queries.newer_charges(session, book.id, TODAY)) == {smartfit.id: dt.date(2025, 12, 31)}


async def test_upcoming_asks_for_a_new_detection_once_many_rows_went_unscanned(session, household, monkeypatch):
    from fintrack.jobs import queries as job_queries

    book, account = household
    await service.detect(session, book, today=TODAY)
    monkeypatch.setattr(service, "STALE_AFTER", 2)
    rows = [(dt.date(2025, 12, 30), "PADARIA REAL", "-12.00")] * 2
    await _history(session, book, account.id, rows)
    await service.upcoming(session, book, 30, today=TODAY)
    assert await job_queries.due_count(session, ["recurring"]) == 0  # two rows: read them, no new detection
    await _history(session, book, account.id, rows[:1])
    await service.upcoming(session, book, 30, today=TODAY)
    assert await job_queries.due_count(session, ["recurring"]) == 1


async def test_new_history_queues_one_background_detection_that_finds_its_series(committed):
    from fintrack.auth import service as auth
    from fintrack.jobs import queries as job_queries
    from fintrack.ledger import service as ledger
    from fintrack.ledger.models import AccountType

    async with committed.db.sessionmaker() as session, session.begin():
        user = await auth.create_user(session, "rita@example.com", "a long enough password")
        book = await access(session, user.id, None, user.default_book_id)
        account = await ledger.create_account(session, book, "Conta", AccountType.checking, "BRL", "0")
        today = dt.date.today()
        rows = [(add_months(today, -k), "ACADEMIA BOA FORMA", "-99.90") for k in range(1, 9)]
        await _history(session, book, account.id, rows)
        await recurring_flows.history_grew(session, book.id)
        await recurring_flows.history_grew(session, book.id)  # a burst queues one run, not one each
        assert await job_queries.due_count(session, ["recurring"]) == 1
    await committed.run_jobs(["recurring"])
    async with committed.db.sessionmaker() as session:
        assert [s.key for s in await queries.all_series(session, book.id)] == ["academia boa forma"]
        assert (await session.get(RecurringScan, book.id)) is not None


async def test_confirmed_and_dismissed_series_keep_their_verdict_when_detection_runs_again(session, household):
    book, _ = household
    await service.detect(session, book, today=TODAY)
    by_key = {s.key: s for s in await service.list_series(session, book)}
    gym, streaming = by_key["smartfit"], by_key["streaming plus"]
    await service.confirm(session, book, gym.id)
    await service.update(session, book, gym.id, RecurringUpdate(name="Academia", amount="-129.90"))
    await service.dismiss(session, book, streaming.id)

    again = await service.detect(session, book, today=TODAY)
    assert (again.created, again.updated, again.dismissed, again.removed) == (0, 2, 1, 0)
    gym = await service.get_series(session, book, gym.id)
    assert (gym.status, gym.name, gym.amount, gym.typical_amount) == (
        "confirmed",
        "Academia",
        D("-129.90"),
        D("-119.90"),
    )
    assert [s.id for s in await service.list_series(session, book, "dismissed")] == [streaming.id]
    assert streaming.id not in {d.series.id for d in await service.upcoming(session, book, 60, today=TODAY)}

    # Undoing the dismissal brings it back; clearing the amount goes back to the detected one.
    await service.update(session, book, streaming.id, RecurringUpdate(status="detected"))
    cleared = await service.update(session, book, gym.id, RecurringUpdate(amount=None))
    assert cleared.amount == D("-119.90")
    assert streaming.id in {d.series.id for d in await service.upcoming(session, book, 60, today=TODAY)}


async def test_a_detected_series_that_ended_is_removed_but_a_confirmed_one_stays(session, household):
    book, _ = household
    await service.detect(session, book, today=TODAY)
    gym = next(s for s in await service.list_series(session, book) if s.key == "smartfit")
    await service.confirm(session, book, gym.id)
    later = await service.detect(session, book, today=dt.date(2026, 4, 1))  # nothing since December
    assert later.found == 0 and later.removed == 2
    assert [s.key for s in await service.list_series(session, book)] == ["smartfit"]
    assert await service.upcoming(session, book, 30, today=dt.date(2026, 4, 1)) == []  # ended: nothing due


# The API ------------------------------------------------------------------------------------------------------


def _months_back(n: int, day: int) -> list[str]:
    today = dt.date.today()
    return [add_months(today, -k, day).isoformat() for k in range(n, 0, -1)]


@pytest.fixture
async def alices_bills(alice):
    account = (await alice.post(f"{API}/accounts", json={"name": "Conta"})).json()
    day = min(dt.date.today().day, 28)
    rows = [(d, "NETFLIX.COM", "-55.90") for d in _months_back(6, day)]
    rows += [(d, "SMARTFIT 0042", "-119.90") for d in _months_back(6, day)]
    rows += [(d, "PADARIA REAL", "-12.00") for d in _months_back(3, 3)[:1] + _months_back(2, 19)]
    body = {
        "transactions": [{"account_id": account["id"], "date": d, "description": t, "amount": a} for d, t, a in rows]
    }
    made = await alice.post(f"{API}/transactions/bulk", json=body)
    assert made.status_code == 201, made.text
    found = await alice.post(f"{API}/recurring/detect")
    assert found.status_code == 200, found.text
    assert found.json() | {"scanned_groups": 0} == {
        "found": 2,
        "created": 2,
        "updated": 0,
        "dismissed": 0,
        "removed": 0,
        "scanned_groups": 0,
    }
    return {s["key"]: s for s in (await alice.get(f"{API}/recurring")).json()}


async def test_the_api_detects_lists_and_takes_the_users_verdicts(alice, alices_bills):
    netflix, gym = alices_bills["netflix.com"], alices_bills["smartfit"]
    assert (netflix["name"], netflix["amount"], netflix["status"], netflix["period"]) == (
        "NETFLIX.COM",
        "-55.90",
        "detected",
        "monthly",
    )
    assert (netflix["amount_min"], netflix["amount_max"], netflix["expected_amount"]) == ("-55.90", "-55.90", None)
    streaming = next(c["id"] for c in (await alice.get(f"{API}/categories")).json() if c["name"] == "Streaming")

    changed = await alice.patch(
        f"{API}/recurring/{netflix['id']}",
        json={"status": "confirmed", "name": "Netflix família", "category_id": streaming, "amount": "-59.90"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() | {"updated_at": None} == netflix | {
        "status": "confirmed",
        "name": "Netflix família",
        "category_id": streaming,
        "amount": "-59.90",
        "expected_amount": "-59.90",
        "updated_at": None,
    }
    assert (await alice.patch(f"{API}/recurring/{gym['id']}", json={"status": "dismissed"})).json()["status"] == (
        "dismissed"
    )

    again = (await alice.post(f"{API}/recurring/detect")).json()
    assert (again["created"], again["updated"], again["dismissed"]) == (0, 1, 1)
    assert [s["id"] for s in (await alice.get(f"{API}/recurring", params={"status": "dismissed"})).json()] == [
        gym["id"]
    ]
    kept = (await alice.get(f"{API}/recurring/{netflix['id']}")).json()
    assert (kept["status"], kept["name"], kept["amount"], kept["typical_amount"]) == (
        "confirmed",
        "Netflix família",
        "-59.90",
        "-55.90",
    )

    due = (await alice.get(f"{API}/recurring/upcoming", params={"days": 20})).json()
    assert [(d["series_id"], d["amount"], d["status"]) for d in due] == [(netflix["id"], "-59.90", "confirmed")]
    assert due[0]["date"] >= (dt.date.today() - dt.timedelta(days=5)).isoformat()

    assert (await alice.delete(f"{API}/recurring/{netflix['id']}")).status_code == 204
    error(await alice.get(f"{API}/recurring/{netflix['id']}"), 404, "recurring_not_found")
    # Deleted, not dismissed: the next run finds it again.
    assert (await alice.post(f"{API}/recurring/detect")).json()["created"] == 1


async def test_bob_sees_and_touches_none_of_alices_series(alice, bob, alices_bills):
    netflix = alices_bills["netflix.com"]
    assert (await bob.get(f"{API}/recurring")).json() == []
    assert (await bob.get(f"{API}/recurring/upcoming")).json() == []
    error(await bob.get(f"{API}/recurring/{netflix['id']}"), 404, "recurring_not_found")
    error(await bob.patch(f"{API}/recurring/{netflix['id']}", json={"status": "dismissed"}), 404, "recurring_not_found")
    error(await bob.delete(f"{API}/recurring/{netflix['id']}"), 404, "recurring_not_found")
    error(await bob.get(f"{API}/recurring", params={"book_id": alice.book_id}), 404, "book_not_found")
    error(await bob.post(f"{API}/recurring/detect", params={"book_id": alice.book_id}), 404, "book_not_found")
    assert (await bob.post(f"{API}/recurring/detect")).json()["found"] == 0
    assert (await alice.get(f"{API}/recurring/{netflix['id']}")).json() == netflix


async def test_a_viewer_reads_alices_series_but_cannot_change_them(alice, bob, alices_bills):
    shared = await alice.put(f"{API}/books/{alice.book_id}/members", json={"email": bob.email, "role": "viewer"})
    assert shared.status_code == 200, shared.text
    theirs = {"book_id": alice.book_id}
    assert len((await bob.get(f"{API}/recurring", params=theirs)).json()) == 2
    netflix = alices_bills["netflix.com"]
    error(await bob.post(f"{API}/recurring/detect", params=theirs), 403, "read_only")
    error(await bob.patch(f"{API}/recurring/{netflix['id']}", params=theirs, json={"name": "x"}), 403, "read_only")
    error(await bob.delete(f"{API}/recurring/{netflix['id']}", params=theirs), 403, "read_only")


async def test_bad_input_is_refused_naming_the_field(alice, bob, alices_bills):
    url = f"{API}/recurring/{alices_bills['netflix.com']['id']}"
    error(await alice.get(f"{API}/recurring", params={"status": "maybe"}), 422, "validation_error", "status")
    error(await alice.get(f"{API}/recurring/upcoming", params={"days": 0}), 422, "validation_error", "days")
    error(await alice.get(f"{API}/recurring/upcoming", params={"days": "soon"}), 422, "validation_error", "days")
    error(await alice.get(f"{API}/recurring/0"), 422, "validation_error", "series_id")
    error(await alice.patch(url, json={"amount": "55.90"}), 422, "invalid_recurring", "amount")
    error(await alice.patch(url, json={"amount": -55.9}), 422, "validation_error", "amount")
    error(await alice.patch(url, json={"amount": "-55.901"}), 422, "invalid_money", "amount")
    error(await alice.patch(url, json={"status": "paused"}), 422, "validation_error", "status")
    error(await alice.patch(url, json={"status": None}), 422, "invalid_recurring", "status")
    error(await alice.patch(url, json={"name": "  "}), 422, "validation_error", "name")
    error(await alice.patch(url, json={"colour": "red"}), 422, "validation_error", "colour")
    bobs = (await bob.get(f"{API}/categories")).json()[0]["id"]
    error(await alice.patch(url, json={"category_id": bobs}), 404, "category_not_found", "category_id")
    assert (await alice.get(url)).json() == alices_bills["netflix.com"]
