"""Split parts must add up to the whole, exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fintrack.transactions.errors import SplitMismatch
from fintrack.transactions.schemas import SplitIn
from fintrack.transactions.service import _Refs, _splits

refs = _Refs(accounts={}, categories={1, 2, 3}, payees={}, tags={})
cents = st.integers(min_value=-(10**11), max_value=10**11)


@given(st.lists(cents, min_size=2, max_size=20))
def test_parts_that_sum_to_the_amount_are_accepted(parts):
    amount = sum(Decimal(c) for c in parts).scaleb(-2)
    split_in = [SplitIn(category_id=1, amount=f"{Decimal(c).scaleb(-2):f}") for c in parts]
    rows = _splits(split_in, amount, "BRL", refs)
    assert sum(r["amount"] for r in rows) == amount


@given(st.lists(cents, min_size=2, max_size=20), st.integers(min_value=1, max_value=10**6))
def test_parts_off_by_any_cent_are_refused(parts, off):
    amount = sum(Decimal(c) for c in parts).scaleb(-2) + Decimal(off).scaleb(-2)
    split_in = [SplitIn(category_id=2, amount=f"{Decimal(c).scaleb(-2):f}") for c in parts]
    with pytest.raises(SplitMismatch, match="split parts sum to"):
        _splits(split_in, amount, "BRL", refs)


def test_a_single_part_is_not_a_split():
    with pytest.raises(SplitMismatch, match="at least two parts"):
        _splits([SplitIn(category_id=1, amount="10.00")], Decimal("10.00"), "BRL", refs)


def test_a_part_in_another_books_category_is_refused():
    from fintrack.ledger.errors import CategoryNotFound

    parts = [SplitIn(category_id=1, amount="5.00"), SplitIn(category_id=99, amount="5.00")]
    with pytest.raises(CategoryNotFound) as caught:
        _splits(parts, Decimal("10.00"), "BRL", refs)
    assert caught.value.details["field"] == "splits[1].category_id"
