"""Recurring series of a book: detection over its history, the user's verdicts, and what is due next."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.ledger import queries as ledger_queries
from fintrack.ledger.errors import CategoryNotFound
from fintrack.ledger.service import money
from fintrack.money import quantize
from fintrack.recurring import detection, flows, queries
from fintrack.recurring.errors import InvalidSeriesChange, SeriesNotFound
from fintrack.recurring.models import STATUSES, RecurringSeries
from fintrack.recurring.schemas import RecurringUpdate

# Two years of history, and a little more so that a yearly charge paid late two years ago still counts.
WINDOW = dt.timedelta(days=760)
# Rows written since the last detection beyond which `upcoming` asks for a new one (a month of a very busy book
# costs it ~0.2 s to read; a few thousand, a few milliseconds).
STALE_AFTER = 5000
# The longest a living series can be silent: a yearly one, one period and its grace.
SILENCE = dt.timedelta(days=max(p.days + p.grace for p in detection.PERIODS))


@dataclass(frozen=True, slots=True)
class DetectSummary:
    found: int
    created: int
    updated: int
    dismissed: int
    removed: int
    scanned_groups: int


@dataclass(frozen=True, slots=True)
class Due:
    """One expected charge: amount signed like transactions, in the series' currency."""

    series: RecurringSeries
    date: dt.date
    amount: Decimal
    overdue: bool


# Detection ----------------------------------------------------------------------------------------------------


async def detect(session: AsyncSession, access: BookAccess, *, today: dt.date | None = None) -> DetectSummary:
    """Find the book's living series and bring the table up to date; safe to run again and again.

    New series are added as detected, named after the payee (else the description) with the group's usual
    category. Series found again get fresh dates and amounts but keep their status, name, category and the
    user's amount, so a dismissed one stays dismissed. Detected series no longer found (ended, or irregular
    after all) are deleted; confirmed and dismissed ones stay.
    """
    access.require_write()
    today = today or dt.date.today()
    await queries.lock(session, access.id)
    # Read before the history: a row committed meanwhile is above it and `upcoming` will read it. (A row whose id
    # was taken before but committed after is missed until the next run; imports queue one when they commit.)
    seen_id = await queries.newest_id(session)
    groups = await queries.candidate_groups(
        session, access.id, since=today - WINDOW, today=today, alive_since=today - SILENCE
    )
    found: dict[tuple[str, int], tuple[Any, detection.Finding]] = {}
    for group in groups:
        finding = detection.analyse(group.dates, group.amounts, today)
        if finding is None:
            continue
        # One series per merchant and account: money in and out under one name keeps the busier direction.
        where = (group.key, group.account_id)
        if where not in found or finding.occurrences > found[where][1].occurrences:
            found[where] = (group, finding)

    # A payee behind two series (the bank's fee and its savings yield) would name both alike: use the text.
    payees = Counter(group.payee for group, _ in found.values() if group.payee)
    existing = {(s.key, s.account_id): s for s in await queries.all_series(session, access.id)}
    created = updated = dismissed = 0
    now = dt.datetime.now(dt.UTC)
    for where, (group, finding) in found.items():
        series = existing.get(where)
        if series is None:
            series = RecurringSeries(
                book_id=access.id,
                account_id=group.account_id,
                key=group.key,
                name=(group.payee if payees[group.payee] == 1 else group.description).strip()[:200],
                category_id=group.category_id,
                status="detected",
            )
            session.add(series)
            created += 1
        elif series.status == "dismissed":
            dismissed += 1
        else:
            updated += 1
        _refresh(series, group, finding, now)
    stale = [s.id for where, s in existing.items() if where not in found and s.status == "detected"]
    await queries.remove(session, access.id, stale)
    await queries.record_scan(session, access.id, seen_id, today)
    await session.flush()
    return DetectSummary(len(found), created, updated, dismissed, len(stale), len(groups))


def _refresh(series: RecurringSeries, group: Any, finding: detection.Finding, now: dt.datetime) -> None:
    currency = group.currency
    series.direction = "debit" if group.debit else "credit"
    series.period = finding.period.name
    series.interval_days = finding.period.days
    series.currency = currency
    series.typical_amount = quantize(finding.typical, currency)
    series.amount_min = finding.amount_min
    series.amount_max = finding.amount_max
    series.first_date = finding.first_date
    series.last_date = finding.last_date
    series.next_date = finding.next_date
    series.occurrences = finding.occurrences
    series.detected_at = now
    series.updated_at = now


# The list and the user's verdicts -----------------------------------------------------------------------------


async def list_series(session: AsyncSession, access: BookAccess, status: str | None = None) -> list[RecurringSeries]:
    """The book's series, next due first; `status` keeps one of detected, confirmed, dismissed."""
    if status is not None and status not in STATUSES:
        raise InvalidSeriesChange(f"status: one of {', '.join(STATUSES)}", field="status")
    return await queries.all_series(session, access.id, status)


async def get_series(session: AsyncSession, access: BookAccess, series_id: int) -> RecurringSeries:
    found = await queries.one(session, access.id, series_id)
    if found is None:
        raise SeriesNotFound(series_id=series_id)
    return found


async def update(
    session: AsyncSession, access: BookAccess, series_id: int, changes: RecurringUpdate
) -> RecurringSeries:
    """Change what was sent: status, name, category (null clears), amount (null: back to the detected one)."""
    access.require_write()
    series = await get_series(session, access, series_id)
    sent = changes.model_fields_set
    if "status" in sent:
        if changes.status is None:
            raise InvalidSeriesChange("status: one of detected, confirmed, dismissed (not null)", field="status")
        series.status = changes.status
    if "name" in sent:
        if changes.name is None:
            raise InvalidSeriesChange("name: a series needs a name (not null)", field="name")
        series.name = changes.name
    if "category_id" in sent:
        category_id = changes.category_id
        if category_id is not None and not await ledger_queries.category_ids(session, access.id, {category_id}):
            raise CategoryNotFound(
                f"category_id: there is no category {category_id} in this book",
                field="category_id",
                category_id=category_id,
            )
        series.category_id = category_id
    if "amount" in sent:
        series.expected_amount = _expected(series, changes.amount)
    series.updated_at = dt.datetime.now(dt.UTC)
    await session.flush()
    await session.refresh(series)
    return series


def _expected(series: RecurringSeries, text: str | None) -> Decimal | None:
    if text is None:
        return None
    amount = money(text, series.currency, "amount")
    debit = series.direction == "debit"
    if amount == 0 or (amount < 0) != debit:
        sign = "negative" if debit else "positive"
        raise InvalidSeriesChange(
            f"amount: this series is money {'out' if debit else 'in'}, so its amount is {sign}", field="amount"
        )
    return amount


async def confirm(session: AsyncSession, access: BookAccess, series_id: int) -> RecurringSeries:
    return await update(session, access, series_id, RecurringUpdate(status="confirmed"))


async def dismiss(session: AsyncSession, access: BookAccess, series_id: int) -> RecurringSeries:
    """Dismissed series stay in the table so that detection does not bring them back."""
    return await update(session, access, series_id, RecurringUpdate(status="dismissed"))


async def delete(session: AsyncSession, access: BookAccess, series_id: int) -> None:
    """Forget the series; the next detection may find it again (dismiss it to keep it away)."""
    access.require_write()
    series = await get_series(session, access, series_id)
    await session.delete(series)
    await session.flush()


# What is due --------------------------------------------------------------------------------------------------


async def upcoming(
    session: AsyncSession, access: BookAccess, days: int = 30, *, today: dt.date | None = None
) -> list[Due]:
    """Charges expected from today to `days` ahead from confirmed and detected series, by date.

    Charges that arrived since the last detection move a series on without a re-run. A charge due in the past
    but still within the series' grace is listed once as overdue; series silent for longer have ended and
    are left out, as are dismissed ones.
    """
    if not 1 <= days <= 366:
        raise InvalidSeriesChange("days: between 1 and 366", field="days")
    today = today or dt.date.today()
    end = today + dt.timedelta(days=days)
    if await queries.unscanned_over(session, access.id, STALE_AFTER):
        # Reading that many new rows here each time would cost more than detecting again, once, off the request.
        await flows.history_grew(session, access.id)
    newer = await queries.newer_charges(session, access.id, today)
    due: list[Due] = []
    for series in await queries.all_series(session, access.id):
        if series.status == "dismissed":
            continue
        period = detection.BY_NAME[series.period]
        next_date = series.next_date
        if series.id in newer:
            next_date = detection.next_due([newer[series.id]], period, anchor=series.next_date.day)
        last = max(series.last_date, newer.get(series.id, series.last_date))
        if (today - last).days > period.days + period.grace:
            continue
        if next_date < today:
            due.append(Due(series, next_date, series.amount, True))
        due += [Due(series, day, series.amount, False) for day in detection.due_dates(next_date, period, today, end)]
    due.sort(key=lambda d: (d.date, d.series.name, d.series.id))
    return due
