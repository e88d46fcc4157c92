"""The CAMT parser against the public corpus, genkgo/camt's expected outputs, and hostile XML."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fintrack.imports.formats.base import Options, ParseResult, UnreadableFile
from fintrack.imports.formats.camt import parser
from tests.unit.imports.conftest import corpus
from tests.unit.imports.fuzz import mutated, parses_or_refuses

# <Ntry> count per file, from MANIFEST.md: pending (PDNG) and batch entries are one row each.
EXPECTED = {
    "genkgo__camt052.v1.xml": 1,
    "genkgo__camt052.v2.xml": 1,
    "genkgo__camt052.v2.other-account.xml": 1,
    "genkgo__camt052.v2.with-account-name.xml": 1,
    "genkgo__camt052.v4.xml": 1,
    "genkgo__camt052.v6.xml": 1,
    "genkgo__camt052.v6.Amt-zero.xml": 1,
    "genkgo__camt053.v2.five.decimals.xml": 1,
    "genkgo__camt053.v2.with-account-name.xml": 1,
    "genkgo__camt053.v3.xml": 1,
    "genkgo__camt053.v8.xml": 1,
    "genkgo__camt054.v2.xml": 1,
    "genkgo__camt054.v2.with-account-name.xml": 1,
    "genkgo__camt054.v4.xml": 1,
    "genkgo__camt054.v8.xml": 1,
    "genkgo__camt054.v8-with-UETR.xml": 1,
    "genkgo__camt054.v8-with-financial-institution.xml": 1,
    "genkgo__camt53.only-Dt-with-DtTm.xml": 0,
    "sebastienrousseau__business_sample_camt.053.001.04.xml": 3,
    "sebastienrousseau__business_sample_camt.052.001.04.xml": 2,
    "sebastienrousseau__business_sample_camt.054.001.04.xml": 1,
    "actualbudget__camt.053.xml": 6,
    "actualbudget__camt.053.payee-memo.xml": 4,
}
GOLDEN = sorted(p.name for p in corpus("camt").glob("genkgo__*.json"))


def read(name: str) -> ParseResult:
    return parser.parse((corpus("camt") / name).read_bytes(), Options())


def document(entries: str, account: str = "<Acct><Id><IBAN>DE001</IBAN></Id></Acct>") -> bytes:
    return (
        '<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
        f"<BkToCstmrStmt><GrpHdr><CreDtTm>2024-05-01T10:00:00</CreDtTm></GrpHdr><Stmt>{account}{entries}"
        "</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def entry(amount: str = "10.00", indicator: str = "DBIT", body: str = "") -> str:
    return f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>{body}</Ntry>'


def test_the_corpus_table_covers_every_statement_file() -> None:
    assert {p.name for p in corpus("camt").glob("*.xml")} == set(EXPECTED)


@pytest.mark.parametrize(("name", "count"), sorted(EXPECTED.items()))
def test_corpus_file_yields_one_row_per_entry(name: str, count: int) -> None:
    result = read(name)
    assert len(result.rows) == count
    assert result.declared_count == count
    assert result.errors == []


@pytest.mark.parametrize("golden", GOLDEN)
def test_values_match_genkgo_expected_output(golden: str) -> None:
    expected = json.loads((corpus("camt") / golden).read_text())["getEntries"]
    rows = read(golden.removesuffix(".json") + ".xml").rows
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        assert row.amount * 100 == Decimal(want["getAmount"]["getAmount"])  # genkgo keeps minor units
        assert row.currency == want["getAmount"]["getCurrency"]["getCode"]
        if want["getBookingDate"]:
            assert row.date.isoformat() == want["getBookingDate"]["0"][:10]
        if want["getAccountServicerReference"]:
            assert row.external_id == want["getAccountServicerReference"]


def test_statement_account_carries_the_closing_balance() -> None:
    result = read("actualbudget__camt.053.xml")
    (account,) = result.accounts
    assert account.ref == "DE14740618130000033626"
    assert account.closing_balance == Decimal("27.61") and account.balance_date == dt.date(2014, 1, 3)
    assert {r.account for r in result.rows} == {"DE14740618130000033626"}


def test_batch_with_consistent_details_becomes_splits() -> None:
    batch = read("actualbudget__camt.053.xml").rows[-1]
    assert batch.amount == Decimal("3.45")
    assert [s.amount for s in batch.splits] == [Decimal("2.25"), Decimal("1.20")]
    assert batch.memo is not None and batch.memo.startswith("batch of 2 payments")


def test_batch_whose_details_do_not_add_up_is_one_row_with_the_details_in_memo() -> None:
    (row,) = read("genkgo__camt054.v4.xml").rows
    assert row.amount == Decimal("-200000") and row.splits == ()
    assert row.memo is not None and "Example Creditor 3 - V3" in row.memo and "(3 detailed)" in row.memo


def test_zero_amount_details_do_not_replace_the_booked_amount() -> None:
    (row,) = read("genkgo__camt052.v6.Amt-zero.xml").rows
    assert row.amount == Decimal("-200000")


def test_ustrd_blocks_cut_mid_token_are_joined() -> None:
    row = read("actualbudget__camt.053.xml").rows[3]
    assert "STZV-EtE27122013-11:05-2" in row.description


def test_pending_entries_are_rows_with_a_warning() -> None:
    result = read("genkgo__camt052.v4.xml")
    assert len(result.rows) == 1
    assert [p.field for p in result.problems] == ["Sts"]


def test_payee_is_the_creditor_on_debits_and_the_debtor_on_credits() -> None:
    parties = "<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Alice</Nm></Dbtr><Cdtr><Pty><Nm>Shop</Nm></Pty></Cdtr>"
    parties += "</RltdPties><RmtInf><Ustrd>Order 7</Ustrd></RmtInf></TxDtls></NtryDtls>"
    booked = "<BookgDt><DtTm>2024-05-02T23:10:00+02:00</DtTm></BookgDt>"
    result = parser.parse(document(entry(body=booked + parties) + entry("5", "CRDT", booked + parties)), Options())
    debit, credit = result.rows
    assert (debit.amount, debit.payee, debit.description) == (Decimal("-10.00"), "Shop", "Order 7")
    assert (credit.amount, credit.payee) == (Decimal("5"), "Alice")
    assert debit.date == dt.date(2024, 5, 2)


def test_value_date_is_used_without_a_booking_date_and_namespace_does_not_matter() -> None:
    data = (
        b"<Document><BkToCstmrDbtCdtNtfctn><Ntfctn><Acct><Id><Othr><Id>123</Id></Othr></Id></Acct>"
        b'<Ntry><NtryRef>R1</NtryRef><Amt Ccy="CHF">1.5</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        b"<ValDt><Dt>2024-01-31</Dt></ValDt><AddtlNtryInf>Interest</AddtlNtryInf></Ntry>"
        b"</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
    )
    (row,) = parser.parse(data, Options()).rows
    assert (row.date, row.external_id, row.description, row.account) == (dt.date(2024, 1, 31), "R1", "Interest", "123")


def test_a_bad_entry_is_a_problem_naming_its_line_and_the_others_load() -> None:
    data = document("\n" + entry("ten") + "\n" + entry("2.00", "CRDT", "<BookgDt><Dt>2024-05-03</Dt></BookgDt>"))
    result = parser.parse(data, Options())
    assert [r.amount for r in result.rows] == [Decimal("2.00")]
    assert [(p.line, p.field) for p in result.errors] == [(2, "Amt")]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document><BkToCstmrStmt><Stmt><Ntry><AddtlNtryInf>&lol3;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document><BkToCstmrStmt><Stmt><Ntry><AddtlNtryInf>&xxe;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_entity_tricks_are_refused(data: bytes) -> None:
    with pytest.raises(UnreadableFile, match="forbidden"):
        parser.parse(data, Options())


@pytest.mark.parametrize(
    ("data", "match"),
    [(b"", "empty"), (b"<Document><Stmt>", "well-formed"), (b"<html><body/></html>", "not a CAMT")],
)
def test_files_that_are_not_camt_are_refused(data: bytes, match: str) -> None:
    with pytest.raises(UnreadableFile, match=match):
        parser.parse(data, Options())


def test_sniff_prefers_camt_documents() -> None:
    assert parser.sniff((corpus("camt") / "genkgo__camt053.v3.xml").read_bytes(), "x.xml") > 0.9
    assert parser.sniff(b"<?xml version='1.0'?><OFX></OFX>", "x.ofx") == 0.0


SAMPLES = [p.read_bytes() for p in sorted(corpus("camt").glob("*.xml"))]
TOKENS = [b"<Ntry>", b"</Ntry>", b"DBIT", b"<Amt>x</Amt>", b"<Dt>2024-13-01</Dt>"]


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated(SAMPLES, TOKENS, edits=6, drop=40), st.binary(max_size=300)))
def test_fuzzed_input_gives_a_result_or_unreadable_file(data: bytes) -> None:
    parses_or_refuses(parser, data)
