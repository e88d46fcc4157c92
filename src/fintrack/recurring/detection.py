"""Recurring series in a merchant's dates and amounts: the period, the typical amount, the next date. Pure.

The database hands over one group per (account, merchant key, direction) with its dates and amounts in date
order; analyse() decides whether the group is a living series. Bills are paid on the next business day when
the due date falls on a weekend, and months have 28 to 31 days, so intervals are compared with a tolerance;
an occasional skipped occurrence (a month without the charge) is allowed, a mostly irregular rhythm is not.
"""

from __future__ import annotations

import datetime as dt
import re
from calendar import monthrange
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from statistics import median

from fintrack.rules.text import fold

# A share of the amounts this far from the median still counts as the same charge: utility bills move with the
# season by this much; a grocery shop does not stay inside it.
AMOUNT_TOLERANCE = Decimal("0.35")
CONSISTENT_SHARE = Decimal("0.8")
# Of the intervals, this share must be one period long, and nearly all the rest whole multiples (skips).
ON_PERIOD_SHARE = 0.7
REGULAR_SHARE = 0.9
MAX_SKIP = 3
# The typical amount is the median of the latest charges: after a price change, the new price.
RECENT = 6
KEY_LENGTH = 200

_NUMBERED = re.compile(r"\S*[0-9]\S*")


def merchant_key(description: str | None) -> str:
    """The description as recurring groups it: folded as rules compare text, without words holding digits.

    Statements add changing numbers to the same merchant (a card's store number, "PARC 03/10", a date), so
    "IPTU SAO PAULO 2025 PARC 03/10" and "IPTU São Paulo 2025 PARC 04/10" are one key. queries.KEY is the same
    in SQL; the two agree on ASCII text, which is what bank statements print.
    """
    return " ".join(_NUMBERED.sub(" ", fold(description)).split())[:KEY_LENGTH]


@dataclass(frozen=True, slots=True)
class Period:
    name: str
    days: int  # the nominal interval
    tolerance: int  # days either side of it still on time
    months: int  # calendar months per step, 0 for periods counted in days
    grace: int  # days past the due date before the series counts as ended
    min_occurrences: int


PERIODS = (
    Period("weekly", 7, 2, 0, 7, 3),
    Period("biweekly", 14, 3, 0, 10, 3),
    # 25 to 35 days: February after a 31st, and a due date moved from a Saturday to the Monday.
    Period("monthly", 30, 5, 1, 20, 3),
    Period("quarterly", 91, 10, 3, 30, 3),
    Period("semiannual", 182, 14, 6, 45, 3),
    Period("yearly", 365, 15, 12, 60, 2),
)
BY_NAME = {p.name: p for p in PERIODS}


@dataclass(frozen=True, slots=True)
class Finding:
    """A living series: amounts are signed like the transactions (debits negative)."""

    period: Period
    typical: Decimal
    amount_min: Decimal
    amount_max: Decimal
    first_date: dt.date
    last_date: dt.date
    next_date: dt.date
    occurrences: int


def analyse(dates: Sequence[dt.date], amounts: Sequence[Decimal], today: dt.date) -> Finding | None:
    """The series these charges make, or None: irregular, amounts all over the place, or ended.

    `dates` in order, one amount per date, all of the same sign.
    """
    if len(dates) < 2 or len(dates) != len(amounts):
        return None
    period = classify(dates)
    if period is None or (today - dates[-1]).days > period.days + period.grace:
        return None
    current = current_amounts([abs(a) for a in amounts])
    if current is None:
        return None
    sign = -1 if amounts[-1] < 0 else 1
    typical = Decimal(median(current[-RECENT:])) * sign
    low, high = sorted((min(current) * sign, max(current) * sign))
    return Finding(period, typical, low, high, dates[0], dates[-1], next_due(dates, period), len(dates))


def classify(dates: Sequence[dt.date]) -> Period | None:
    """The shortest period the intervals between the dates follow, allowing late or early days and skips."""
    intervals = [(b - a).days for a, b in pairwise(dates)]
    if not intervals:
        return None
    for period in PERIODS:
        if len(dates) < period.min_occurrences:
            continue
        on = sum(1 for d in intervals if abs(d - period.days) <= period.tolerance)
        skipped = sum(
            1
            for d in intervals
            if any(abs(d - k * period.days) <= k * period.tolerance for k in range(2, MAX_SKIP + 1))
        )
        if (
            on >= period.min_occurrences - 1
            and on >= ON_PERIOD_SHARE * len(intervals)
            and on + skipped >= REGULAR_SHARE * len(intervals)
        ):
            return period
    return None


def _outliers(values: Sequence[Decimal]) -> int | None:
    """How many amounts are far from the median, or None when too many are to call them one charge."""
    middle = Decimal(median(values))
    far = sum(1 for v in values if abs(v - middle) > AMOUNT_TOLERANCE * middle)
    return far if len(values) - far >= CONSISTENT_SHARE * len(values) else None


def current_amounts(values: Sequence[Decimal]) -> Sequence[Decimal] | None:
    """The amounts at today's price: all of them, or those since the one price change that splits the series
    into two consistent runs (the later one of at least two charges); None when neither holds.

    Of the possible changes, the one leaving the fewest outliers wins (the earliest on a tie), so an old price
    does not linger in the new run as a tolerated outlier.
    """
    if _outliers(values) is not None:
        return values
    best: tuple[int, int] | None = None
    for k in range(1, len(values) - 1):
        before, after = _outliers(values[:k]), _outliers(values[k:])
        if before is not None and after is not None and (best is None or before + after < best[0]):
            best = (before + after, k)
    return values[best[1] :] if best else None


def add_months(day: dt.date, months: int, anchor: int | None = None) -> dt.date:
    """`months` after `day`, on the anchor day of the month (default: day's own), clamped to the month's end."""
    n = day.year * 12 + day.month - 1 + months
    year, month = divmod(n, 12)
    return dt.date(year, month + 1, min(anchor or day.day, monthrange(year, month + 1)[1]))


def next_due(dates: Sequence[dt.date], period: Period, anchor: int | None = None) -> dt.date:
    """The next nominal date after the last: by calendar month on the anchor day (default: the usual day of
    the month of the latest charges), else by days."""
    last = dates[-1]
    if not period.months:
        return last + dt.timedelta(days=period.days)
    anchor = anchor or int(median(sorted(d.day for d in dates[-RECENT:])))
    # The last charge may have been moved past a weekend, even into the next month (a 31st paid on the 2nd):
    # step from the nominal date it stood for.
    nominal = min((add_months(last, k, anchor) for k in (-1, 0, 1)), key=lambda d: abs((d - last).days))
    return add_months(nominal, period.months, anchor)


def due_dates(next_date: dt.date, period: Period, start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """The nominal dates from next_date on (stepping the period) that fall in [start, end]."""
    for k in range(10_000):
        if period.months:
            day = add_months(next_date, k * period.months)
        else:
            day = next_date + dt.timedelta(days=k * period.days)
        if day > end:
            return
        if day >= start:
            yield day
