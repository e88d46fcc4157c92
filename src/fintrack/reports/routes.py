"""HTTP routes for balances and summaries, as JSON or (?format=csv) as a CSV download."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Response

from fintrack.deps import CurrentBook, SessionDep
from fintrack.ledger.schemas import BalancesOut
from fintrack.reports import export
from fintrack.reports import service as reports
from fintrack.reports.schemas import CashflowReport, CategoryReport, CategoryTrendsReport, NetWorthReport
from fintrack.schemas import IsoDate

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Day = Annotated[IsoDate | None, Query(ge=dt.date(1900, 1, 1), le=dt.date(2199, 12, 31))]
From = Annotated[
    IsoDate | None,
    Query(ge=dt.date(1900, 1, 1), le=dt.date(2199, 12, 31), description="First day (ISO 8601); default per report"),
]
To = Annotated[
    IsoDate | None, Query(ge=dt.date(1900, 1, 1), le=dt.date(2199, 12, 31), description="Last day; default: today")
]
Accounts = Annotated[
    list[Annotated[int, Query(ge=1, le=2**63 - 1)]],
    Query(max_length=100, description="Only these accounts of the book (repeat the parameter); default: all"),
]
Format = Annotated[
    Literal["json", "csv"], Query(alias="format", description="csv: a UTF-8 CSV download with a header row")
]
CSV = {200: {"content": {"text/csv": {}}, "description": "The report, as JSON or (format=csv) as CSV"}}

R = TypeVar("R")


def _answer(report: R, output: str, name: str, to_csv: Callable[[R], str]) -> R | Response:
    if output != "csv":
        return report
    return Response(
        to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename(name, report)}"'},  # type: ignore[arg-type]
    )


@router.get(
    "/balances",
    response_model=BalancesOut,
    responses=CSV,  # type: ignore[arg-type]
    summary="Every account's balance, now or as of a day, and the total in the base currency",
)
async def balances(
    book: CurrentBook,
    session: SessionDep,
    as_of: Day = None,
    account_id: Accounts = [],  # noqa: B006 - FastAPI copies defaults
    output: Format = "json",
) -> Any:
    report = await reports.balances(session, book, as_of, account_id)
    return _answer(report, output, "balances", export.balances_csv)


@router.get(
    "/categories",
    response_model=CategoryReport,
    responses=CSV,  # type: ignore[arg-type]
    summary="Totals per category over a period (default: this month), in the base currency",
)
async def categories(
    book: CurrentBook,
    session: SessionDep,
    date_from: From = None,
    date_to: To = None,
    account_id: Accounts = [],  # noqa: B006
    output: Format = "json",
) -> Any:
    report = await reports.by_category(session, book, date_from, date_to, account_id)
    return _answer(report, output, "categories", export.categories_csv)


@router.get(
    "/cashflow",
    response_model=CashflowReport,
    responses=CSV,  # type: ignore[arg-type]
    summary="Income vs expense: income, expense, net and savings rate per month (default: the last twelve months)",
)
async def cashflow(
    book: CurrentBook,
    session: SessionDep,
    date_from: From = None,
    date_to: To = None,
    account_id: Accounts = [],  # noqa: B006
    output: Format = "json",
) -> Any:
    report = await reports.cashflow(session, book, date_from, date_to, account_id)
    return _answer(report, output, "cashflow", export.cashflow_csv)


@router.get(
    "/category-trends",
    response_model=CategoryTrendsReport,
    responses=CSV,  # type: ignore[arg-type]
    summary="Per month and top-level category (subcategories rolled up): the top N, then 'others'",
)
async def category_trends(
    book: CurrentBook,
    session: SessionDep,
    date_from: From = None,
    date_to: To = None,
    account_id: Accounts = [],  # noqa: B006
    kind: Annotated[Literal["expense", "income"], Query()] = "expense",
    top: Annotated[int, Query(ge=1, le=reports.MAX_TOP, description="Categories shown apart")] = reports.DEFAULT_TOP,
    output: Format = "json",
) -> Any:
    report = await reports.category_trends(session, book, date_from, date_to, account_id, kind=kind, top=top)
    return _answer(report, output, "category-trends", export.category_trends_csv)


@router.get(
    "/net-worth",
    response_model=NetWorthReport,
    responses=CSV,  # type: ignore[arg-type]
    summary="Net worth at each month's end (default: the last twelve months), in the base currency",
)
async def net_worth(
    book: CurrentBook,
    session: SessionDep,
    date_from: From = None,
    date_to: To = None,
    account_id: Accounts = [],  # noqa: B006
    output: Format = "json",
) -> Any:
    report = await reports.net_worth(session, book, date_from, date_to, account_id)
    return _answer(report, output, "net-worth", export.net_worth_csv)
