"""Budgets (monthly limits with rollover, live alerts at 80 % and 100 %) and recurring bills (detected from
history, confirmed or dismissed, and what is due next)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fintrack.budgets import service as budgets
from fintrack.deps import SessionDep
from fintrack.errors import DomainError, InvalidInput, mark
from fintrack.hub import events as hub_events
from fintrack.recurring import flows as recurring_flows
from fintrack.recurring import service as recurring
from fintrack.recurring.schemas import RecurringUpdate
from fintrack.web import forms, lookups
from fintrack.web.render import Viewer, page, said, text
from fintrack.web.session import WebViewer

router = APIRouter(include_in_schema=False)
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def month_from(value: str | None) -> dt.date:
    if not value:
        return budgets.month_of(dt.date.today())
    try:
        year, month = value.split("-")
        return dt.date(int(year), int(month), 1)
    except ValueError:
        raise InvalidInput(
            mark("month: {value!r} is not a month (YYYY-MM)"), values={"value": value}, field="month"
        ) from None


async def _budgets_page(
    request: Request, me: Viewer, session: SessionDep, code: int = 200, **extra: Any
) -> HTMLResponse:
    assert me.access is not None
    month = month_from(request.query_params.get("month"))
    status = await budgets.status(session, me.access, month)
    categories = [c for c in await lookups.categories(session, me.access) if c.kind == "expense"]
    return page(
        request,
        me,
        "budgets.html",
        code,
        title=text(me, "Budgets"),
        status=status,
        month=month,
        previous=budgets.add_months(month, -1),
        following=budgets.add_months(month, 1),
        categories=categories,
        rows={b.id: b for b in await budgets.list_budgets(session, me.access)},
        **extra,
    )


@router.get("/budgets")
async def budgets_page(request: Request, me: WebViewer, session: SessionDep) -> HTMLResponse:
    return await _budgets_page(request, me, session)


@router.post("/budgets")
async def create_budget(request: Request, me: WebViewer, session: SessionDep) -> Response:
    assert me.access is not None
    data = await forms.fields(request)
    try:
        category = str(data.get("category_id", ""))
        if not category.isdigit() or len(category) > 18:
            raise InvalidInput(text(me, "Choose a category."), field="category_id")
        amount = lookups.amount(str(data.get("amount", "")), me.language)
        async with session.begin_nested():
            await budgets.create_budget(
                session,
                me.access,
                category_id=int(category),
                amount=amount,
                rollover=data.get("rollover") == "1",
                starts=month_from(str(data["starts"])) if data.get("starts") else None,
            )
    except DomainError as problem:
        return await _budgets_page(request, me, session, 422, error=said(me, problem))
    return RedirectResponse("/budgets", status_code=303)


@router.post("/budgets/{budget_id}")
async def change_budget(request: Request, me: WebViewer, session: SessionDep, budget_id: ItemId) -> Response:
    assert me.access is not None
    data = await forms.fields(request)
    try:
        async with session.begin_nested():
            if data.get("delete") == "1":
                await budgets.delete_budget(session, me.access, budget_id)
            else:
                await budgets.update_budget(
                    session,
                    me.access,
                    budget_id,
                    amount=lookups.amount(str(data.get("amount", "")), me.language),
                    rollover=data.get("rollover") == "1",
                )
    except DomainError as problem:
        return await _budgets_page(request, me, session, 422, error=said(me, problem))
    return RedirectResponse("/budgets", status_code=303)


@router.get("/recurring")
async def recurring_page(request: Request, me: WebViewer, session: SessionDep) -> HTMLResponse:
    assert me.access is not None
    series = await recurring.list_series(session, me.access)
    return page(
        request,
        me,
        "recurring.html",
        title=text(me, "Recurring"),
        series=series,
        due=await recurring.upcoming(session, me.access, 45),
        # Only while it runs: a small book's detection is over before the redirect lands.
        detecting=request.query_params.get("detecting") == "1"
        and await recurring_flows.detecting(session, me.access.id),
        channel=hub_events.channel_of(me.user.id) if me.user is not None else None,
        accounts=await lookups.accounts(session, me.access),
        categories={c.id: c.label for c in await lookups.categories(session, me.access)},
    )


@router.post("/recurring/detect")
async def detect(request: Request, me: WebViewer, session: SessionDep) -> Response:
    assert me.access is not None
    me.access.require_write()
    # In the background: seconds on a large book. The page says so and reloads on the `recurring.detected` event.
    await recurring_flows.history_grew(session, me.access.id)
    return RedirectResponse("/recurring?detecting=1", status_code=303)


@router.post("/recurring/{series_id}")
async def decide(request: Request, me: WebViewer, session: SessionDep, series_id: ItemId) -> Response:
    assert me.access is not None
    choice = (await forms.fields(request)).get("status")
    if choice not in ("confirmed", "dismissed", "detected"):
        raise InvalidInput(mark("status: confirmed, dismissed or detected"), field="status")
    await recurring.update(session, me.access, series_id, RecurringUpdate(status=choice))
    return RedirectResponse("/recurring", status_code=303)
