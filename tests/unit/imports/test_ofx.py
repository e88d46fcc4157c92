"""The OFX/QFX/QBO/OFC parser against the public corpus, each quirk inline, and a fuzzer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fintrack.imports.formats.base import Options, ParseResult, UnreadableFile
from fintrack.imports.formats.ofx import parser

from .conftest import corpus

# Transactions a correct importer produces per file (MANIFEST.md, OFX section), or the reason it refuses it.
EXPECTED: dict[str, int | str] = {
    "Fabiopf02__example.ofx": 20,
    "Fabiopf02__example2.ofx": 18,
    "Fabiopf02__example3.ofx": 1,
    "Fabiopf02__inline.ofx": 1,
    "actualbudget__data-multi-decimal.ofx": 2,
    "actualbudget__data-payee-memo.ofx": 4,
    "actualbudget__html-vals.qfx": 2,
    "actualbudget__utf-8.qfx": 1,
    "beancount__example.qbo": 23,
    "jseutter__account_listing_aggregation.ofx": "reject: account list",
    "jseutter__bank_medium.ofx": 3,
    "jseutter__bank_small.ofx": "reject: holds no statement",
    "jseutter__fail_nice-date_missing.ofx": 0,  # and 3 errors, one per STMTTRN
    "jseutter__fail_nice-decimal_error.ofx": 0,  # and 1 error
    "jseutter__fidelity.ofx": 3,  # cash rows; the 14 trades are reported as warnings
    "jseutter__investment_401k.ofx": "reject: investment statement with no cash transactions \\(and 3 securities",
    "jseutter__multiple_accounts.ofx": 0,  # two statements with balances only
    "jseutter__signon_fail.ofx": "reject: refused the sign-on \\(status 15500\\)",
    "jseutter__td_ameritrade.ofx": "reject: investment statement with no cash transactions \\(and 0 securities",
    "jseutter__tiaacref.ofx": "reject: investment statement with no cash transactions \\(and 1 securities",
    "jseutter__vanguard.ofx": "reject: investment statement with no cash transactions \\(and 1 securities",
    "jseutter__vanguard401k.ofx": "reject: investment statement with no cash transactions \\(and 5 securities",
    "leogregianin__BancodoBrasil.ofc": 7,
    "leogregianin__BancodoBrasil.ofx": 7,
    "leogregianin__CaixaEconomicaFederal.ofc": 3,
    "leogregianin__CaixaEconomicaFederal.ofx": 3,
    "leogregianin__Itau.ofx": 17,
    "leogregianin__amex.ofx": 2,
    "leogregianin__creditcard.ofx": 3,
    "leogregianin__nubank.ofx": 5,
    "leogregianin__sicredi.ofx": 54,
    "leogregianin__version103.ofx": 3,
}
BROKEN_ROWS = {"jseutter__fail_nice-date_missing.ofx": 3, "jseutter__fail_nice-decimal_error.ofx": 1}
HEADER = "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nCHARSET:1252\n\n"


def read(name: str) -> ParseResult:
    return parser.parse((corpus("ofx") / name).read_bytes(), Options())


def parse_text(body: str, head: str = HEADER) -> ParseResult:
    return parser.parse((head + body).encode(), Options())


def statement(*transactions: str, extra: str = "") -> str:
    return (
        "<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>BRL<BANKACCTFROM><BANKID>1<ACCTID>42<ACCTTYPE>CHECKING"
        "</BANKACCTFROM><BANKTRANLIST>\n" + "\n".join(transactions) + "\n</BANKTRANLIST>" + extra
        + "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"
    )  # fmt: skip


def trn(amount: str = "-1.00", date: str = "20240102", name: str = "Shop", extra: str = "") -> str:
    return f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>{date}<TRNAMT>{amount}<FITID>1<NAME>{name}{extra}</STMTTRN>"


def test_the_table_covers_every_corpus_file() -> None:
    assert sorted(p.name for p in corpus("ofx").iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_yields_the_manifest_count(name: str) -> None:
    expected = EXPECTED[name]
    if isinstance(expected, str):
        with pytest.raises(UnreadableFile, match=expected.removeprefix("reject: ")):
            read(name)
        return
    result = read(name)
    assert len(result.rows) == expected
    assert result.declared_count == expected + BROKEN_ROWS.get(name, 0)
    assert len(result.errors) == BROKEN_ROWS.get(name, 0)
    assert all(p.line for p in result.errors)


def test_cp1252_accents_decode_in_banco_do_brasil() -> None:
    for name in ("leogregianin__BancodoBrasil.ofx", "leogregianin__BancodoBrasil.ofc"):
        result = read(name)
        assert result.rows[0].description == "Cobrança de I.O.F."
        assert result.rows[-1].description == "Pagto cartão crédito"
        assert sum(r.amount for r in result.rows) == Decimal("-10.00") == result.accounts[0].closing_balance


def test_banco_do_brasil_keeps_both_identical_rows_and_local_dates() -> None:
    rows = read("leogregianin__BancodoBrasil.ofx").rows
    assert rows[-1] == rows[-2].__class__(**{**_as_dict(rows[-2]), "line": rows[-1].line})
    assert rows[-1].date == dt.date(2016, 6, 3)  # 20160603...[-3:BRT]: the date as written


def _as_dict(row: object) -> dict[str, object]:
    return {slot: getattr(row, slot) for slot in row.__slots__}  # type: ignore[attr-defined]


def test_ofc_maps_numeric_types_and_ledger() -> None:
    result = read("leogregianin__CaixaEconomicaFederal.ofc")
    assert [r.kind for r in result.rows] == ["CREDIT", "DEBIT", "DEBIT"]
    assert result.rows[0].description == "DOC ELET"
    assert result.accounts[0].ref == "000123456"
    assert result.accounts[0].bank_id == "00104"
    assert result.accounts[0].closing_balance == Decimal("500.27")


def test_utf8_bytes_under_a_1252_header_are_not_mojibake() -> None:
    result = read("leogregianin__nubank.ofx")
    assert result.encoding == "utf-8"
    assert result.rows[3].description == "Desconto Antecipação"
    assert result.rows[2].amount == Decimal("-500.5")
    assert result.accounts[0].kind == "credit_card"
    assert result.rows[0].account == "5a238fcc-966b-4956-8a8a-08db937682c6"


def test_decimal_commas_and_two_statements_in_fabiopf02_example() -> None:
    result = read("Fabiopf02__example.ofx")
    assert result.rows[0].amount == Decimal("74.40")
    assert result.rows[1].amount == Decimal("-3.34")
    assert {(a.ref, a.currency, a.kind) for a in result.accounts} == {
        ("1459950-11", "BRL", "checking"),
        ("123412341234", "USD", "credit_card"),
    }
    assert result.accounts[0].closing_balance == Decimal("635.50")
    assert {r.currency for r in result.rows[-2:]} == {"USD"}
    assert sum(r.account == "1459950-11" for r in result.rows) == 18


def test_html_entities_are_decoded_even_when_escaped_twice() -> None:
    rows = read("actualbudget__html-vals.qfx").rows
    assert "B.C. HYDRO & POWER AUTHORITY" in (rows[0].memo or "")
    assert rows[1].payee == "TPAY <DEFTPYMT>"


def test_payee_and_memo_fallbacks() -> None:
    rows = read("actualbudget__data-payee-memo.ofx").rows
    assert [(r.description, r.payee, r.memo) for r in rows] == [
        ("Payee Name", "Payee Name", "Memo Text"),
        ("Payee Name Only", "Payee Name Only", None),
        ("Memo Only Text", None, None),
        ("", None, None),
    ]


def test_padded_memos_are_stripped_in_itau() -> None:
    rows = read("leogregianin__Itau.ofx").rows
    assert all(r.description == r.description.strip() for r in rows)
    assert rows[0].external_id == "20150402001"


def test_multi_account_qbo_with_nul_byte() -> None:
    result = read("beancount__example.qbo")
    assert [a.kind for a in result.accounts] == ["checking", None, "credit_card"]
    assert [sum(r.account == a.ref for r in result.rows) for a in result.accounts] == [10, 4, 9]
    assert any("BJNZDIF" in p.message and p.severity == "warning" for p in result.problems)


def test_balances_only_statements_give_accounts_and_no_rows() -> None:
    result = read("jseutter__multiple_accounts.ofx")
    assert [(a.ref, a.kind, a.closing_balance) for a in result.accounts] == [
        ("9100", "checking", Decimal(111)),
        ("9200", "savings", Decimal(222)),
    ]


def test_investment_cash_rows_are_kept_and_trades_reported() -> None:
    result = read("jseutter__fidelity.ofx")
    assert len(result.rows) == 3
    trades = [p for p in result.problems if p.severity == "warning" and p.field]
    assert len(trades) == 14 and all(p.line for p in trades)
    assert result.accounts[0].kind == "investment"


def test_broken_rows_name_their_line_and_field() -> None:
    result = read("jseutter__fail_nice-date_missing.ofx")
    assert [(p.line, p.field) for p in result.errors] == [(33, "DTPOSTED"), (40, "DTPOSTED"), (48, "DTPOSTED")]


# Inline quirks


def test_bom_blank_lines_and_cr_only_line_ends() -> None:
    body = statement(trn(), trn("2,50"))
    data = ("\ufeff\n\n" + HEADER + body).replace("\n", "\r").encode()
    result = parser.parse(data, Options())
    assert [r.amount for r in result.rows] == [Decimal("-1.00"), Decimal("2.50")]
    assert [r.line for r in result.rows] == [9, 10]


def test_mixed_line_ends_count_each_break_once() -> None:
    data = (HEADER.replace("\n", "\r\n") + statement(trn(), trn()).replace("\n", "\r")).encode()
    assert [r.line for r in parser.parse(data, Options()).rows] == [7, 8]


def test_body_on_one_line_with_unclosed_transactions() -> None:
    body = statement("<STMTTRN><TRNAMT>1<DTPOSTED>20240101<STMTTRN><TRNAMT>2<DTPOSTED>20240102").replace("\n", "")
    result = parse_text(body)
    assert [r.amount for r in result.rows] == [1, 2]
    assert not result.errors


def test_unclosed_last_transaction_does_not_swallow_the_balance() -> None:
    body = statement("<STMTTRN><TRNAMT>1<DTPOSTED>20240101", extra="<LEDGERBAL><BALAMT>9,5<DTASOF>20240131</LEDGERBAL>")
    result = parse_text(body)
    assert len(result.rows) == 1
    assert result.accounts[0].closing_balance == Decimal("9.5")
    assert result.accounts[0].balance_date == dt.date(2024, 1, 31)


def test_transactions_without_a_list_wrapper() -> None:
    body = "<OFX><CREDITCARDMSGSRSV1><CCSTMTTRNRS><CCSTMTRS><CURDEF>usd<CCACCTFROM><ACCTID>7</CCACCTFROM>"
    body += trn() + trn() + "</CCSTMTRS></CCSTMTTRNRS></CREDITCARDMSGSRSV1></OFX>"
    result = parse_text(body)
    assert [(r.account, r.currency) for r in result.rows] == [("7", "USD"), ("7", "USD")]
    assert result.accounts[0].kind == "credit_card"


def test_cp1252_bytes_and_forced_encoding() -> None:
    data = (HEADER + statement(trn(name="Cobrança"))).encode("cp1252")
    assert parser.parse(data, Options()).rows[0].description == "Cobrança"
    forced = parser.parse(data, Options(encoding="latin-1"))
    assert forced.rows[0].description == "Cobrança" and forced.encoding == "latin-1"
    with pytest.raises(UnreadableFile, match="not valid utf-8"):
        parser.parse(data, Options(encoding="utf-8"))
    with pytest.raises(UnreadableFile, match="unknown encoding"):
        parser.parse(data, Options(encoding="no-such-codec"))


def test_nul_padding_and_utf16() -> None:
    text = HEADER + statement(trn(name="Café"))
    assert parser.parse(text.encode() + b"\x00" * 64, Options()).rows[0].description == "Café"
    assert parser.parse(text.encode("utf-16"), Options()).rows[0].description == "Café"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("20160603120000[-3:BRT]", dt.date(2016, 6, 3)), ("20160603235959.000[-03:EST]", dt.date(2016, 6, 3)),
     ("20160603000000[+9]", dt.date(2016, 6, 3)), ("20160603", dt.date(2016, 6, 3))],
)  # fmt: skip
def test_dates_are_the_calendar_date_as_written(raw: str, expected: dt.date) -> None:
    assert parse_text(statement(trn(date=raw))).rows[0].date == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("74,40", "74.40"), ("-30.000", "-30.000"), ("-3.77000", "-3.77000"), ("+5", "5"), ("1.234,56", "1234.56"),
     ("-1,234.56", "-1234.56"), (".5", "0.5")],
)  # fmt: skip
def test_amount_forms(raw: str, expected: str) -> None:
    assert parse_text(statement(trn(amount=raw))).rows[0].amount == Decimal(expected)


def test_bad_rows_become_problems_and_the_rest_is_kept() -> None:
    result = parse_text(statement(trn(amount="$120"), trn(date="20120231"), trn(), "<STMTTRN><TRNAMT>1</STMTTRN>"))
    assert len(result.rows) == 1 and result.declared_count == 4
    assert [(p.line, p.field) for p in result.errors] == [(7, "TRNAMT"), (8, "DTPOSTED"), (10, "DTPOSTED")]


def test_dtuser_stands_in_for_a_missing_dtposted() -> None:
    body = statement("<STMTTRN><TRNAMT>1<DTUSER>20240105</STMTTRN>")
    assert parse_text(body).rows[0].date == dt.date(2024, 1, 5)


def test_nested_payee_and_currency_aggregates() -> None:
    extra = "<PAYEE><NAME>Acme<ADDR1>1 Road</PAYEE><CURRENCY><CURRATE>5.1<CURSYM>usd</CURRENCY><MEMO>m"
    row = parse_text(statement(trn(name="", extra=extra).replace("<NAME></STMTTRN>", "</STMTTRN>"))).rows[0]
    assert (row.payee, row.currency, row.memo) == ("Acme", "USD", "m")
    orig = parse_text(statement(trn(extra="<ORIGCURRENCY><CURRATE>5<CURSYM>EUR</ORIGCURRENCY>"))).rows[0]
    assert orig.currency == "BRL"  # ORIGCURRENCY: the amount was converted to CURDEF


def test_lower_case_xml_tags() -> None:
    body = statement(trn(), trn()).lower().replace("shop", "Shop")
    result = parse_text(body, head='<?xml version="1.0"?>\n<?OFX OFXHEADER="200" VERSION="211"?>\n')
    assert [r.description for r in result.rows] == ["Shop", "Shop"]
    assert result.accounts[0].ref == "42"


def test_empty_and_foreign_files_are_refused() -> None:
    for data, why in [(b"", "not OFX"), (b"hello", "not OFX"), (HEADER.encode() + b"<OFX></OFX>", "no statement")]:
        with pytest.raises(UnreadableFile, match=why):
            parser.parse(data, Options())


def test_sniff() -> None:
    assert parser.sniff(HEADER.encode()) == 1.0
    assert parser.sniff(b"\xef\xbb\xbf\n<OFC><ACCTSTMT>") == 1.0
    assert parser.sniff(b"\n\n<OFX>\n<SIGNONMSGSRSV1>") == 1.0
    assert parser.sniff(b"date,amount\n", "x.qbo") >= 0.5
    assert parser.sniff(b"date,amount\n", "x.csv") == 0.0


def test_a_large_file_reads_every_row() -> None:
    body = statement(*(trn(amount=f"-{i}.10", date="20240102120000[-3:BRT]") for i in range(5000)))
    result = parse_text(body)
    assert len(result.rows) == result.declared_count == 5000
    assert result.rows[0].line == 7 and result.rows[-1].line == 5006


# Fuzzing: whatever the bytes, the parser returns a result or refuses the file; nothing else escapes.

CORPUS = sorted(Path(corpus("ofx")).iterdir()) if Path(corpus("ofx")).is_dir() else []
FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_safely(data: bytes) -> None:
    try:
        result = parser.parse(data, Options())
    except UnreadableFile as exc:
        assert exc.message
        return
    assert isinstance(result, ParseResult)
    assert all(isinstance(r.amount, Decimal) and isinstance(r.date, dt.date) for r in result.rows)
    assert not any(p.message == "" for p in result.problems)


@FUZZ
@given(st.data())
def test_mutated_corpus_files_never_crash(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(CORPUS)).read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        where = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if action == "flip" and where < len(raw):
            raw[where] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del raw[where : where + data.draw(st.integers(1, 200))]
        elif action == "insert":
            raw[where:where] = data.draw(st.sampled_from([b"<", b">", b"</STMTTRN>", b"<STMTTRN>", b"\x00", b"&amp;"]))
        elif action == "truncate":
            del raw[where:]
    _parse_safely(bytes(raw))


@FUZZ
@given(st.binary(max_size=2000) | st.text(alphabet="<>/ STMTRNOFXABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,-\n&;"))
def test_arbitrary_bytes_never_crash(data: bytes | str) -> None:
    _parse_safely(data.encode() if isinstance(data, str) else data)
