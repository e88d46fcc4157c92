"""Fills a book with years of seeded, realistic Brazilian household life, through the ordinary services."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.demo import merchants as m
from fintrack.demo.errors import DemoAlreadyThere
from fintrack.demo.life import Entry, simulate
from fintrack.demo.merchants import Cat
from fintrack.errors import InvalidInput
from fintrack.ledger import queries as ledger_queries
from fintrack.ledger import service as ledger
from fintrack.ledger.defaults import DEFAULT_CATEGORIES
from fintrack.ledger.models import Account, AccountType
from fintrack.transactions import service as transactions
from fintrack.transactions import transfers
from fintrack.transactions.schemas import SplitIn, TransactionCreate, TransferCreate

RATE_PLACES = Decimal("1e-8")


@dataclass(frozen=True)
class DemoSummary:
    """What fill_book wrote."""

    accounts: int
    transactions: int  # ordinary ones; each transfer adds two legs on top
    transfers: int
    fx_rates: int
    months: int
    date_from: dt.date
    date_to: dt.date

    def __str__(self) -> str:
        return (
            f"{self.accounts} accounts, {self.transactions} transactions, {self.transfers} transfers and "
            f"{self.fx_rates} FX rates over {self.months} months ({self.date_from} to {self.date_to})"
        )


async def fill_book(
    session: AsyncSession, access: BookAccess, *, years: int = 2, seed: int = 42, today: dt.date | None = None
) -> DemoSummary:
    """Fill the book with `years` of household life ending `today`; the same seed gives the same history.

    The demo's four accounts are found by name and reused when they exist but are empty, so running it
    again never duplicates them; if any of them already holds transactions the book is refused with
    DemoAlreadyThere (409) instead of receiving a second history on top of the first. Transactions use
    the book's default categories, looked up by name in its locale (one the user renamed or deleted
    leaves its transactions uncategorised). FX rates for every business day are stored (replacing any
    for those days) for every account currency other than the book's base, so reports convert in a BRL
    book and in a USD one alike.
    """
    access.require_write()
    if years < 1:
        raise InvalidInput("years must be at least 1", field="years")
    accounts = await _accounts(session, access)
    plan = simulate(random.Random(seed), today or dt.date.today(), years * 12)
    categories = await _categories(session, access)
    ids = await transactions.create_many(session, access, [_item(e, accounts, categories) for e in plan.entries])
    for move in plan.moves:
        body = TransferCreate(
            from_account_id=accounts[move.source].id,
            to_account_id=accounts[move.target].id,
            date=move.day,
            amount=f"{move.amount:.2f}",
            to_amount=f"{move.to_amount:.2f}",
            description=move.description,
        )
        await transfers.create(session, access, body)
    rates = await _store_rates(session, access, plan.usd_brl, {a.currency for a in accounts.values()})
    return DemoSummary(len(accounts), len(ids), len(plan.moves), rates, plan.months, plan.start, plan.end)


async def _store_rates(
    session: AsyncSession, access: BookAccess, usd_brl: dict[dt.date, Decimal], currencies: set[str]
) -> int:
    """Rates into the book's base for every other currency, derived from the simulated dollar in reais."""
    base = access.book.base_currency
    if base != "BRL" and base not in m.USD_VALUE:
        return 0  # no idea what the base is worth: the reports will name the missing rates instead
    stored = 0
    for day, reais in usd_brl.items():
        in_dollars = {**{code: Decimal(value) for code, value in m.USD_VALUE.items()}, "BRL": 1 / reais}
        for currency in sorted(currencies - {base}):
            rate = (in_dollars[currency] / in_dollars[base]).quantize(RATE_PLACES)
            await ledger.put_fx_rate(session, access, currency, day, f"{rate:f}")
            stored += 1
    return stored


async def _accounts(session: AsyncSession, access: BookAccess) -> dict[str, Account]:
    found = {key: await ledger_queries.account_by_name(session, access.id, spec[0]) for key, spec in m.ACCOUNTS.items()}
    for key, account in found.items():
        if account is None:
            continue
        if await ledger_queries.account_has_transactions(session, account.id):
            raise DemoAlreadyThere(account=account.name)
        if account.currency != m.ACCOUNTS[key][2]:
            raise DemoAlreadyThere(
                f"the account {account.name!r} is in {account.currency} but the demo's is in {m.ACCOUNTS[key][2]}; "
                "rename it or fill another book",
                account=account.name,
            )
    accounts = {}
    for key, (name, type_, currency, opening) in m.ACCOUNTS.items():
        existing = found[key]
        accounts[key] = existing or await ledger.create_account(
            session, access, name, AccountType(type_), currency, opening
        )
    return accounts


def local_names(locale: str) -> dict[Cat, Cat]:
    """The demo's pt-BR category names mapped to the defaults seeded for `locale` (the lists run in parallel)."""
    ours, theirs = DEFAULT_CATEGORIES["pt-BR"], DEFAULT_CATEGORIES.get(locale, DEFAULT_CATEGORIES["en"])
    names: dict[Cat, Cat] = {}
    for (_, parent, children), (_, their_parent, their_children) in zip(ours, theirs, strict=True):
        names[(parent, None)] = (their_parent, None)
        for child, their_child in zip(children, their_children, strict=True):
            names[(parent, child)] = (their_parent, their_child)
    return names


async def _categories(session: AsyncSession, access: BookAccess) -> dict[Cat, int]:
    rows = await ledger.categories(session, access)
    names = {row.id: row.name.lower() for row in rows}
    in_book = {
        (names[row.parent_id], row.name.lower()) if row.parent_id else (row.name.lower(), None): row.id for row in rows
    }
    found = {}
    for ours, (parent, child) in local_names(access.book.locale).items():
        key = (parent.lower(), child.lower() if child else None)
        if key in in_book:
            found[ours] = in_book[key]
    return found


def _item(entry: Entry, accounts: dict[str, Account], categories: dict[Cat, int]) -> TransactionCreate:
    splits = [SplitIn(category_id=categories.get(cat), amount=f"{amount:.2f}") for cat, amount in entry.splits]
    return TransactionCreate(
        account_id=accounts[entry.account].id,
        date=entry.day,
        amount=f"{entry.amount:.2f}",
        payee=entry.payee,
        description=entry.description,
        category_id=categories.get(entry.category) if entry.category else None,
        tags=list(entry.tags),
        splits=splits or None,
    )
