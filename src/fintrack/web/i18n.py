"""Languages of the web UI and locale-aware numbers, dates and money (Babel), chosen per user.

Messages are written in English in the templates and translated from `locales/<lang>/LC_MESSAGES/messages.po`,
read at start-up with Babel (no compile step: the catalogue is turned into gettext translations in memory).
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, numbers
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = {"pt-BR": "Português (Brasil)", "en": "English"}
DEFAULT = "pt-BR"
_LOCALES = Path(__file__).parent / "locales"


def babel_name(language: str) -> str:
    return language.replace("-", "_")


def choose(preferred: str | None, accept_language: str | None) -> str:
    """The user's own choice, else the first language the browser asks for that we have, else Portuguese."""
    if preferred in LANGUAGES:
        return preferred
    if preferred and preferred.startswith("en"):
        return "en"
    if preferred and preferred.startswith("pt"):
        return "pt-BR"
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("pt"):
            return "pt-BR"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


@cache
def translations(language: str) -> NullTranslations:
    po = _LOCALES / babel_name(language) / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()  # English: the messages are the msgids
    with po.open("rb") as source:
        catalog = read_po(source, locale=babel_name(language))
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


class Formats:
    """Numbers, money and dates as the reader's language writes them: R$ 1.234,56 or $1,234.56."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = Locale.parse(babel_name(language))

    def money(self, amount: Decimal | str | None, currency: str) -> str:
        if amount is None:
            return ""
        return numbers.format_currency(Decimal(amount), currency, locale=self.locale)

    def number(self, value: Decimal | float | int | None, digits: int = 0) -> str:
        if value is None:
            return ""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return numbers.format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, value: Decimal | float | None) -> str:
        if value is None:
            return ""
        return numbers.format_percent(value, locale=self.locale)

    def date(self, day: dt.date | dt.datetime | None, style: str = "medium") -> str:
        if day is None:
            return ""
        return format_date(day, format=style, locale=self.locale)

    def month(self, day: dt.date) -> str:
        return format_date(day, format="MMM y", locale=self.locale)

    @property
    def decimal_separator(self) -> str:
        return numbers.get_decimal_symbol(self.locale)
