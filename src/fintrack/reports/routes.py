"""HTTP routes for balances and summaries."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from fintrack.deps import CurrentBook, SessionDep
from fintrack.ledger.schemas import BalancesOut
from fintrack.reports import service as reports
from fintrack.reports.schemas import CashflowReport, CategoryReport
from fintrack.schemas import IsoDate

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Day = Annotated[IsoDate | None, Query(ge=dt.date(1900, 1, 1), le=dt.date(2199, 12, 31))]


@router.get("/balances", summary="Every account's balance, now or as of a day, and the total in the base currency")
async def balances(book: CurrentBook, session: SessionDep, as_of: Day = None) -> BalancesOut:
    return await reports.balances(session, book, as_of)


@router.get("/categories", summary="Totals per category over a period (default: this month), in the base currency")
async def categories(
    book: CurrentBook, session: SessionDep, date_from: Day = None, date_to: Day = None
) -> CategoryReport:
    return await reports.by_category(session, book, date_from, date_to)


@router.get("/cashflow", summary="Income, expense and net per month (default: the last twelve months)")
async def cashflow(
    book: CurrentBook, session: SessionDep, date_from: Day = None, date_to: Day = None
) -> CashflowReport:
    return await reports.cashflow(session, book, date_from, date_to)
