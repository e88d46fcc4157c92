"""Layered duplicate detection, pure: the bank's own id first, then a fingerprint with an occurrence index."""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache


@lru_cache(maxsize=65536)  # bank descriptions repeat (the same shop, the same salary): fold each once
def normalize(text: str | None) -> str:
    """Accents, case and spacing do not make two bank lines different."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def fingerprint(date: dt.date, amount: Decimal, description: str | None) -> str:
    key = f"{date.isoformat()}|{amount.normalize():f}|{normalize(description)}"
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:24]


def occurrences(keys: Iterable[str | None]) -> list[int]:
    """The n-th time a key appears, counting from 0: three identical coffees on one day are 0, 1 and 2."""
    seen: Counter[str] = Counter()
    result = []
    for key in keys:
        if key is None:
            result.append(0)
            continue
        result.append(seen[key])
        seen[key] += 1
    return result


@dataclass(frozen=True)
class Existing:
    id: int
    date: dt.date
    amount: Decimal
    description: str | None
    external_id: str | None


@dataclass(frozen=True)
class Match:
    transaction_id: int
    reason: str
    score: Decimal


def matcher(existing: Sequence[Existing]) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
    """Index what the account already holds by (bank id, occurrence) and (fingerprint, occurrence)."""
    ordered = sorted(existing, key=lambda e: e.id)
    by_external = {
        (e.external_id, n): e.id
        for e, n in zip(ordered, occurrences(e.external_id for e in ordered), strict=True)
        if e.external_id
    }
    prints = [fingerprint(e.date, e.amount, e.description) for e in ordered]
    by_print = {(p, n): e.id for e, p, n in zip(ordered, prints, occurrences(prints), strict=True)}
    return by_external, by_print


def classify(
    rows: Sequence[tuple[dt.date, Decimal, str | None, str | None]], existing: Sequence[Existing]
) -> list[Match | None]:
    """For each (date, amount, description, external_id), the transaction it duplicates, or None if new.

    Both keys carry an occurrence index, so re-importing a file adds nothing, an overlapping statement adds only
    its new rows, and repeated identical rows in one file stay as many rows as the bank listed.
    """
    by_external, by_print = matcher(existing)
    external_n = occurrences(r[3] for r in rows)
    prints = [fingerprint(r[0], r[1], r[2]) for r in rows]
    print_n = occurrences(prints)
    result: list[Match | None] = []
    for row, en, fp, fn in zip(rows, external_n, prints, print_n, strict=True):
        if row[3] and (row[3], en) in by_external:
            result.append(Match(by_external[(row[3], en)], f"same bank id {row[3]}", Decimal("1.000")))
        elif (fp, fn) in by_print:
            result.append(Match(by_print[(fp, fn)], "same date, amount and description", Decimal("0.990")))
        else:
            result.append(None)
    return result
