"""Learned categories: store each transaction's text vector, let the nearest categorized neighbours vote."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.categorize import queries
from fintrack.categorize.embedding import embed, normalize, vote

K = 5  # neighbours that vote; what bench/categorize_bench.py measured
# At 0.80 the accuracy benchmark applies 83 % of suggestions and 98 % of those are right; below it a
# suggestion is shown for the user to confirm, never applied on its own.
APPLY_THRESHOLD = 0.80
EMBED_BATCH = 5000
NEAREST_BATCH = 500  # queries per statement: one round trip each, short enough to keep the pool moving


@dataclass(frozen=True, slots=True)
class Suggestion:
    category_id: int
    confidence: float
    neighbours: int  # how many categorized transactions voted

    @property
    def applies(self) -> bool:
        return self.confidence >= APPLY_THRESHOLD


@lru_cache(maxsize=65536)
def _normal(text: str) -> str:
    return normalize(text)


def text_key(payee: str | None, description: str | None, memo: str | None) -> str:
    """What the vector depends on, as text: transactions with equal keys have equal vectors."""
    return "|".join(_normal(t) if t else "" for t in (payee, description, memo))


@lru_cache(maxsize=16384)
def _vector(payee: str | None, description: str | None, memo: str | None) -> str:
    return queries.vector_text(embed(payee, description, memo))


async def embed_missing(session: AsyncSession, book_id: int, *, limit: int | None = None) -> int:
    """Give every transaction of the book that lacks one its vector (new imports, edited texts). Returns how many."""
    done, after = 0, 0
    while limit is None or done < limit:
        batch = EMBED_BATCH if limit is None else min(EMBED_BATCH, limit - done)
        texts = await queries.texts_missing_vectors(session, book_id, after, batch)
        if not texts:
            break
        await queries.store_vectors(
            session,
            ((tid, book_id, text_key(p, d, m), _vector(p, d, m)) for tid, p, d, m, _ in texts),
        )
        done += len(texts)
        after = texts[-1][0]
    return done


async def learn(session: AsyncSession, book_id: int, transaction_ids: list[int]) -> None:
    """Store these transactions' vectors now (a category the user just set counts from the next suggestion on)."""
    if transaction_ids:
        texts = await queries.texts_of(session, book_id, transaction_ids)
        await queries.store_vectors(
            session, ((tid, book_id, text_key(p, d, m), _vector(p, d, m)) for tid, p, d, m, _ in texts)
        )


async def suggest_many(
    session: AsyncSession, book_id: int, texts: Sequence[tuple[str | None, str | None, str | None]]
) -> list[Suggestion | None]:
    """A suggestion for each (payee, description, memo), from the book's categorized history.

    Texts repeat (a household pays the same merchants every month), so each distinct text is answered once.
    A text already seen at least K times is decided by all its exact twins, in one query for the whole batch;
    the rest ask the HNSW index for their K nearest neighbours.
    """
    if not texts or not await queries.has_learned(session, book_id):
        # Checked first: normalizing 100,000 rows of a first import costs seconds and could find nothing.
        return [None] * len(texts)
    keys = [text_key(*t) for t in texts]
    distinct: dict[str, tuple[str | None, str | None, str | None]] = {}
    for key, t in zip(keys, texts, strict=True):
        if key.strip("|"):
            distinct.setdefault(key, t)
    decided: dict[str, Suggestion | None] = {}
    exact = await queries.exact_votes(session, book_id, list(distinct))
    for key, counts in exact.items():
        total = sum(n for _, n in counts)
        if total >= K:
            # What vote() gives when every neighbour is an exact twin (similarity 1): the winner's share.
            category, n = max(counts, key=lambda c: (c[1], -c[0]))
            decided[key] = Suggestion(category, round(n / total, 3), total)
    rest = [k for k in distinct if k not in decided]
    for start in range(0, len(rest), NEAREST_BATCH):
        chunk = rest[start : start + NEAREST_BATCH]
        found = await queries.nearest(session, book_id, [_vector(*distinct[k]) for k in chunk], K)
        for key, neighbours in zip(chunk, found, strict=True):
            decided[key] = _decide(neighbours, K)
    return [decided.get(key) for key in keys]


def _decide(neighbours: list[tuple[int, float]], k: int) -> Suggestion | None:
    category, confidence = vote(neighbours, k)
    if category is None:
        return None
    return Suggestion(category, round(confidence, 3), min(len(neighbours), k))


async def suggest(
    session: AsyncSession, access: BookAccess, payee: str | None, description: str | None, memo: str | None
) -> Suggestion | None:
    return (await suggest_many(session, access.id, [(payee, description, memo)]))[0]


SEARCH_MIN_SIMILARITY = 0.35  # below it a neighbour shares a few letter groups, not a meaning
RRF_K = 60  # reciprocal rank fusion's usual constant: neither list's scores need calibrating against the other's


async def search(session: AsyncSession, access: BookAccess, q: str, limit: int) -> list[tuple[int, float]]:
    """Transactions ranked by two lists fused: the newest whose text contains every word (accents and case
    ignored), and the nearest by the vector suggestions use (typos, partial and glued words through character
    n-grams, bank noise stripped: "ifood" also finds "IFD*IFOOD CLUB"). A transaction both lists hold ranks first."""
    depth = max(50, 2 * limit)
    words = [w for w in q.split() if w][:8]
    by_text = await queries.containing(session, access.id, words, depth) if words else []
    by_vector: list[int] = []
    vector = embed(None, q, None)
    if any(vector):  # a query of numbers or noise words only has no vector to compare
        nearest = await queries.nearest_transactions(session, access.id, queries.vector_text(vector), depth)
        by_vector = [i for i, similarity in nearest if similarity >= SEARCH_MIN_SIMILARITY]
    scores: dict[int, float] = {}
    for ranked in (by_text, by_vector):
        for rank, transaction_id in enumerate(ranked, start=1):
            scores[transaction_id] = scores.get(transaction_id, 0.0) + 1.0 / (RRF_K + rank)
    best = sorted(scores.items(), key=lambda item: (-item[1], -item[0]))
    return best[:limit]
