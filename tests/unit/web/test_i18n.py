"""Languages, money and amounts as people write them, and the safety of the small helpers pages rely on."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import re
import string
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

import fintrack
from fintrack.errors import DomainError, InvalidInput
from fintrack.web import forms, i18n, lookups
from fintrack.web.render import TEMPLATES, environment

PO = i18n._LOCALES / "pt_BR" / "LC_MESSAGES" / "messages.po"


def test_the_users_choice_wins_then_the_browser_then_portuguese():
    assert i18n.choose("en", "pt-BR,pt;q=0.9") == "en"
    assert i18n.choose(None, "en-US,en;q=0.9") == "en"
    assert i18n.choose(None, "fr-FR, pt;q=0.5") == "pt-BR"
    assert i18n.choose(None, None) == "pt-BR"
    assert i18n.choose("de", "de-DE") == "pt-BR"


def test_money_and_dates_are_written_the_readers_way():
    pt, en = i18n.Formats("pt-BR"), i18n.Formats("en")
    assert pt.money(Decimal("1234.56"), "BRL") == "R$\xa01.234,56"
    assert en.money("1234.56", "USD") == "$1,234.56"
    assert pt.money("-18.9", "BRL") == "-R$\xa018,90"
    assert pt.date(dt.date(2026, 3, 5), "short") == "05/03/2026"
    assert en.date(dt.date(2026, 3, 5), "short") == "3/5/26"


@pytest.mark.parametrize(
    ("typed", "language", "expected"),
    [
        ("1.234,56", "pt-BR", "1234.56"),
        ("R$ 1.234,56", "pt-BR", "1234.56"),
        ("-18,90", "pt-BR", "-18.90"),
        ("1234.56", "pt-BR", "1234.56"),
        ("1,234.56", "en", "1234.56"),
        ("$ 12", "en", "12"),
    ],
)
def test_amounts_are_read_as_the_user_typed_them(typed, language, expected):
    assert lookups.amount(typed, language) == expected


@pytest.mark.parametrize("typed", ["12,3,4", "abc", "", "1..2", "R$"])
def test_what_is_not_an_amount_is_refused_by_field(typed):
    with pytest.raises(InvalidInput, match="opening_balance"):
        lookups.amount(typed, "pt-BR", "opening_balance")


@given(st.text(max_size=40))
def test_any_typed_text_is_an_amount_or_a_clear_refusal(typed):
    try:
        Decimal(lookups.amount(typed, "pt-BR"))
    except InvalidInput as refused:
        assert refused.details == {"field": "amount"}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/transactions?q=x", "/transactions?q=x"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil", "/"),
        (None, "/"),
    ],
)
def test_after_login_only_paths_on_this_site(target, expected):
    assert forms.safe_next(target) == expected


def test_every_message_has_its_portuguese_and_keeps_its_placeholders():
    with PO.open("rb") as source:
        catalog = read_po(source)
    missing = [m.id for m in catalog if m.id and not m.string]
    assert not missing, f"untranslated: {missing[:10]} (run `make messages` and translate)"
    for message in catalog:
        if not message.id:
            continue
        names = lambda text: sorted(re.findall(r"%\((\w+)\)s", text)) + ["%%"] * text.count("%%")  # noqa: E731
        assert names(message.id) == names(message.string), message.id
        fields = lambda text: sorted(f for _, f, _, _ in string.Formatter().parse(text) if f is not None)  # noqa: E731
        assert fields(message.id) == fields(message.string), message.id


def _domain_errors() -> list[type[DomainError]]:
    for module in pkgutil.walk_packages(fintrack.__path__, "fintrack."):
        if module.name.endswith(".__main__"):
            continue  # importing it runs the CLI, which reads pytest's own arguments and exits
        importlib.import_module(module.name)
    found, todo = [], [DomainError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return [cls for cls in found if cls.__module__.startswith("fintrack.")]


def test_every_domain_errors_own_message_is_translated():
    """An error raised without a message shows its docstring: each is extracted and has its Portuguese."""
    portuguese = i18n.translations("pt-BR")
    errors = _domain_errors()
    assert len(errors) > 50
    for cls in errors:
        assert "code" in vars(cls), f"{cls.__qualname__} sets no code: `make messages` would not extract it"
        problem = cls()
        assert problem.translated(portuguese.gettext) != problem.message, f"{cls.__qualname__}: {problem.message}"


def test_a_template_is_filled_after_translation_and_its_terms_translated():
    portuguese = i18n.translations("pt-BR").gettext
    problem = forms.invalid_input(
        {"loc": ("body", "password"), "type": "string_too_short", "msg": "x", "ctx": {"min_length": 10}}
    )
    assert problem.message == "password: at least 10 characters"
    assert problem.translated(portuguese) == "senha: pelo menos 10 caracteres"
    assert problem.details == {"field": "password"}
    # A translation that lost a placeholder is not shown half-filled: the English message is.
    assert InvalidInput("{field}: bad", values={"field": "x"}).translated(lambda _: "{campo}: ruim") == "x: bad"
    # Errors made before templates (f-strings) still show, untranslated when the catalogue lacks them.
    assert InvalidInput("amount: 12,3,4 is not a number").translated(portuguese) == "amount: 12,3,4 is not a number"


def test_a_validator_message_pydantic_does_not_type_is_kept():
    problem = forms.invalid_input({"loc": ("name",), "type": "value_error", "msg": "Value error, no"})
    assert problem.message == "name: Value error, no"


def test_every_message_in_the_templates_is_in_the_catalogue():
    with PO.open("rb") as source:
        known = {m.id for m in read_po(source) if m.id}
    used = set()
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        used |= set(re.findall(r'_\("([^"]+)"', text)) | set(re.findall(r"_\('([^']+)'", text))
    assert not used - known, f"not extracted: {sorted(used - known)[:10]} (run `make messages`)"


def test_every_template_compiles_in_both_languages():
    for language in i18n.LANGUAGES:
        for template in TEMPLATES.glob("*.html"):
            environment(language).get_template(template.name)
