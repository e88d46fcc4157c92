"""`fintrack demo` fills a book with years of plausible household life, the same life for the same seed."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from fintrack.auth import service as auth
from fintrack.books.access import BookAccess, access
from fintrack.demo import merchants
from fintrack.demo.errors import DemoAlreadyThere
from fintrack.demo.life import simulate
from fintrack.demo.service import fill_book, local_names
from fintrack.ledger import queries as ledger_queries
from fintrack.ledger import service as ledger
from fintrack.ledger.models import Account, AccountType, Category, FxRate, Payee, Tag
from fintrack.reports import service as reports
from fintrack.transactions.models import Transaction, TransactionSplit, TransactionTag

TODAY = dt.date(2025, 12, 31)  # two whole calendar years: 2024 and 2025


async def book_of(session, persona) -> BookAccess:
    return await access(session, persona.user_id, None, persona.book_id)


async def ledger_lines(session, book_id: int) -> list[tuple]:
    """Every transaction as plain values, in a stable order: what a user would see, without ids."""
    parent = aliased(Category)
    tags = (
        select(func.string_agg(Tag.name, aggregate_order_by(literal_column("','"), Tag.name)))
        .join(TransactionTag, TransactionTag.tag_id == Tag.id)
        .where(TransactionTag.transaction_id == Transaction.id)
        .scalar_subquery()
    )
    splits = (
        select(
            func.string_agg(
                func.concat(TransactionSplit.amount, "@", TransactionSplit.category_id),
                aggregate_order_by(literal_column("','"), TransactionSplit.amount),
            )
        )
        .where(TransactionSplit.transaction_id == Transaction.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            Account.name,
            Transaction.date,
            Transaction.amount,
            Transaction.description,
            Payee.name,
            parent.name,
            Category.name,
            tags,
            func.coalesce(splits, ""),
            Transaction.transfer_id.is_not(None),
        )
        .join(Account, Account.id == Transaction.account_id)
        .outerjoin(Payee, Payee.id == Transaction.payee_id)
        .outerjoin(Category, Category.id == Transaction.category_id)
        .outerjoin(parent, parent.id == Category.parent_id)
        .where(Transaction.book_id == book_id)
        .order_by(Transaction.date, Account.name, Transaction.amount, Transaction.description)
    )
    return [tuple(row) for row in rows]


async def test_demo_fills_two_years_with_salary_every_month(session, alice):
    book = await book_of(session, alice)
    summary = await fill_book(session, book, today=TODAY)

    assert (summary.accounts, summary.months) == (4, 24)
    assert (summary.date_from, summary.date_to) == (dt.date(2024, 1, 1), TODAY)
    assert str(summary).startswith(f"4 accounts, {summary.transactions} transactions, {summary.transfers} transfers")
    assert str(summary).endswith("over 24 months (2024-01-01 to 2025-12-31)")
    lines = await ledger_lines(session, book.id)
    assert sum(1 for line in lines if not line[-1]) == summary.transactions > 1200
    assert sum(1 for line in lines if line[-1]) == 2 * summary.transfers
    salary_months = Counter((line[1].year, line[1].month) for line in lines if line[6] == "Salário")
    assert sorted(salary_months) == [(year, month) for year in (2024, 2025) for month in range(1, 13)]
    # Two earners every month, plus the two parts of each one's 13th salary in November and December.
    assert {n for (_, month), n in salary_months.items() if month not in (11, 12)} == {2}
    assert {n for (_, month), n in salary_months.items() if month in (11, 12)} == {4}
    assert min(line[1] for line in lines) >= dt.date(2024, 1, 1)
    assert max(line[1] for line in lines) <= TODAY


async def test_history_ends_today_even_mid_month(session, alice):
    book = await book_of(session, alice)
    summary = await fill_book(session, book, years=1, today=dt.date(2026, 3, 4))
    lines = await ledger_lines(session, book.id)
    assert summary.months == 12
    assert summary.date_from == dt.date(2025, 4, 1)
    assert max(line[1] for line in lines) <= dt.date(2026, 3, 4)


async def test_same_seed_gives_same_book(session, alice):
    carol = await auth.create_user(session, "carol@example.com", "another long password", locale="pt-BR")
    carols = await access(session, carol.id, None, carol.default_book_id)
    alices = await book_of(session, alice)
    await fill_book(session, alices, years=1, seed=7, today=TODAY)
    await fill_book(session, carols, years=1, seed=7, today=TODAY)

    def without_split_ids(lines):  # split categories are ids, which differ from book to book
        return [(*line[:8], line[8].count("@"), *line[9:]) for line in lines]

    assert without_split_ids(await ledger_lines(session, alices.id)) == without_split_ids(
        await ledger_lines(session, carols.id)
    )
    assert await ledger_queries.fx_rates(session, alices.id) != []
    alice_rates = [(r.currency, r.day, r.rate) for r in await ledger_queries.fx_rates(session, alices.id)]
    carol_rates = [(r.currency, r.day, r.rate) for r in await ledger_queries.fx_rates(session, carols.id)]
    assert alice_rates == carol_rates


async def test_another_seed_gives_another_life(session, alice):
    alices = await book_of(session, alice)
    dave = await auth.create_user(session, "dave@example.com", "another long password", locale="pt-BR")
    daves = await access(session, dave.id, None, dave.default_book_id)
    await fill_book(session, alices, years=1, seed=1, today=TODAY)
    await fill_book(session, daves, years=1, seed=2, today=TODAY)
    assert await ledger_lines(session, alices.id) != await ledger_lines(session, daves.id)


async def test_demo_twice_is_refused(session, alice):
    book = await book_of(session, alice)
    await fill_book(session, book, years=1, today=TODAY)
    before = await ledger_lines(session, book.id)

    with pytest.raises(DemoAlreadyThere) as refused:
        await fill_book(session, book, years=1, today=TODAY)

    assert (refused.value.status, refused.value.code) == (409, "demo_exists")
    assert "already" in refused.value.message
    assert len(await ledger_queries.accounts(session, book.id)) == 4
    assert await ledger_lines(session, book.id) == before


async def test_empty_demo_accounts_are_reused_not_duplicated(session, alice):
    book = await book_of(session, alice)
    mine = await ledger.create_account(session, book, "cartão nubank", AccountType.credit_card, "BRL", "0")
    await ledger.create_account(session, book, "Carteira", AccountType.cash, "BRL", "50.00")

    await fill_book(session, book, years=1, today=TODAY)

    accounts = await ledger_queries.accounts(session, book.id)
    demo_names = [name for name, *_ in merchants.ACCOUNTS.values() if name != "Cartão Nubank"]
    assert sorted(a.name for a in accounts) == sorted(["Carteira", "cartão nubank", *demo_names])
    assert await ledger_queries.account_has_transactions(session, mine.id)


async def test_demo_account_in_another_currency_is_refused(session, alice):
    book = await book_of(session, alice)
    await ledger.create_account(session, book, "Cartão Internacional", AccountType.credit_card, "EUR", "0")
    with pytest.raises(DemoAlreadyThere, match="EUR"):
        await fill_book(session, book, years=1, today=TODAY)


async def test_every_demo_transaction_has_a_category_in_both_locales(session, alice, bob):
    for persona, salary in ((alice, "Salário"), (bob, "Salary")):
        book = await book_of(session, persona)
        await fill_book(session, book, years=1, today=TODAY)
        lines = [line for line in await ledger_lines(session, book.id) if not line[-1]]
        assert [line for line in lines if line[6] is None and not line[8]] == []
        assert any(line[6] == salary for line in lines)


def test_every_category_the_demo_uses_is_a_default_in_every_locale():
    plan = simulate(random.Random(0), TODAY, 36)
    used = {e.category for e in plan.entries} | {category for e in plan.entries for category, _ in e.splits}
    assert merchants.GROCERIES in used and merchants.HOME in used
    for locale in ("pt-BR", "en"):
        assert used <= local_names(locale).keys()


async def test_statement_looks_like_a_brazilian_bank(session, alice):
    book = await book_of(session, alice)
    await fill_book(session, book, today=TODAY)
    lines = [line for line in await ledger_lines(session, book.id) if not line[-1]]
    descriptions = {line[3] for line in lines}
    assert {"PADARIA SÃO JOÃO", "ALUGUEL IMOBILIARIA LOPES", "NETFLIX.COM", "IFOOD *IFOOD"} <= descriptions
    assert any(d.startswith("PIX ENVIADO ") for d in descriptions)
    assert any(d.startswith("PIX RECEBIDO ") for d in descriptions)
    assert all(d == d.upper() for d in descriptions)
    tags = Counter(tag for line in lines if line[7] for tag in line[7].split(","))
    assert tags["viagem"] > 0 and tags["reembolsável"] > 0
    split_lines = [line for line in lines if line[8]]
    assert split_lines and all(line[6] is None for line in split_lines)
    usd = [line for line in lines if line[0] == "Cartão Internacional"]
    assert {"Apple", "Steam"} <= {line[4] for line in usd}
    assert all(line[2] == line[2].quantize(Decimal("0.01")) for line in lines)
    # Each month pays the last one's card bills (two legs each) and most months put something aside.
    legs = Counter(line[3] for line in await ledger_lines(session, book.id) if line[-1])
    assert legs["PAGAMENTO FATURA NUBANK"] == legs["PAGAMENTO FATURA CARTAO INTERNACIONAL"] == 2 * 23
    assert legs["APLICACAO POUPANCA"] >= 2 * 12


async def test_salary_covers_expenses_and_checking_stays_positive(session, alice):
    book = await book_of(session, alice)
    await fill_book(session, book, today=TODAY)
    checking = await ledger_queries.account_by_name(session, book.id, "Itaú Conta Corrente")
    savings = await ledger_queries.account_by_name(session, book.id, "Poupança Itaú")
    assert checking and savings
    days = sorted(set(await session.scalars(select(Transaction.date).where(Transaction.account_id == checking.id))))
    for day in days:
        balances = await ledger_queries.balances(session, book.id, day)
        assert balances[checking.id] > 0, day
    cashflow = await reports.cashflow(session, book, dt.date(2024, 1, 1), TODAY)
    assert cashflow.missing_rates == []
    assert len(cashflow.months) == 24
    assert sum(Decimal(month.net) for month in cashflow.months) > 0
    assert (await ledger_queries.balances(session, book.id))[savings.id] > savings.opening_balance


async def test_reports_convert_usd_card(session, alice):
    book = await book_of(session, alice)
    await fill_book(session, book, today=TODAY)

    balances = await reports.balances(session, book, TODAY)
    assert balances.missing_rates == []
    card = next(line for line in balances.accounts if line.name == "Cartão Internacional")
    assert card.currency == "USD" and card.balance_in_base is not None
    if Decimal(card.balance):
        assert Decimal("4.8") < Decimal(card.balance_in_base) / Decimal(card.balance) < Decimal("6.3")
    by_category = await reports.by_category(session, book, dt.date(2024, 1, 1), TODAY)
    assert by_category.missing_rates == []
    hobbies = next(line for line in by_category.lines if line.category == "Hobbies")  # Steam, paid in dollars
    assert Decimal(hobbies.total) < 0
    rates = await ledger_queries.fx_rates(session, book.id, "USD")
    assert {r.currency for r in await ledger_queries.fx_rates(session, book.id)} == {"USD"}
    assert all(Decimal("4.9") <= r.rate <= Decimal("6.2") for r in rates)
    assert len(rates) > 400  # every business day of two years


async def test_usd_book_gets_brl_rates_and_converts(session, bob):
    book = await book_of(session, bob)
    await fill_book(session, book, today=TODAY)

    rates = await session.scalars(select(FxRate).where(FxRate.book_id == book.id))
    assert {r.currency for r in rates} == {"BRL"}
    balances = await reports.balances(session, book, TODAY)
    assert balances.base_currency == "USD" and balances.missing_rates == []
    checking = next(line for line in balances.accounts if line.name == "Itaú Conta Corrente")
    per_dollar = Decimal(checking.balance) / Decimal(checking.balance_in_base)
    assert Decimal("4.8") < per_dollar < Decimal("6.3")
    cashflow = await reports.cashflow(session, book, dt.date(2024, 1, 1), TODAY)
    assert cashflow.missing_rates == []
    # Two Brazilian salaries come to a few thousand dollars a month, not tens of thousands.
    assert all(Decimal(1500) < Decimal(month.income) < Decimal(9000) for month in cashflow.months)


async def test_euro_book_gets_rates_for_reais_and_dollars(session):
    erin = await auth.create_user(
        session, "erin@example.com", "another long password", locale="en", base_currency="EUR"
    )
    book = await access(session, erin.id, None, erin.default_book_id)
    summary = await fill_book(session, book, years=1, today=TODAY)

    rates = await ledger_queries.fx_rates(session, book.id)
    assert {r.currency for r in rates} == {"BRL", "USD"}
    assert summary.fx_rates == len(rates)
    balances = await reports.balances(session, book, TODAY)
    assert balances.missing_rates == []
    assert all(line.balance_in_base is not None for line in balances.accounts)
