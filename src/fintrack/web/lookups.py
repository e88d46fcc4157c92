"""Names pages show beside ids: the book's categories as "Parent › Child" and its accounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import NumberFormatError, parse_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.errors import InvalidInput, Term, mark
from fintrack.ledger import service as ledger
from fintrack.ledger.models import Account
from fintrack.web import i18n


@dataclass(frozen=True)
class Choice:
    id: int
    label: str
    kind: str


async def categories(session: AsyncSession, access: BookAccess) -> list[Choice]:
    found = await ledger.categories(session, access)
    names = {c.id: c.name for c in found}
    choices = [
        Choice(c.id, f"{names[c.parent_id]} › {c.name}" if c.parent_id in names else c.name, str(c.kind)) for c in found
    ]
    return sorted(choices, key=lambda c: (c.kind, c.label.casefold()))


async def accounts(session: AsyncSession, access: BookAccess) -> dict[int, Account]:
    return {account.id: account for account, _ in await ledger.accounts_with_balances(session, access)}


def amount(text: str, language: str, field: str = "amount") -> str:
    """An amount as the user typed it (1.234,56 in Portuguese, 1,234.56 in English) as the API's decimal text."""
    cleaned = text.strip().replace("R$", "").replace("$", "").replace("\u00a0", "").replace(" ", "")
    try:
        value = parse_decimal(cleaned, locale=i18n.babel_name(language), strict=True)
    except NumberFormatError:
        try:  # "1234.56" typed by someone whose pages are in Portuguese is not ambiguous: accept it
            value = Decimal(cleaned)
        except ArithmeticError:
            raise InvalidInput(
                mark("{field}: {text!r} is not an amount"), values={"field": Term(field), "text": text}, field=field
            ) from None
    return format(value, "f")
