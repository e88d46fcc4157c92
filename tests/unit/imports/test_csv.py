"""The CSV parser against the corpus, realistic Brazilian bank exports, and fuzzed input."""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fintrack.imports.formats.base import Options, ParseResult, UnreadableFile
from fintrack.imports.formats.csv import CsvParser, parser
from fintrack.imports.formats.csv_sniff import detect_encoding
from fintrack.imports.formats.csv_values import parse_amount

from .conftest import corpus

FIXTURES = Path(__file__).parent / "fixtures" / "csv"
PT = Options()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def table(result: ParseResult) -> list[tuple[int, str, str, str]]:
    return [(r.line, r.date.isoformat(), str(r.amount), r.description) for r in result.rows]


def warnings_at(result: ParseResult) -> list[int | None]:
    return [p.line for p in result.problems if p.severity == "warning"]


# --- the public corpus -------------------------------------------------------------------------------


def test_actual_utf8_file_reads_its_three_rows_with_accents() -> None:
    result = parser.parse((corpus("csv") / "actualbudget__data_utf8.csv").read_bytes(), PT)
    assert result.encoding == "utf-8"
    assert result.problems == [] and result.questions == []
    assert table(result) == [
        (2, "2024-01-01", "42.50", "Café René"),
        (3, "2024-01-02", "-15.75", "Müller GmbH"),
        (4, "2024-01-03", "100.00", "Søren Ågård"),
    ]


def test_actual_payee_memo_file_keeps_empty_payee_and_notes_apart() -> None:
    result = parser.parse((corpus("csv") / "actualbudget__data-payee-memo.csv").read_bytes(), PT)
    assert parser.detect((corpus("csv") / "actualbudget__data-payee-memo.csv").read_bytes()).profile.name == "actual"
    assert result.problems == []
    assert [(r.line, r.amount, r.payee, r.memo) for r in result.rows] == [
        (2, Decimal("-10.00"), "Payee Name", "Note Text"),
        (3, Decimal("-20.00"), "Payee Name Only", None),
        (4, Decimal("-30.00"), None, "Note Only Text"),
        (5, Decimal("-40.00"), None, None),
    ]
    assert {r.date for r in result.rows} == {dt.date(2019, 1, 23)}


# --- built-in bank profiles ----------------------------------------------------------------------------


def test_nubank_account_export_keeps_ids_and_quoted_commas() -> None:
    data = fixture("nubank_conta.csv")
    assert parser.detect(data).profile.name == "nubank-conta"
    result = parser.parse(data, PT)
    assert result.problems == []
    assert [(r.line, r.date.isoformat(), str(r.amount)) for r in result.rows] == [
        (2, "2024-03-01", "-45.90"),
        (3, "2024-03-04", "3500.00"),
        (4, "2024-03-05", "-1200.00"),
        (5, "2024-03-10", "-350.27"),
        (6, "2024-03-15", "-89.10"),
        (7, "2024-03-20", "0.52"),
    ]
    assert result.rows[0].description == "Compra no débito - Padaria Pão de Açúcar"
    assert result.rows[0].external_id == "65e1a2b3-0f1c-4d2e-9a8b-1c2d3e4f5a6b"
    assert result.rows[4].description == "Pagamento de boleto efetuado - CONDOMINIO ED. SAO JOAO, BLOCO B"


def test_nubank_card_export_makes_purchases_negative_and_payments_positive() -> None:
    data = fixture("nubank_cartao.csv")
    assert parser.detect(data).profile.flip_sign
    result = parser.parse(data, PT)
    assert table(result) == [
        (2, "2024-02-28", "-23.5", "Padaria Real"),
        (3, "2024-02-29", "-17.93", "Uber *Trip"),
        (4, "2024-03-01", "1520.40", "Pagamento recebido"),
        (5, "2024-03-02", "-89.90", "Amazon - Parcela 2/3"),
        (6, "2024-03-03", "39.90", 'Estorno de "Netflix.com"'),
    ]


def test_itau_cp1252_export_skips_balance_lines_as_warnings() -> None:
    data = fixture("itau.csv")
    layout = parser.detect(data)
    assert (layout.profile.name, layout.delimiter, layout.encoding) == ("itau", ";", "cp1252")
    result = parser.parse(data, PT)
    assert result.encoding == "cp1252"
    assert table(result) == [
        (3, "2024-01-02", "-150.00", "PIX TRANSF JOÃO S02/01"),
        (4, "2024-01-03", "-1234.56", "PAG BOLETO CAFÉ SÃO JOÃO"),
        (5, "2024-01-05", "2500.00", "TED 341.1234MARIA A C"),
        (7, "2024-01-08", "-54.90", "TAR PACOTE ITAÚ"),
        (8, "2024-01-10", "0.37", "REND PAGO APLIC AUT MAIS"),
    ]
    assert warnings_at(result) == [2, 6]
    assert result.errors == []


def test_banco_do_brasil_export_skips_saldo_rows_and_keeps_details() -> None:
    data = fixture("banco_do_brasil.csv")
    assert parser.detect(data).profile.name == "banco-do-brasil"
    result = parser.parse(data, PT)
    assert result.encoding == "cp1252"
    assert table(result) == [
        (3, "2024-01-02", "-80.00", "Pix - Enviado"),
        (4, "2024-01-03", "-650.00", "Pagamento de Boleto"),
        (5, "2024-01-05", "1200.00", "Pix - Recebido"),
        (7, "2024-01-10", "-32.50", "Tarifa Pacote de Serviços"),
    ]
    assert warnings_at(result) == [2, 6, 8]  # Saldo Anterior, Saldo do dia, S A L D O
    first = result.rows[0]
    assert (first.memo, first.external_id, first.kind) == ("02/01 10:15 Maria José Conceição", "010201", "Saída")


def test_banco_do_brasil_unsigned_amounts_take_their_sign_from_the_type_column() -> None:
    text = fixture("banco_do_brasil.csv").decode("cp1252").replace('"-', '"')
    result = parser.parse(text.encode("cp1252"), PT)
    assert [str(r.amount) for r in result.rows] == ["-80.00", "-650.00", "1200.00", "-32.50"]


def test_inter_export_skips_its_preamble() -> None:
    data = fixture("inter.csv")
    layout = parser.detect(data)
    assert (layout.profile.name, layout.header_line, layout.encoding) == ("inter", 6, "utf-8-sig")
    result = parser.parse(data, PT)
    assert result.problems == []
    assert table(result) == [
        (7, "2024-02-01", "-250.00", 'Pix enviado: "Cp :18236120-FULANO DE TAL"'),
        (8, "2024-02-02", "-18.75", 'Compra no debito: "No estabelecimento PADARIA SÃO JOSÉ"'),
        (9, "2024-02-05", "1500.00", 'Pix recebido: "Cp :00000000-MARIA APARECIDA"'),
        (10, "2024-02-14", "-2345.67", 'Pagamento efetuado: "Pagamento fatura cartao Inter"'),
        (11, "2024-02-29", "12.34", 'Rendimento: "Poupança"'),
    ]


def test_c6_export_joins_entrada_and_saida_columns() -> None:
    data = fixture("c6.csv")
    assert parser.detect(data).profile.name == "c6"
    result = parser.parse(data, PT)
    assert result.problems == []
    assert table(result) == [
        (6, "2024-03-01", "1500.00", "Pix recebido de ANA MARIA"),
        (7, "2024-03-04", "-200.00", "Pix enviado para JOSÉ"),
        (8, "2024-03-07", "-187.43", "Pagamento de boleto"),
        (9, "2024-03-15", "-1234.56", "Compra no débito"),
    ]
    assert result.rows[2].memo == "PAGTO BOLETO ENEL DISTRIBUICAO SAO PAULO, REF 02/2024"


def test_ynab_export_reads_outflow_inflow_with_dollar_thousands_and_month_first_dates() -> None:
    result = parser.parse(fixture("ynab.csv"), PT)
    assert result.questions == []  # 01/15/2024 proves month first, whatever the locale
    assert [(r.date.isoformat(), str(r.amount), r.payee, r.category, r.memo) for r in result.rows] == [
        ("2024-01-03", "-1234.56", "Whole Foods", "Groceries", "weekly shop"),
        ("2024-01-15", "3000.00", "Employer Inc", "Ready to Assign", "January salary"),
        ("2024-02-01", "-45.10", "Shell", "Transportation: Fuel", None),
    ]


def test_a_saved_profile_reads_the_next_file_with_the_same_header() -> None:
    layout = parser.detect(fixture("inter.csv"))
    saved = dataclasses.replace(layout.profile, name="my inter", delimiter=layout.delimiter)
    result = parser.parse_with(fixture("inter.csv"), saved, PT)
    assert len(result.rows) == 5
    assert CsvParser(profiles=[saved]).detect(fixture("inter.csv")).profile.name == "my inter"
    with pytest.raises(UnreadableFile, match="my inter"):
        parser.parse_with(fixture("itau.csv"), saved, PT)


# --- encodings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16-le"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16-be"),
        ("utf-16-le", b"", "utf-16-le"),
        ("utf-16-be", b"", "utf-16-be"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
    ],
)
def test_utf16_and_bom_files_read_like_the_utf8_original(encoding: str, bom: bytes, expected: str) -> None:
    original = parser.parse(fixture("nubank_conta.csv"), PT)
    result = parser.parse(bom + fixture("nubank_conta.csv").decode().encode(encoding), PT)
    assert result.encoding == expected
    assert result.rows == original.rows


def test_portuguese_cp1252_text_is_detected_as_cp1252_not_cp1250() -> None:
    data = "Data;Descrição;Valor\n01/02/2024;Café São João Pão de Açúcar;-10,00\n".encode("cp1252")
    assert detect_encoding(data) == "cp1252"
    assert parser.parse(data, PT).rows[0].description == "Café São João Pão de Açúcar"


def test_forced_encoding_wins_and_a_misfit_is_reported() -> None:
    data = "Data;Descricao;Valor\n01/02/2024;Café;-10,00\n".encode("cp1252")
    assert parser.parse(data, Options(encoding="latin-1")).rows[0].description == "Café"
    result = parser.parse(data, Options(encoding="utf-8"))
    assert result.rows[0].description == "Caf\ufffd"
    assert [p.field for p in result.problems] == ["encoding"]


# --- dates and amounts ------------------------------------------------------------------------------------

AMBIGUOUS = b"Data;Descricao;Valor\n03/04/2024;A;-1,00\n05/06/2024;B;2,00\n"


def test_ambiguous_dates_assume_the_locale_order_and_ask() -> None:
    result = parser.parse(AMBIGUOUS, PT)
    assert [r.date for r in result.rows] == [dt.date(2024, 4, 3), dt.date(2024, 6, 5)]
    assert len(result.questions) == 1 and "day/month" in result.questions[0]
    us = parser.parse(AMBIGUOUS, Options(locale="en-US"))
    assert us.rows[0].date == dt.date(2024, 3, 4) and "month/day" in us.questions[0]


def test_forced_date_order_asks_nothing() -> None:
    result = parser.parse(AMBIGUOUS, Options(date_order="mdy"))
    assert result.rows[0].date == dt.date(2024, 3, 4) and result.questions == []


def test_one_day_over_twelve_decides_the_whole_column() -> None:
    data = b"Data;Descricao;Valor\n03/04/2024;A;-1,00\n04/25/2024;B;2,00\n"
    result = parser.parse(data, PT)
    assert [r.date for r in result.rows] == [dt.date(2024, 3, 4), dt.date(2024, 4, 25)]
    assert result.questions == []


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("05/03/24", dt.date(2024, 3, 5)), ("2024-03-05", dt.date(2024, 3, 5)), ("05-03-2024", dt.date(2024, 3, 5)),
     ("05.03.2024", dt.date(2024, 3, 5)), ("2024-03-05 10:22:01", dt.date(2024, 3, 5))],
)  # fmt: skip
def test_date_formats(cell: str, expected: dt.date) -> None:
    data = f"Data;Descricao;Valor\n{cell};A;-1,00\n25/03/2024;B;1,00\n".encode()
    assert parser.parse(data, PT).rows[0].date == expected


@pytest.mark.parametrize(
    ("cell", "mark", "expected"),
    [("1.234,56", ",", "1234.56"), ("1,234.56", ".", "1234.56"), ("-1.234,56", ",", "-1234.56"),
     ("(1.234,56)", ",", "-1234.56"), ("R$ 1.234,56", ",", "1234.56"), ("-R$ 10,00", ",", "-10.00"),
     ("1.234,56 D", ",", "-1234.56"), ("1.234,56 C", ",", "1234.56"), ("123,45-", ",", "-123.45"),
     ("1.234.567,89", ",", "1234567.89"), ("12", ",", "12"), ("1.2.3,4", ",", None), ("abc", ",", None),
     ("NaN", ".", None), ("", ",", None), ("−5,00", ",", "-5.00")],
)  # fmt: skip
def test_amount_cells(cell: str, mark: str, expected: str | None) -> None:
    amount = parse_amount(cell, mark)  # type: ignore[arg-type]
    assert (str(amount) if amount is not None else None) == expected


def test_decimal_mark_is_decided_per_column_across_the_file() -> None:
    data = b'Date,Description,Amount\n2024-01-02,A,"1,234"\n2024-01-03,B,"-2,345.60"\n'
    assert [str(r.amount) for r in parser.parse(data, PT).rows] == ["1234", "-2345.60"]


def test_debit_and_credit_columns() -> None:
    data = "Data;Histórico;Valor Débito;Valor Crédito\n02/01/2024;Aluguel;1.500,00;\n03/01/2024;Salário;;5.000,00\n"
    result = parser.parse(data.encode("cp1252"), PT)
    assert [str(r.amount) for r in result.rows] == ["-1500.00", "5000.00"]


# --- bad rows, quoting, summary lines ------------------------------------------------------------------


def test_bad_rows_become_problems_naming_their_line_and_parsing_goes_on() -> None:
    data = (
        b"Data;Descricao;Valor\n"
        b"01/02/2024;ok;-1,00\n"
        b"31/02/2024;bad date;-2,00\n"
        b"02/02/2024;bad amount;dez reais\n"
        b"03/02/2024;too few\n"
        b"04/02/2024;ok again;3,00\n"
        b"Total;;0,00\n"
    )
    result = parser.parse(data, PT)
    assert [r.line for r in result.rows] == [2, 6]
    assert [(p.line, p.field) for p in result.errors] == [(3, "date"), (4, "amount"), (5, None)]
    assert "31/02/2024" in result.errors[0].message and "found 2" in result.errors[2].message
    assert warnings_at(result) == [7]


def test_a_quoted_multiline_description_keeps_physical_line_numbers() -> None:
    data = b'Date,Description,Amount\n2024-01-02,"two\nlines",1.00\n2024-01-03,after,2.00\n'
    result = parser.parse(data, PT)
    assert [(r.line, r.description) for r in result.rows] == [(2, "two lines"), (4, "after")]


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n\n", b"just one column\nof text\n", b"\x00\x01\x02\x03\x04\x05\x06" * 50,
     b"a;b;c\nx;y;z\n"],
)  # fmt: skip
def test_files_that_are_not_statements_are_refused_with_a_reason(data: bytes) -> None:
    with pytest.raises(UnreadableFile) as caught:
        parser.parse(data, PT)
    assert caught.value.message


def test_headerless_file_is_read_by_content() -> None:
    data = "02/01/2024;PIX TRANSF JOÃO;-150,00\n03/01/2024;PAG BOLETO;-1.234,56\n".encode("cp1252")
    result = parser.parse(data, PT)
    assert table(result) == [
        (1, "2024-01-02", "-150.00", "PIX TRANSF JOÃO"),
        (2, "2024-01-03", "-1234.56", "PAG BOLETO"),
    ]


# --- sniff ------------------------------------------------------------------------------------------------


def test_sniff_is_confident_for_csv_and_low_for_ofx() -> None:
    assert parser.sniff(fixture("itau.csv"), "extrato.csv") >= 0.9
    assert parser.sniff(fixture("inter.csv"), "extrato.txt") > 0.5
    assert parser.sniff(b"OFXHEADER:100\nDATA:OFXSGML\n<OFX><BANKMSGSRSV1>", "x.ofx") < 0.1
    assert parser.sniff(b'<?xml version="1.0"?><Document></Document>', None) < 0.1
    assert parser.sniff(b"\x89PNG\r\n\x1a\n\x00\x00\x00", "x.png") <= 0.1


# --- fuzzing ----------------------------------------------------------------------------------------------

FIXTURE_BYTES = [fixture(p.name) for p in sorted(FIXTURES.glob("*.csv"))]
FUZZ = settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_or_refuse(data: bytes) -> None:
    try:
        result = parser.parse(data, PT)
    except UnreadableFile as e:
        assert e.message
        return
    assert isinstance(result, ParseResult)
    assert all(isinstance(r.amount, Decimal) and r.amount.is_finite() for r in result.rows)
    assert all(p.line is None or p.line >= 1 for p in result.problems)
    assert 0.0 <= parser.sniff(data, "f.csv") <= 1.0


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_give_a_result_or_a_refusal(data: bytes) -> None:
    _parse_or_refuse(data)


@FUZZ
@given(st.sampled_from(FIXTURE_BYTES), st.lists(st.tuples(st.integers(0, 10_000), st.binary(max_size=8)), max_size=6))
def test_mutated_fixtures_give_a_result_or_a_refusal(data: bytes, edits: list[tuple[int, bytes]]) -> None:
    for at, chunk in edits:
        at %= len(data) + 1
        data = data[:at] + chunk + data[at + len(chunk) // 2 :]
    _parse_or_refuse(data)


CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["01/02/2024", "31/12/99", "2024-13-01", "1.234,56", "-0,00", "(1,00)", "R$ 5", "Saldo", '"']),
)


@FUZZ
@given(
    st.lists(st.lists(CELL, min_size=1, max_size=6), min_size=1, max_size=12),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["utf-8", "cp1252", "utf-16"]),
)
def test_random_tables_give_a_result_or_a_refusal(rows: list[list[str]], delimiter: str, encoding: str) -> None:
    text = "Data;Descrição;Valor\n".replace(";", delimiter) + "\n".join(delimiter.join(r) for r in rows)
    _parse_or_refuse(text.encode(encoding, errors="replace"))
