"""Transactions: filters, accent-free search, keyset pages, inline and bulk re-categorizing, splits, and a rule
made from a transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fintrack.budgets import flows as budget_flows
from fintrack.deps import SessionDep
from fintrack.errors import DomainError, InvalidInput, Term, mark
from fintrack.transactions import queries as tx_queries
from fintrack.transactions import service as transactions
from fintrack.transactions import transfers
from fintrack.transactions.schemas import TransactionCreate, TransferCreate
from fintrack.web import forms, lookups
from fintrack.web.render import Viewer, page, said, text
from fintrack.web.session import WebViewer

router = APIRouter(include_in_schema=False)
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PAGE = 50


def _ids(values: list[str], field: str) -> list[int]:
    try:
        found = [int(v) for v in values if v]
    except ValueError:
        raise InvalidInput(mark("{field}: not a number"), values={"field": Term(field)}, field=field) from None
    if any(not 1 <= v < 2**63 for v in found):
        raise InvalidInput(mark("{field}: out of range"), values={"field": Term(field)}, field=field)
    return found


def _day(value: str | None, field: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            mark("{field}: {value!r} is not a date (YYYY-MM-DD)"),
            values={"field": Term(field), "value": value},
            field=field,
        ) from None


def filters_from(request: Request, me: Viewer) -> tuple[tx_queries.Filters, dict[str, Any]]:
    """The search form's fields (kept to refill the form and to build the next page's link)."""
    params = request.query_params
    typed = {k: params.get(k, "") for k in ("q", "from", "to", "min", "max")}
    accounts, categories = params.getlist("account"), params.getlist("category")
    uncategorized = params.get("uncategorized") == "1"
    if len(typed["q"]) > 200:
        raise InvalidInput(mark("q: at most 200 characters"), field="q")
    amount = {k: Decimal(lookups.amount(typed[k], me.language, k)) if typed[k] else None for k in ("min", "max")}
    filters = tx_queries.Filters(
        account_ids=_ids(accounts, "account")[:100],
        category_ids=_ids(categories, "category")[:100],
        date_from=_day(typed["from"], "from"),
        date_to=_day(typed["to"], "to"),
        amount_min=amount["min"],
        amount_max=amount["max"],
        q=typed["q"] or None,
        uncategorized=uncategorized,
    )
    shown: dict[str, Any] = {**typed, "account": accounts, "category": categories, "uncategorized": uncategorized}
    return filters, shown


@router.get("/transactions")
async def list_page(request: Request, me: WebViewer, session: SessionDep) -> HTMLResponse:
    assert me.access is not None
    cursor = request.query_params.get("cursor") or None
    error = None
    try:
        filters, shown = filters_from(request, me)
        items, next_cursor = await transactions.search(session, me.access, filters, cursor, PAGE)
    except DomainError as problem:
        error, items, next_cursor, shown = said(me, problem), [], None, {"account": [], "category": []}
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    return page(
        request,
        me,
        "transactions.html",
        422 if error else 200,
        title=text(me, "Transactions"),
        items=items,
        next_cursor=next_cursor,
        shown=shown,
        query=query,
        first_page=cursor is None,
        error=error,
        categories=await lookups.categories(session, me.access),
        accounts=await lookups.accounts(session, me.access),
    )


@router.post("/transactions/new")
async def record(request: Request, me: WebViewer, session: SessionDep) -> Response:
    """A transaction typed by hand (cash, a bill paid at the counter), or a transfer between two accounts."""
    assert me.access is not None
    data = await forms.fields(request)
    try:
        amount = lookups.amount(str(data.get("amount", "")), me.language)
        if data.get("kind") == "transfer":
            transfer = forms.parse(
                TransferCreate,
                {
                    "from_account_id": data.get("account_id"),
                    "to_account_id": data.get("to_account_id"),
                    "date": data.get("date"),
                    "amount": amount.lstrip("-"),
                    "description": data.get("description", ""),
                },
            )
            async with session.begin_nested():
                await transfers.create(session, me.access, transfer)
        else:
            if data.get("kind") == "expense" and not amount.startswith("-"):
                amount = f"-{amount}"
            item = forms.parse(
                TransactionCreate,
                {
                    "account_id": data.get("account_id"),
                    "date": data.get("date"),
                    "amount": amount,
                    "description": data.get("description", ""),
                    "category_id": data.get("category_id"),
                },
            )
            async with session.begin_nested():
                made = await transactions.create(session, me.access, item)
            await budget_flows.spending_changed(session, me.access.id, [made.date])
    except DomainError as problem:
        return await _new_form(request, me, session, 422, error=said(me, problem), form=data)
    return RedirectResponse("/transactions", status_code=303)


@router.get("/transactions/new")
async def new_form(request: Request, me: WebViewer, session: SessionDep) -> HTMLResponse:
    return await _new_form(request, me, session)


async def _new_form(request: Request, me: Viewer, session: SessionDep, status: int = 200, **extra: Any) -> HTMLResponse:
    assert me.access is not None
    extra.setdefault("form", {"date": dt.date.today().isoformat(), "kind": "expense"})
    return page(
        request,
        me,
        "new_transaction.html",
        status,
        title=text(me, "New transaction"),
        categories=await lookups.categories(session, me.access),
        accounts=await lookups.accounts(session, me.access),
        **extra,
    )


@router.post("/transactions/{transaction_id}/category")
async def set_category(request: Request, me: WebViewer, session: SessionDep, transaction_id: ItemId) -> HTMLResponse:
    assert me.access is not None
    chosen = _ids([str((await forms.fields(request)).get("category_id", ""))], "category_id")
    item = await transactions.update(session, me.access, transaction_id, {"category_id": chosen[0] if chosen else None})
    await budget_flows.spending_changed(session, me.access.id, [item.date])
    return page(
        request,
        me,
        "_tx_row.html",
        item=item,
        categories=await lookups.categories(session, me.access),
        accounts=await lookups.accounts(session, me.access),
        saved=True,
    )


@router.post("/transactions/bulk-category")
async def bulk_category(request: Request, me: WebViewer, session: SessionDep) -> Response:
    assert me.access is not None
    form = await request.form()
    ids = _ids([str(v) for v in form.getlist("ids")], "ids")
    if not ids:
        raise InvalidInput(text(me, "Select at least one transaction."), field="ids")
    if len(ids) > 500:
        raise InvalidInput(mark("ids: at most 500 at once"), field="ids")
    chosen = _ids([str(form.get("category_id", ""))], "category_id")
    days = []
    for ident in ids:  # each one through the service: splits, transfers and book checks as for one edit
        days.append(
            (await transactions.update(session, me.access, ident, {"category_id": chosen[0] if chosen else None})).date
        )
    await budget_flows.spending_changed(session, me.access.id, days)
    back = forms.safe_next(str(form.get("back", "/transactions")))
    return RedirectResponse(back, status_code=303)


@router.get("/transactions/{transaction_id}")
async def detail(request: Request, me: WebViewer, session: SessionDep, transaction_id: ItemId) -> HTMLResponse:
    assert me.access is not None
    return await _detail(request, me, session, transaction_id)


async def _detail(
    request: Request, me: Viewer, session: SessionDep, transaction_id: int, status: int = 200, **extra: Any
) -> HTMLResponse:
    assert me.access is not None
    item = await transactions.get(session, me.access, transaction_id)
    return page(
        request,
        me,
        "transaction.html",
        status,
        title=item.payee or item.description or text(me, "Transaction"),
        item=item,
        categories=await lookups.categories(session, me.access),
        accounts=await lookups.accounts(session, me.access),
        **extra,
    )


@router.post("/transactions/{transaction_id}")
async def edit(request: Request, me: WebViewer, session: SessionDep, transaction_id: ItemId) -> Response:
    """Description, notes, category, and the splits (rows with an amount; none left: no splits)."""
    assert me.access is not None
    form = await request.form()
    try:
        changes: dict[str, Any] = {
            "description": str(form.get("description", "")).strip(),
            "notes": str(form.get("notes", "")).strip() or None,
        }
        amounts = [str(a) for a in form.getlist("split_amount")]
        cats = [str(c) for c in form.getlist("split_category")]
        memos = [str(m) for m in form.getlist("split_memo")]
        parts = [
            {
                "amount": lookups.amount(a, me.language, f"split_amount[{n}]"),
                "category_id": next(iter(_ids([cats[n]], f"split_category[{n}]")), None) if n < len(cats) else None,
                "memo": (memos[n].strip() or None) if n < len(memos) else None,
            }
            for n, a in enumerate(amounts)
            if a.strip()
        ]
        if parts:
            changes["splits"] = parts
        else:
            chosen = _ids([str(form.get("category_id", ""))], "category_id")
            changes["category_id"] = chosen[0] if chosen else None
            if form.get("had_splits") == "1":
                changes["splits"] = []
        async with session.begin_nested():
            item = await transactions.update(session, me.access, transaction_id, changes)
        await budget_flows.spending_changed(session, me.access.id, [item.date])
    except DomainError as problem:
        return await _detail(request, me, session, transaction_id, 422, error=said(me, problem))
    return RedirectResponse(f"/transactions/{transaction_id}", status_code=303)


@router.post("/transactions/{transaction_id}/delete")
async def delete(request: Request, me: WebViewer, session: SessionDep, transaction_id: ItemId) -> Response:
    """Both legs of a transfer go together; a later import of the same statement does not bring it back."""
    assert me.access is not None
    day = await transactions.delete(session, me.access, transaction_id)
    await budget_flows.spending_changed(session, me.access.id, [day])
    back = forms.safe_next(str((await forms.fields(request)).get("back", "/transactions")))
    return RedirectResponse(back, status_code=303)
