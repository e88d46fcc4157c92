"""Seeded draws for the simulation: business days, prices, growth factors and the dollar's walk."""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
from decimal import Decimal

CENT = Decimal("0.01")


def usd_brl_walk(rng: random.Random, start: dt.date, end: dt.date) -> dict[dt.date, Decimal]:
    rate = rng.uniform(5.0, 5.5)
    rates = {}
    day = start
    while day <= end:
        # The first day always gets a rate, so that a purchase on a weekend start still converts.
        if day.weekday() < 5 or day == start:
            rate *= math.exp(rng.gauss(0, 0.006))
            # Reflect at the edges: the real has wandered within roughly 4.9-6.2 per dollar in recent years.
            rate = 9.8 - rate if rate < 4.9 else 12.4 - rate if rate > 6.2 else rate
            rates[day] = Decimal(f"{rate:.4f}")
        day += dt.timedelta(days=1)
    return rates


def add_months(first: dt.date, k: int) -> dt.date:
    n = first.year * 12 + first.month - 1 + k
    return dt.date(n // 12, n % 12 + 1, 1)


def business(day: dt.date) -> dt.date:
    """The day itself, or the next weekday: bills due on a weekend are paid on Monday."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def nth_business(first: dt.date, n: int) -> dt.date:
    day = business(first)
    for _ in range(n - 1):
        day = business(day + dt.timedelta(days=1))
    return day


def month_days(first: dt.date) -> int:
    return calendar.monthrange(first.year, first.month)[1]


def on(first: dt.date, day: int) -> dt.date:
    return first.replace(day=min(day, month_days(first)))


def any_day(rng: random.Random, first: dt.date, low: int = 1, high: int = 31) -> dt.date:
    return first.replace(day=rng.randint(low, min(high, month_days(first))))


def price(rng: random.Random, bounds: tuple[str, str], factor: Decimal = Decimal(1)) -> Decimal:
    low, high = (int(Decimal(b) * 100) for b in bounds)
    return (Decimal(rng.randint(low, high)) / 100 * factor).quantize(CENT)


def pct(rng: random.Random, low: float, high: float) -> Decimal:
    """A random growth factor such as 1.0537, drawn in basis points to stay exact."""
    return 1 + Decimal(rng.randint(round(low * 10000), round(high * 10000))) / 10000
