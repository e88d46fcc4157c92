"""Transfer pairing, pure: which new row is one side of a move between two of the book's accounts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from fintrack.categorize.embedding import normalize
from fintrack.errors import mark

WINDOW_DAYS = 4  # a TED or a card bill payment can take a few business days to show on the other side
# Tokens (after categorize's normalization) that say money moved between accounts rather than to a merchant.
_MARKERS = frozenset(
    {
        "pix_out",
        "pix_in",
        "pix",
        "transf_out",
        "transf_in",
        "transf",
        "fatura",
        "aplicacao",
        "resgate",
        "poupanca",
        "transfer",
        "payment",
        "investimento",
    }
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A transaction already recorded in another account of the book, not yet part of a transfer."""

    id: int
    account_id: int
    account_name: str
    date: dt.date
    amount: Decimal
    description: str


@dataclass(frozen=True, slots=True)
class Pairing:
    transaction_id: int
    reason: str
    score: Decimal


@lru_cache(maxsize=65536)
def _moves_money(text: str) -> bool:
    return not _MARKERS.isdisjoint(normalize(text).split())


def _mentions(text: str, account_name: str) -> bool:
    words = [w for w in normalize(account_name).split() if len(w) > 2]
    return bool(words) and all(w in normalize(text).split() for w in words)


def pair(
    rows: list[tuple[dt.date, Decimal, str]], candidates: list[Candidate], own_account: str
) -> list[Pairing | None]:
    """For each (date, amount, description) row, the opposite leg it completes, if any.

    Equal and opposite amounts a few days apart are common by chance (R$ 50 out, R$ 50 in), so a pair also
    needs a sign that money moved between accounts: a transfer word on either side, or one side naming the
    other's account. Each recorded transaction completes at most one row; the closest date wins.
    """
    by_amount: dict[Decimal, list[Candidate]] = {}
    for c in candidates:
        by_amount.setdefault(c.amount, []).append(c)
    taken: set[int] = set()
    out: list[Pairing | None] = []
    for date, amount, description in rows:
        best: tuple[int, int, Candidate] | None = None
        for c in by_amount.get(-amount, ()):
            gap = abs((c.date - date).days)
            if c.id in taken or gap > WINDOW_DAYS:
                continue
            named = _mentions(description, c.account_name) or _mentions(c.description, own_account)
            signals = _moves_money(description) + _moves_money(c.description) + 2 * named
            if signals == 0:
                continue
            rank = (gap, -signals)
            if best is None or rank < (best[0], best[1]):
                best = (gap, -signals, c)
        if best is None:
            out.append(None)
            continue
        gap, signals, c = best[0], -best[1], best[2]
        taken.add(c.id)
        score = max(Decimal("0.5"), Decimal(1) - Decimal(gap) / 10 - (Decimal("0.1") if signals < 2 else 0))
        out.append(
            Pairing(
                c.id,
                mark("transfer with {account}: {date} {amount:f} {description}").format(
                    account=c.account_name, date=c.date.isoformat(), amount=c.amount, description=c.description[:80]
                ),
                score.quantize(Decimal("0.001")),
            )
        )
    return out
