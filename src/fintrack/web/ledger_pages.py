"""Accounts: balances with a twelve-month trend, and each account's register with its running balance."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fintrack.deps import SessionDep
from fintrack.errors import DomainError
from fintrack.ledger import service as ledger
from fintrack.ledger.models import AccountType
from fintrack.ledger.schemas import AccountCreate
from fintrack.transactions import queries as tx_queries
from fintrack.transactions import service as transactions
from fintrack.web import forms, lookups
from fintrack.web.render import page, said, text
from fintrack.web.session import WebViewer

router = APIRouter(include_in_schema=False)
PAGE = 50


async def _accounts_page(
    request: Request, me: WebViewer, session: SessionDep, status: int = 200, **extra: object
) -> HTMLResponse:
    assert me.access is not None
    rows = await ledger.accounts_with_balances(session, me.access)
    trends = await ledger.balance_trends(session, me.access, dt.date.today())
    return page(
        request,
        me,
        "accounts.html",
        status,
        title=text(me, "Accounts"),
        rows=rows,
        trends=trends,
        types=list(AccountType),
        **extra,
    )


@router.get("/accounts")
async def accounts(request: Request, me: WebViewer, session: SessionDep) -> HTMLResponse:
    return await _accounts_page(request, me, session)


@router.post("/accounts")
async def open_account(request: Request, me: WebViewer, session: SessionDep) -> Response:
    assert me.access is not None
    data = await forms.fields(request)
    try:
        if "opening_balance" in data:
            data["opening_balance"] = lookups.amount(str(data["opening_balance"]), me.language, "opening_balance")
        body = forms.parse(AccountCreate, data)
        async with session.begin_nested():  # a refused account leaves the request's transaction usable
            await ledger.create_account(
                session, me.access, body.name, body.type, body.currency, body.opening_balance, body.archived
            )
    except DomainError as problem:
        return await _accounts_page(request, me, session, 422, error=said(me, problem), form=data)
    return RedirectResponse("/accounts", status_code=303)


@router.get("/accounts/{account_id}")
async def register(
    request: Request,
    me: WebViewer,
    session: SessionDep,
    account_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    assert me.access is not None
    account = await ledger.get_account(session, me.access, account_id)
    items, next_cursor = await transactions.search(
        session, me.access, tx_queries.Filters(account_ids=[account.id]), cursor, PAGE
    )
    balance = await transactions.balance_after(
        session, me.access, account.id, (items[0].date, items[0].id) if items else None
    )
    rows = []
    for item in items:  # newest first: each row's balance is the one after it; the next row's is before it
        rows.append((item, balance))
        balance -= Decimal(item.amount)
    categories = {c.id: c.label for c in await lookups.categories(session, me.access)}
    return page(
        request,
        me,
        "register.html",
        title=account.name,
        account=account,
        rows=rows,
        next_cursor=next_cursor,
        categories=categories,
        first_page=cursor is None,
    )
