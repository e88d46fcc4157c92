"""The dashboard: net worth over time, this month's money in and out, spending by category, budgets, bills due,
recent transactions, and FinTrack's own events as they happen."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fintrack.budgets import service as budgets
from fintrack.deps import SessionDep
from fintrack.hub import events as hub_events
from fintrack.recurring import service as recurring
from fintrack.reports import service as reports
from fintrack.transactions import queries as tx_queries
from fintrack.transactions import service as transactions
from fintrack.web import charts, lookups
from fintrack.web.render import page, text
from fintrack.web.session import WebViewer

router = APIRouter(include_in_schema=False)


@router.get("/")
async def dashboard(request: Request, me: WebViewer, session: SessionDep) -> HTMLResponse:
    assert me.access is not None and me.user is not None
    today = dt.date.today()
    month = today.replace(day=1)
    worth = await reports.net_worth(session, me.access, None, today)
    flow = await reports.cashflow(session, me.access, month, today)
    spent = await reports.by_category(session, me.access, month, today)
    recent, _ = await transactions.search(session, me.access, tx_queries.Filters(), None, 8)
    t = lambda message: text(me, message)  # noqa: E731 - a short alias for chart labels
    return page(
        request,
        me,
        "dashboard.html",
        title=t("Dashboard"),
        worth=worth,
        flow=flow,
        month=month,
        budget_status=await budgets.status(session, me.access, month),
        due=(await recurring.upcoming(session, me.access, 30))[:8],
        recent=recent,
        accounts=await lookups.accounts(session, me.access),
        worth_chart=charts.net_worth(worth, me.formats, t("Net worth")),
        spending_chart=charts.spending(spent, t("Others"), t("Uncategorized")),
        channel=hub_events.channel_of(me.user.id),
    )
