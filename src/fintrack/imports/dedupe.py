"""Layered duplicate detection, pure: the bank's own id first, then a fingerprint with an occurrence index."""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from difflib import SequenceMatcher
from functools import lru_cache

from fintrack.errors import mark


@lru_cache(maxsize=65536)  # bank descriptions repeat (the same shop, the same salary): fold each once
def normalize(text: str | None) -> str:
    """Accents, case and spacing do not make two bank lines different."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


PrintKey = tuple[dt.date, Decimal, str]


def print_key(date: dt.date, amount: Decimal, description: str | None) -> PrintKey:
    """What the fingerprint hashes, as a tuple: matching needs no hash (Decimal compares by value)."""
    return date, amount, normalize(description)


def fingerprint(date: dt.date, amount: Decimal, description: str | None) -> str:
    key = f"{date.isoformat()}|{amount.normalize():f}|{normalize(description)}"
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:24]


def occurrences(keys: Iterable[Hashable | None]) -> list[int]:
    """The n-th time a key appears, counting from 0: three identical coffees on one day are 0, 1 and 2."""
    # A dict, not a Counter: Counter answers a missing key through a Python-level __missing__, and nearly every
    # key of a statement is new (0.7 s of a 100,000-row re-import).
    seen: dict[Hashable, int] = {}
    result = []
    for key in keys:
        if key is None:
            result.append(0)
            continue
        n = seen.get(key, 0)
        result.append(n)
        seen[key] = n + 1
    return result


@dataclass(frozen=True, slots=True)
class Existing:
    id: int
    date: dt.date
    amount: Decimal
    description: str | None
    external_id: str | None


@dataclass(frozen=True, slots=True)
class Match:
    transaction_id: int | None  # None when the match is a deleted transaction's tombstone
    reason: str
    score: Decimal
    kind: str = "duplicate"  # duplicate | possible_duplicate (awaits the user's decision) | deleted


def matcher(existing: Sequence[Existing]) -> tuple[dict[tuple[str, int], int], dict[tuple[PrintKey, int], int]]:
    """Index what the account already holds by (bank id, occurrence) and (fingerprint, occurrence)."""
    ordered = sorted(existing, key=lambda e: e.id)
    by_external = {
        (e.external_id, n): e.id
        for e, n in zip(ordered, occurrences(e.external_id for e in ordered), strict=True)
        if e.external_id
    }
    prints = [print_key(e.date, e.amount, e.description) for e in ordered]
    by_print = {(p, n): e.id for e, p, n in zip(ordered, prints, occurrences(prints), strict=True)}
    return by_external, by_print


# Reasons are stored in English and translated where they are shown (fintrack.web.reasons).
SAME_PRINT = mark("same date, amount and description")


def _lookup(
    row: tuple[dt.date, Decimal, str | None, str | None],
    en: int,
    fp: PrintKey,
    fn: int,
    by_external: dict[tuple[str, int], int],
    by_print: dict[tuple[PrintKey, int], int],
) -> tuple[int, str, str] | None:
    if row[3] and (row[3], en) in by_external:
        return by_external[(row[3], en)], mark("same bank id {id}").format(id=row[3]), "1.000"
    if (fp, fn) in by_print:
        return by_print[(fp, fn)], SAME_PRINT, "0.990"
    return None


FUZZY_DAYS = 3
FUZZY_MIN_SIMILARITY = 0.6


def _similar(
    row: tuple[dt.date, Decimal, str | None, str | None], same_amount: Sequence[Existing], claimed: set[int]
) -> Match | None:
    """The likeliest transaction from another source that may be this row: same amount, a few days apart,
    a similar description. Two different bank ids are two different transactions, never a match."""
    best: tuple[float, Existing] | None = None
    text = normalize(row[2])
    for e in same_amount:
        if e.id in claimed or abs((e.date - row[0]).days) > FUZZY_DAYS:
            continue
        if row[3] and e.external_id and row[3] != e.external_id:
            continue
        similarity = SequenceMatcher(None, text, normalize(e.description)).ratio()
        if similarity >= FUZZY_MIN_SIMILARITY and (best is None or similarity > best[0]):
            best = (similarity, e)
    if best is None:
        return None
    similarity, e = best
    days = abs((e.date - row[0]).days)
    # Two sentences, not a plural "s" glued on: a translation has its own singular and plural.
    said = (
        mark("same amount {days} day apart, descriptions {similarity:.0%} alike")
        if days == 1
        else mark("same amount {days} days apart, descriptions {similarity:.0%} alike")
    )
    reason = said.format(days=days, similarity=similarity)
    return Match(e.id, reason, Decimal(f"{similarity:.3f}"), "possible_duplicate")


def classify(
    rows: Sequence[tuple[dt.date, Decimal, str | None, str | None]],
    existing: Sequence[Existing],
    tombstones: Sequence[Existing] = (),
    not_duplicates: frozenset[tuple[str, int]] = frozenset(),
) -> list[tuple[Match | None, str]]:
    """For each (date, amount, description, external_id): what it duplicates (or None if new), and its row key.

    Both keys carry an occurrence index, so re-importing a file adds nothing, an overlapping statement adds only
    its new rows, and repeated identical rows in one file stay as many rows as the bank listed. A row the user
    said is not a duplicate of a transaction is never matched to it again; a row matching only a transaction
    the user deleted is reported as deleted, so an import does not bring it back unasked.
    """
    by_external, by_print = matcher(existing)
    dead_external, dead_print = matcher(tombstones)
    # When the user refused a pairing, another transaction with the same fingerprint may still be this row's twin
    # (typically the very one that decision imported), so the row falls through to the next unclaimed candidate.
    # Built only when some pairing was refused: fingerprinting every existing transaction twice is not free.
    same_print: dict[PrintKey, list[int]] = {}
    if not_duplicates:
        for e in sorted(existing, key=lambda e: e.id):
            same_print.setdefault(print_key(e.date, e.amount, e.description), []).append(e.id)
    claimed: set[int] = set()
    candidates: dict[Decimal, list[Existing]] = {}
    for e in existing:
        candidates.setdefault(e.amount, []).append(e)
    external_n = occurrences(r[3] for r in rows)
    prints = [print_key(r[0], r[1], r[2]) for r in rows]
    print_n = occurrences(prints)
    result: list[tuple[Match | None, str]] = []
    for row, en, fp, fn in zip(rows, external_n, prints, print_n, strict=True):
        key = f"{fingerprint(row[0], row[1], row[2])}:{fn}"
        found = _lookup(row, en, fp, fn, by_external, by_print)
        if found is not None and (key, found[0]) in not_duplicates:
            twin = next(
                (i for i in same_print.get(fp, []) if i not in claimed and (key, i) not in not_duplicates), None
            )
            found = None if twin is None else (twin, SAME_PRINT, "0.990")
        if found is not None:
            claimed.add(found[0])
            result.append((Match(found[0], found[1], Decimal(found[2])), key))
            continue
        fuzzy = _similar(row, candidates.get(row[1], []), claimed)
        if fuzzy is not None:
            claimed.add(fuzzy.transaction_id or 0)
            result.append((fuzzy, key))
            continue
        dead = _lookup(row, en, fp, fn, dead_external, dead_print)
        if dead is not None:
            gone = mark("you deleted this transaction ({reason})").format(reason=dead[1])
            result.append((Match(None, gone, Decimal(dead[2]), "deleted"), key))
        else:
            result.append((None, key))
    return result
