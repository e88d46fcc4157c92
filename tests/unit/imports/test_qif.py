"""The QIF parser against the public corpus and the quirks QIF files come with."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fintrack.imports.formats.base import Options, ParseResult, Split, UnreadableFile
from fintrack.imports.formats.qif import parser
from tests.unit.imports.conftest import corpus
from tests.unit.imports.fuzz import mutated, parses_or_refuses

# Transactions expected per file, from MANIFEST.md (Invst records count; opening balances are rows).
EXPECTED = {
    "isaacharrisholt__test.qif": 7,
    "isaacharrisholt__test_oth_a.qif": 7,
    "isaacharrisholt__test_unknown_account_type.qif": 1,
    "isaacharrisholt__test_category_override.qif": 4,
    "isaacharrisholt__test_circular_reference.qif": 2,
    "isaacharrisholt__test_transaction_before_account_definition_1.qif": 2,
    "isaacharrisholt__test_transaction_before_account_definition_2.qif": 2,
    "isaacharrisholt__test_category_inherit.qif": 0,
    "actualbudget__data-payee-memo.qif": 4,
    "actualbudget__data-with-categories.qif": 3,
    "actualbudget__qif-account.qif": 1,
}
REJECTED = ["isaacharrisholt__empty.qif", "isaacharrisholt__invalid.txt"]


def parse(text: str, **options: str) -> ParseResult:
    return parser.parse(text.encode(), Options(**options))  # type: ignore[arg-type]


def test_the_corpus_table_covers_every_file() -> None:
    assert {p.name for p in corpus("qif").iterdir()} == set(EXPECTED) | set(REJECTED)


@pytest.mark.parametrize(("name", "count"), sorted(EXPECTED.items()))
def test_corpus_file_yields_the_manifest_count(name: str, count: int) -> None:
    result = parser.parse((corpus("qif") / name).read_bytes(), Options())
    assert len(result.rows) == count
    assert result.declared_count == count
    assert result.errors == []
    assert result.questions == []


@pytest.mark.parametrize("name", REJECTED)
def test_files_that_are_not_qif_are_refused(name: str) -> None:
    with pytest.raises(UnreadableFile):
        parser.parse((corpus("qif") / name).read_bytes(), Options())


def test_wikipedia_sample_reads_splits_transfers_and_cheque_numbers() -> None:
    rows = parser.parse((corpus("qif") / "isaacharrisholt__test.qif").read_bytes(), Options()).rows
    opening, mobile, *_ = rows
    assert opening.date == dt.date(2020, 2, 10)
    assert opening.category is None and opening.kind == "transfer" and opening.memo == "transfer: TestExport"
    assert mobile.splits == (
        Split(Decimal("-15.00"), "Bills:Cell Phone", "sign up credit"),
        Split(Decimal("82.50"), "Bills:Cell Phone", "new account"),
    )
    walmart = next(r for r in rows if r.payee == "Walmart")
    assert walmart.external_id == "123" and walmart.amount == Decimal("-25.00")
    amazon = next(r for r in rows if r.payee == "Amazon.com")
    assert amazon.date == dt.date(2020, 2, 10)  # the D line inside a split does not move the record
    assert sum(s.amount for s in amazon.splits) == amazon.amount
    assert rows[-1].kind == "Buy" and rows[-1].amount == Decimal("100.00")


def test_day_first_file_is_detected_from_one_day_above_twelve() -> None:
    rows = parser.parse((corpus("qif") / "isaacharrisholt__test_category_override.qif").read_bytes(), Options()).rows
    assert [r.date for r in rows] == [
        dt.date(2017, 12, 22),
        dt.date(2018, 1, 1),
        dt.date(2018, 1, 2),
        dt.date(2018, 1, 2),
    ]


def test_account_block_names_the_rows_account() -> None:
    rows = parser.parse((corpus("qif") / "actualbudget__qif-account.qif").read_bytes(), Options()).rows
    assert rows[0].account == "Checking Main"
    assert rows[0].date == dt.date(2018, 12, 19)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1/ 2'98", dt.date(1998, 1, 2)),
        ("12/31'99", dt.date(1999, 12, 31)),
        ("01/02/2020", dt.date(2020, 1, 2)),
        ("2020-01-02", dt.date(2020, 1, 2)),
        ("1.2.2020", dt.date(2020, 1, 2)),
        ("2/10' 4", dt.date(2004, 2, 10)),
    ],
)
def test_messy_dates_are_read_month_first_when_the_file_says_so(raw: str, expected: dt.date) -> None:
    text = f"!Type:Bank\nD{raw}\nT1.00\n^\nD12/31/2020\nT1.00\n^\n"
    assert parse(text).rows[0].date == expected


def test_ambiguous_dates_follow_the_locale_and_ask_the_user() -> None:
    text = "!Type:Bank\nD01/02/2020\nT1.00\n^\n"
    result = parse(text)
    assert result.rows[0].date == dt.date(2020, 2, 1)  # pt-BR reads day first
    assert len(result.questions) == 1
    assert parse(text, locale="en-US").rows[0].date == dt.date(2020, 1, 2)
    forced = parse(text, date_order="mdy")
    assert forced.rows[0].date == dt.date(2020, 1, 2) and forced.questions == []


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        (["1,234.56", "-10.00"], Decimal("1234.56")),
        (["1.234,56", "-10,00"], Decimal("1234.56")),
        (["1234,56", "1,00"], Decimal("1234.56")),
        (["-1,234.5", "3.25"], Decimal("-1234.5")),
    ],
)
def test_amounts_with_thousands_or_decimal_comma(amounts: list[str], expected: Decimal) -> None:
    body = "".join(f"D01/31/2020\nT{a}\n^\n" for a in amounts)
    assert parse("!Type:Bank\n" + body).rows[0].amount == expected


def test_a_bad_record_is_a_problem_and_the_rest_still_load() -> None:
    text = "!Type:CCard\nD13/45/2020\nT-1.00\n^\nD01/02/2020\nTabc\n^\nD01/02/2020\nT-3.00\nPShop\n^\n"
    result = parse(text, date_order="dmy")
    assert [r.payee for r in result.rows] == ["Shop"]
    assert [(p.line, p.field) for p in result.errors] == [(2, "D"), (6, "T")]
    assert result.declared_count == 3


def test_list_sections_and_memorized_records_are_not_transactions() -> None:
    text = "!Type:Cat\nNFood\n^\n!Type:Memorized\nPRent\nT-900\n^\n!Type:Cash\nD1/31/2020\nT-5\nLFood:Snacks/Trip\n^\n"
    result = parse(text)
    assert result.declared_count == 1
    assert result.rows[0].category == "Food:Snacks"


def test_unterminated_last_record_is_kept_with_a_warning() -> None:
    result = parse("!Type:Oth L\nD1/31/2020\nT-5\n")
    assert len(result.rows) == 1 and result.errors == []
    assert [p.severity for p in result.problems] == ["warning"]


SAMPLES = [p.read_bytes() for p in sorted(corpus("qif").iterdir())]
TOKENS = [b"^\n", b"!Type:Bank\n", b"D", b"T", b"\n", b"S", b"$", b"'", b"/"]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated(SAMPLES, TOKENS, edits=8, drop=20), st.binary(max_size=400)))
def test_fuzzed_input_gives_a_result_or_unreadable_file(data: bytes) -> None:
    parses_or_refuses(parser, data)
