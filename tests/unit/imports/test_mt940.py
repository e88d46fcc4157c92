"""The MT940/MT942 parser against the public corpus of bank dialects and inline quirks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fintrack.imports.formats.base import Options, ParseResult, UnreadableFile
from fintrack.imports.formats.mt940 import parser
from tests.unit.imports.conftest import corpus
from tests.unit.imports.fuzz import mutated, parses_or_refuses

# :61: lines per file, from MANIFEST.md; the debatable ones are imported with a warning, never an error.
EXPECTED = {
    "wolph__jejik-knab.sta": 3,
    "wolph__jejik-postfinance.sta": 4,
    "wolph__jejik-rabobank.sta": 5,
    "wolph__jejik-sns.sta": 2,
    "wolph__jejik-triodos.sta": 2,
    "wolph__jejik-generic.sta": 2,
    "wolph__betterplace-sepa_mt9401.sta": 97,
    "wolph__betterplace-sepa_snippet.sta": 11,
    "wolph__betterplace-sepa_snippet_broken.sta": 1,
    "wolph__betterplace-with_binary_character.sta": 4,
    "wolph__ASNB-mt940.txt": 8,
    "wolph__cmxl-mt940.sta": 16,
    "wolph__mBank-mt940.sta": 3,
    "wolph__mBank-mt942.sta": 3,
    "wolph__mBank-with_newline_in_tnr.sta": 2,
    "wolph__self-provided-raiffeisen-cmi.sta": 7,
    "wolph__self-provided-february_30.sta": 1,
    "wolph__self-provided-malformed_details.sta": 1,
    "wolph__self-provided-multiline.sta": 2,
    "wolph__self-provided-gv_codes.sta": 2,
    "wolph__self-provided-wrapped_timestamp.sta": 1,
    "wolph__self-provided-transaction_details_wrapped.sta": 1,
    "wolph__self-provided-whitespace.sta": 1,
    "actualbudget__data.sta": 6,
}
REJECTED = ["wolph__self-provided-invalid_statement.sta"]


def read(name: str, **options: str) -> ParseResult:
    return parser.parse((corpus("mt940") / name).read_bytes(), Options(**options))  # type: ignore[arg-type]


def statement(*lines: str) -> bytes:
    head = [":20:REF", ":25:NL01BANK0123456789", ":28C:1/1", ":60F:C240101EUR100,00"]
    return "\n".join([*head, *lines, ":62F:C240131EUR90,00", "-"]).encode()


def test_the_corpus_table_covers_every_file() -> None:
    assert {p.name for p in corpus("mt940").iterdir()} == set(EXPECTED) | set(REJECTED)


@pytest.mark.parametrize(("name", "count"), sorted(EXPECTED.items()))
def test_corpus_file_yields_one_row_per_statement_line(name: str, count: int) -> None:
    result = read(name)
    assert len(result.rows) == count
    assert result.declared_count == count
    assert result.errors == []


def test_garbage_is_refused() -> None:
    with pytest.raises(UnreadableFile, match="not an MT940"):
        read(REJECTED[0])


def test_reversal_credits_take_money_out() -> None:
    rows = read("wolph__betterplace-sepa_mt9401.sta").rows
    reversals = [r for r in rows if r.kind == "NRTI"]
    assert [r.amount for r in reversals][:1] == [Decimal("-204.88")]


def test_structured_subfields_give_payee_description_and_posting_text() -> None:
    row = read("wolph__self-provided-whitespace.sta").rows[0]
    assert row.payee == "DEUTSCHE KREDITBANK AG"
    assert row.description == "ERSTATTUNG AUSLANDSEINSATZENTGELT FUER VISA 4998 XXXXXXXX 1234"
    assert row.memo == "UMBUCHUNG"
    assert row.amount == Decimal("-233.15") and row.date == dt.date(2017, 9, 14)


def test_tagged_details_and_utf8_text() -> None:
    first = read("actualbudget__data.sta").rows[0]
    assert (first.payee, first.description, first.external_id) == (
        "Boulangerie L'Étoile",
        "Facture 2025-0042",
        "BANKREF001",
    )
    assert first.currency == "EUR" and first.account == "FR7630006000011234567890189"


def test_account_and_closing_balance_come_from_25_and_62f() -> None:
    (account,) = read("wolph__mBank-mt940.sta").accounts
    assert account.ref == "PL29114010810000267002001002"
    assert (account.currency, account.closing_balance, account.balance_date) == (
        "PLN",
        Decimal("0.43"),
        dt.date(2017, 1, 19),
    )


def test_lines_that_look_like_tags_inside_details_stay_text() -> None:
    row = read("wolph__self-provided-wrapped_timestamp.sta").rows[0]
    assert "T16:26:37 Folgenr. 007" in row.description


def test_february_30_is_kept_with_a_warning() -> None:
    result = read("wolph__self-provided-february_30.sta")
    assert result.rows[0].date == dt.date(2016, 3, 1)  # the entry (booking) date is the row's date
    assert [p.severity for p in result.problems] == ["warning"]


def test_orphan_statement_line_is_kept_without_an_account() -> None:
    result = read("wolph__self-provided-multiline.sta")
    assert result.rows[1].account is None and result.rows[1].description == "Paiement"
    assert any(p.line == 38 and p.severity == "warning" for p in result.problems)


def test_windows_code_page_is_decoded_and_can_be_forced() -> None:
    assert read("wolph__self-provided-raiffeisen-cmi.sta").encoding == "latin-1"
    forced = read("wolph__self-provided-raiffeisen-cmi.sta", encoding="cp852")
    assert forced.rows[0].memo == "Csoportos átutalás jóváírása"


def test_entry_date_in_january_after_a_december_value_date_rolls_the_year() -> None:
    data = statement(":61:2412310102D10,00NTRFNONREF//B1", ":86:Rent")
    (row,) = parser.parse(data, Options()).rows
    assert row.date == dt.date(2025, 1, 2)


@pytest.mark.parametrize(
    ("line", "amount"),
    [
        ("240105C500NTRFNONREF", "500"),
        ("240105RD1,5NTRF", "1.5"),
        ("240105CN0,01NTRF", "0.01"),
        ("240105DR6,00N024", "-6.00"),
    ],
)
def test_marks_funds_codes_and_bare_amounts(line: str, amount: str) -> None:
    (row,) = parser.parse(statement(f":61:{line}"), Options()).rows
    assert row.amount == Decimal(amount)


def test_a_bad_statement_line_is_a_problem_and_the_rest_load() -> None:
    data = statement(":61:24XX05C5,00NTRF", ":86:x", ":61:240106D2,00NTRF//B2", ":86:ok")
    result = parser.parse(data, Options())
    assert [r.external_id for r in result.rows] == ["B2"]
    assert [(p.line, p.field) for p in result.errors] == [(5, ":61:")]


def test_statement_level_free_text_is_not_glued_to_the_last_row() -> None:
    data = statement(":61:240105C5,00NTRF//B1", ":86:Gift", ":64:C240131EUR90,00", ":86:Statement note")
    (row,) = parser.parse(data, Options()).rows
    assert row.description == "Gift"


SAMPLES = [p.read_bytes() for p in sorted(corpus("mt940").iterdir())]
TOKENS = [b"\n:61:", b"\n:86:", b"\n-\n", b"\n:25:", b"?2", b"RC", b",", b"\n:62F:"]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated(SAMPLES, TOKENS, edits=8, drop=30), st.binary(max_size=300)))
def test_fuzzed_input_gives_a_result_or_unreadable_file(data: bytes) -> None:
    parses_or_refuses(parser, data)
