"""Import reasons stored in English read back in the reader's language, whatever values they were made with."""

from __future__ import annotations

import string
from decimal import Decimal

import pytest

from fintrack.imports import dedupe
from fintrack.money import MoneyError, check_amount
from fintrack.web import i18n, reasons
from fintrack.web.render import environment

PORTUGUESE = i18n.translations("pt-BR").gettext
ENGLISH = i18n.translations("en").gettext
KNOWN_REASON = dedupe.SAME_PRINT


def _sample(template: str) -> dict[str, object]:
    """Values each field of the template can be formatted with, distinct and free of the template's separators."""
    values: dict[str, object] = {}
    for n, (_, name, spec, _) in enumerate(string.Formatter().parse(template)):
        if name is None or name in values:
            continue
        if name == reasons.NESTED:
            values[name] = KNOWN_REASON
        elif spec and spec.endswith("%"):
            values[name] = 0.87
        elif spec == "f":
            values[name] = Decimal("-42.50")
        elif spec == ",":
            values[name] = 1234567
        else:
            values[name] = f"v{n}x"
    return values


def test_every_template_is_found():
    found = {t.text for t in reasons.templates()}
    assert dedupe.SAME_PRINT in found
    assert "transfer with {account}: {date} {amount:f} {description}" in found
    assert "amount {value} has more than {places} decimal places for {currency}" in found
    assert "unreadable amount {amount!r}" in found
    assert len(found) > 60


@pytest.mark.parametrize("template", [t.text for t in reasons.templates()])
def test_every_reason_reads_back_in_both_languages(template):
    values = _sample(template)
    english = template.format(**values)
    assert reasons.translate(english, ENGLISH) == english
    expected = PORTUGUESE(template).format(
        **{k: PORTUGUESE(str(v)) if k == reasons.NESTED else v for k, v in values.items()}
    )
    assert reasons.translate(english, PORTUGUESE) == expected
    assert expected != english


def test_values_holding_the_templates_separators_still_read_back():
    english = "transfer with Conta: casa: 2026-03-05 -12.50 PIX Maria: aluguel"
    assert reasons.translate(english, PORTUGUESE) == (
        "transferência com Conta: casa: 2026-03-05 -12.50 PIX Maria: aluguel"
    )


def test_the_reason_inside_a_deleted_transactions_reason_is_translated_too():
    english = "you deleted this transaction (same bank id TX-77)"
    assert reasons.translate(english, PORTUGUESE) == "você excluiu esta transação (mesmo id do banco TX-77)"


def test_a_money_error_stored_as_a_reason_is_translated():
    with pytest.raises(MoneyError) as refused:
        check_amount(Decimal("1.234"), "BRL")
    assert reasons.translate(str(refused.value), PORTUGUESE) == "o valor 1.234 tem mais de 2 casas decimais para BRL"


def test_text_no_template_made_is_shown_as_it_is():
    assert reasons.translate("the bank said something new", PORTUGUESE) == "the bank said something new"
    assert reasons.translate("", PORTUGUESE) == ""
    assert reasons.translate(None, PORTUGUESE) is None


def test_a_translation_that_lost_a_placeholder_shows_the_english():
    english = "same bank id 123"
    assert reasons.translate(english, lambda _: "mesmo id {perdido}") == english


def test_pages_translate_reasons_with_a_filter():
    assert environment("pt-BR").filters["reason"](KNOWN_REASON) == "mesma data, valor e descrição"
    assert environment("en").filters["reason"](KNOWN_REASON) == KNOWN_REASON
