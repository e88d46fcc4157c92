"""Reports: cash flow, income against expense, category trends and net worth over a date range and accounts,
with charts that read on a phone and CSV downloads."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fintrack.deps import SessionDep
from fintrack.reports import service as reports
from fintrack.web import charts, lookups
from fintrack.web.render import page, text
from fintrack.web.session import WebViewer
from fintrack.web.transactions_pages import _day, _ids

router = APIRouter(include_in_schema=False)


@router.get("/reports")
async def reports_page(request: Request, me: WebViewer, session: SessionDep) -> HTMLResponse:
    assert me.access is not None
    params = request.query_params
    start, end = _day(params.get("from"), "from"), _day(params.get("to"), "to")
    account_ids = _ids(params.getlist("account"), "account")[:100] or None
    kind: Literal["expense", "income"] = "income" if params.get("kind") == "income" else "expense"
    flow, trend = await reports.overview(session, me.access, start, end, account_ids, kind=kind)
    worth = await reports.net_worth(session, me.access, start, end, account_ids)
    f = me.formats
    t = lambda message: text(me, message)  # noqa: E731 - a short alias for the chart labels
    kept = [(k, v) for k, v in params.multi_items() if k != "kind"]
    kind_links = {k: "?" + urlencode([*kept, ("kind", k)]) for k in ("expense", "income")}
    query = [("date_from", flow.date_from.isoformat()), ("date_to", flow.date_to.isoformat())]
    query += [("account_id", str(a)) for a in account_ids or []]
    return page(
        request,
        me,
        "reports.html",
        title=t("Reports"),
        kind_links=kind_links,
        flow=flow,
        worth=worth,
        trend=trend,
        kind=kind,
        accounts=await lookups.accounts(session, me.access),
        chosen=[str(a) for a in account_ids or []],
        cashflow_chart=charts.cashflow(flow, f, t("Income"), t("Expense"), t("Net")),
        worth_chart=charts.net_worth(worth, f, t("Net worth")),
        trend_chart=charts.trends(trend, f, t("Others"), t("Uncategorized")),
        csv_query=urlencode([*query, ("format", "csv")]),
        trend_csv_query=urlencode([*query, ("kind", kind), ("format", "csv")]),
    )
