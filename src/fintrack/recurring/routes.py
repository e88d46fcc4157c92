"""HTTP routes for recurring series: detection, the list, upcoming charges, and the user's verdicts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from fintrack.deps import CurrentBook, SessionDep
from fintrack.money import format_amount
from fintrack.recurring import service as recurring
from fintrack.recurring.models import RecurringSeries
from fintrack.recurring.schemas import Days, DetectOut, RecurringOut, RecurringUpdate, Status, UpcomingOut

router = APIRouter(prefix="/api/v1/recurring", tags=["recurring"])
SeriesId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def series_out(s: RecurringSeries) -> RecurringOut:
    c = s.currency
    return RecurringOut(
        id=s.id,
        account_id=s.account_id,
        key=s.key,
        name=s.name,
        category_id=s.category_id,
        direction=s.direction,
        period=s.period,
        interval_days=s.interval_days,
        amount=format_amount(s.amount, c),
        typical_amount=format_amount(s.typical_amount, c),
        expected_amount=format_amount(s.expected_amount, c) if s.expected_amount is not None else None,
        amount_min=format_amount(s.amount_min, c),
        amount_max=format_amount(s.amount_max, c),
        currency=c,
        first_date=s.first_date,
        last_date=s.last_date,
        next_date=s.next_date,
        occurrences=s.occurrences,
        status=s.status,
        detected_at=s.detected_at,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


@router.post("/detect", summary="Find subscriptions and bills in the book's history; dismissed ones stay dismissed")
async def detect(book: CurrentBook, session: SessionDep) -> DetectOut:
    found = await recurring.detect(session, book)
    return DetectOut(
        found=found.found,
        created=found.created,
        updated=found.updated,
        dismissed=found.dismissed,
        removed=found.removed,
        scanned_groups=found.scanned_groups,
    )


@router.get("", summary="The book's recurring series, next due first")
async def list_series(
    book: CurrentBook,
    session: SessionDep,
    status: Annotated[Status | None, Query(description="Only series with this status")] = None,
) -> list[RecurringOut]:
    return [series_out(s) for s in await recurring.list_series(session, book, status)]


@router.get("/upcoming", summary="Charges expected in the next days from confirmed and detected series, by date")
async def upcoming(book: CurrentBook, session: SessionDep, days: Annotated[Days, Query()] = 30) -> list[UpcomingOut]:
    return [
        UpcomingOut(
            series_id=d.series.id,
            name=d.series.name,
            date=d.date,
            amount=format_amount(d.amount, d.series.currency),
            currency=d.series.currency,
            account_id=d.series.account_id,
            category_id=d.series.category_id,
            period=d.series.period,
            status=d.series.status,
            overdue=d.overdue,
        )
        for d in await recurring.upcoming(session, book, days)
    ]


@router.get("/{series_id}", summary="One recurring series")
async def get_series(series_id: SeriesId, book: CurrentBook, session: SessionDep) -> RecurringOut:
    return series_out(await recurring.get_series(session, book, series_id))


@router.patch("/{series_id}", summary="Confirm, dismiss, rename, recategorise, or set the expected amount")
async def update_series(
    series_id: SeriesId, body: RecurringUpdate, book: CurrentBook, session: SessionDep
) -> RecurringOut:
    return series_out(await recurring.update(session, book, series_id, body))


@router.delete("/{series_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Forget a series")
async def delete_series(series_id: SeriesId, book: CurrentBook, session: SessionDep) -> None:
    await recurring.delete(session, book, series_id)
