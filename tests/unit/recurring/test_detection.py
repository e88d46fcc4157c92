"""Period detection on plain dates and amounts: bills moved past weekends, price changes, skips, ended series."""

from __future__ import annotations

import calendar
import datetime as dt
import random
from decimal import Decimal

from fintrack.recurring import detection
from fintrack.recurring.detection import BY_NAME, analyse, due_dates, merchant_key, next_due

D = Decimal
TODAY = dt.date(2025, 12, 20)


def business(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def on(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def monthly(day: int, months: int = 24, end: dt.date = TODAY) -> list[dt.date]:
    first = end.year * 12 + end.month - months
    dates = [business(on(n // 12, n % 12 + 1, day)) for n in range(first, first + months)]
    return [d for d in dates if d <= end]


def test_a_monthly_bill_paid_on_the_next_business_day_is_monthly_on_its_due_day():
    dates = monthly(10)
    assert any(d.day != 10 for d in dates)  # some fell on a weekend
    found = analyse(dates, [D("-129.99")] * len(dates), TODAY)
    assert found is not None
    assert found.period.name == "monthly"
    assert (found.typical, found.amount_min, found.amount_max) == (D("-129.99"), D("-129.99"), D("-129.99"))
    assert found.next_date == dt.date(2026, 1, 10)
    assert found.occurrences == len(dates)


def test_the_end_of_february_and_a_31st_are_still_monthly():
    dates = monthly(31, 14)  # clamped to 28, 30 and 31 by the months, then moved past weekends
    found = analyse(dates, [D("-50")] * len(dates), TODAY)
    assert found is not None and found.period.name == "monthly"


def test_a_yearly_charge_needs_only_two_occurrences():
    dates = [dt.date(2024, 3, 2), business(dt.date(2025, 3, 2))]  # a Sunday: paid Monday the 3rd
    found = analyse(dates, [D("-1890.00"), D("-1950.00")], TODAY)
    assert found is not None
    assert found.period.name == "yearly"
    assert found.typical == D("-1920.00")
    assert found.next_date == dt.date(2026, 3, 2)


def test_weekly_and_biweekly_are_told_apart():
    fridays = [dt.date(2025, 10, 3) + dt.timedelta(weeks=k) for k in range(11)]
    weekly = analyse(fridays, [D("-60")] * 11, TODAY)
    assert weekly is not None and weekly.period.name == "weekly"
    assert weekly.next_date == fridays[-1] + dt.timedelta(days=7)
    every_other = fridays[::2]
    biweekly = analyse(every_other, [D("-200")] * 3 + [D("-210")] * 3, TODAY)
    assert biweekly is not None and biweekly.period.name == "biweekly"
    assert biweekly.typical == D("-205")  # the median of the last six


def test_quarterly():
    dates = [dt.date(2024, 1, 15), dt.date(2024, 4, 15), dt.date(2024, 7, 16), dt.date(2024, 10, 15)]
    dates += [dt.date(2025, 1, 15), dt.date(2025, 4, 14), dt.date(2025, 7, 15), dt.date(2025, 10, 15)]
    found = analyse(dates, [D("-300")] * len(dates), TODAY)
    assert found is not None and found.period.name == "quarterly"
    assert found.next_date == dt.date(2026, 1, 15)


def test_irregular_dates_are_not_a_series():
    rng = random.Random(7)
    dates = sorted({dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 700)) for _ in range(20)})
    assert analyse(dates, [D("-40")] * len(dates), TODAY) is None


def test_a_regular_shop_with_amounts_all_over_the_place_is_not_a_series():
    saturdays = [dt.date(2025, 6, 7) + dt.timedelta(weeks=k) for k in range(28)]
    rng = random.Random(3)
    amounts = [-D(rng.randint(95, 620)) for _ in saturdays]
    assert analyse(saturdays, amounts, TODAY) is None


def test_a_price_change_is_tolerated_and_the_new_price_is_typical():
    dates = monthly(7, 12)
    amounts = [D("-39.90")] * 6 + [D("-89.90")] * 6
    found = analyse(dates, amounts, TODAY)
    assert found is not None and found.period.name == "monthly"
    assert (found.typical, found.amount_min, found.amount_max) == (D("-89.90"), D("-89.90"), D("-89.90"))


def test_bills_that_vary_with_the_season_are_still_a_series():
    dates = monthly(15)
    amounts = [-(D(200) * (D("1.3") if d.month in (12, 1, 2, 3) else 1) + (k % 5) * 7) for k, d in enumerate(dates)]
    found = analyse(dates, amounts, TODAY)
    assert found is not None and found.period.name == "monthly"
    assert found.amount_min < found.typical < found.amount_max < 0


def test_a_series_that_stopped_is_ended():
    dates = monthly(5, 12, end=dt.date(2025, 8, 31))
    assert analyse(dates, [D("-119.90")] * len(dates), dt.date(2025, 9, 20)) is not None
    assert analyse(dates, [D("-119.90")] * len(dates), TODAY) is None


def test_a_few_skipped_months_do_not_break_a_monthly_series():
    # A property tax paid in ten parts, February to November, two years running.
    dates = [business(dt.date(y, m, 10)) for y in (2024, 2025) for m in range(2, 12)]
    found = analyse(dates, [D("-210.00")] * len(dates), TODAY)
    assert found is not None and found.period.name == "monthly"


def test_two_charges_a_month_apart_are_too_few_for_a_monthly_series():
    assert analyse([dt.date(2025, 11, 10), dt.date(2025, 12, 10)], [D("-10"), D("-10")], TODAY) is None


def test_income_keeps_its_sign():
    dates = monthly(5)
    found = analyse(dates, [D("8000")] * 12 + [D("8400")] * (len(dates) - 12), TODAY)
    assert found is not None and found.typical == D("8400") and found.amount_min > 0


def test_the_key_drops_numbers_accents_and_case():
    assert merchant_key("IPTU SAO PAULO 2025 PARC 03/10") == "iptu sao paulo parc"
    assert merchant_key("IPTU  São Paulo 2026 PARC 04/10") == "iptu sao paulo parc"
    assert merchant_key("PAO DE ACUCAR 1184") == merchant_key("Pão de Açúcar 0312") == "pao de acucar"
    assert merchant_key("NETFLIX.COM") == "netflix.com"
    assert merchant_key("123 456") == ""
    assert merchant_key(None) == ""


def test_a_31st_paid_on_the_2nd_next_month_is_next_due_on_the_last_day_of_the_month():
    dates = [dt.date(2025, 8, 29), dt.date(2025, 10, 1), dt.date(2025, 10, 31), dt.date(2025, 12, 1)]
    # 31 Aug was a Sunday (paid Friday 29th); 30 Nov a Sunday (paid Monday 1 Dec).
    assert next_due(dates, BY_NAME["monthly"], anchor=31) == dt.date(2025, 12, 31)


def test_due_dates_step_by_calendar_months_and_by_days():
    month = BY_NAME["monthly"]
    days = list(due_dates(dt.date(2025, 12, 31), month, dt.date(2025, 12, 1), dt.date(2026, 3, 31)))
    assert days == [dt.date(2025, 12, 31), dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)]
    week = BY_NAME["weekly"]
    assert list(due_dates(dt.date(2025, 12, 5), week, dt.date(2025, 12, 10), dt.date(2025, 12, 31))) == [
        dt.date(2025, 12, 12),
        dt.date(2025, 12, 19),
        dt.date(2025, 12, 26),
    ]
    assert detection.PERIODS[0].name == "weekly"
