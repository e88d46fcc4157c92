"""SQL of the categorize domain: transaction vectors in, nearest categorized neighbours out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.db import copy_rows
from fintrack.transactions import queries as transaction_queries
from fintrack.transactions.models import Transaction

# Texts of transactions that have no vector yet (new ones, or ones whose text changed), oldest first.
_MISSING = text("""
SELECT t.id, p.name, t.description, t.memo, t.category_id
FROM transactions t LEFT JOIN payees p ON p.id = t.payee_id
WHERE t.book_id = :book_id AND t.id > :after
  AND NOT EXISTS (SELECT 1 FROM transaction_embeddings e WHERE e.transaction_id = t.id)
ORDER BY t.id
LIMIT :limit
""")
_TEXTS = text("""
SELECT t.id, p.name, t.description, t.memo, t.category_id
FROM transactions t LEFT JOIN payees p ON p.id = t.payee_id
WHERE t.book_id = :book_id AND t.id = ANY(:ids)
""")
_STAGE = text("""
CREATE TEMP TABLE IF NOT EXISTS embedding_stage (
    transaction_id bigint, book_id bigint, category_id bigint, norm text, embedding vector(256)
) ON COMMIT DELETE ROWS
""")
# COPY into a staging table, then one INSERT: a user's correction may have stored a row's vector meanwhile.
_FROM_STAGE = text("""
INSERT INTO transaction_embeddings (transaction_id, book_id, category_id, norm, embedding)
SELECT s.transaction_id, s.book_id, t.category_id, s.norm, s.embedding
FROM embedding_stage s JOIN transactions t ON t.id = s.transaction_id
ON CONFLICT (transaction_id) DO UPDATE SET norm = excluded.norm, embedding = excluded.embedding,
    category_id = excluded.category_id
""")
_EXACT = text("""
SELECT norm, category_id, count(*) FROM transaction_embeddings
WHERE book_id = :book_id AND category_id IS NOT NULL AND norm = ANY(:norms)
GROUP BY norm, category_id
""")
_ANY_LEARNED = text("""
SELECT EXISTS (SELECT 1 FROM transaction_embeddings WHERE book_id = :book_id AND category_id IS NOT NULL)
""")
# One statement for a batch of queries: each gets its k nearest categorized neighbours from the HNSW index.
# relaxed_order lets the index keep scanning when another book's rows fill the first candidates.
_NEAREST = text("""
SELECT q.i, n.category_id, n.similarity
FROM unnest(CAST(:vectors AS text[])) WITH ORDINALITY AS q(v, i)
CROSS JOIN LATERAL (
    SELECT e.category_id, -(e.embedding <#> CAST(q.v AS vector)) AS similarity
    FROM transaction_embeddings e
    WHERE e.book_id = :book_id AND e.category_id IS NOT NULL
    ORDER BY e.embedding <#> CAST(q.v AS vector)
    LIMIT :k
) n
""")
_BY_VECTOR = text("""
SELECT transaction_id, -(embedding <#> CAST(:vector AS vector)) FROM transaction_embeddings
WHERE book_id = :book_id
ORDER BY embedding <#> CAST(:vector AS vector)
LIMIT :depth
""")


def vector_text(vector: Sequence[float]) -> str:
    # pgvector's text form; 7 significant digits is all a float4 column keeps.
    return "[" + ",".join(f"{v:.7g}" for v in vector) + "]"


async def texts_missing_vectors(
    session: AsyncSession, book_id: int, after: int, limit: int
) -> list[tuple[int, str | None, str, str | None, int | None]]:
    rows = await session.execute(_MISSING, {"book_id": book_id, "after": after, "limit": limit})
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def texts_of(
    session: AsyncSession, book_id: int, ids: list[int]
) -> list[tuple[int, str | None, str, str | None, int | None]]:
    rows = await session.execute(_TEXTS, {"book_id": book_id, "ids": ids})
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def store_vectors(session: AsyncSession, rows: Iterable[tuple[int, int, str, str]]) -> None:
    """Store (transaction_id, book_id, norm, vector text) rows; the category is read from the transaction."""
    await session.execute(_STAGE)
    await copy_rows(
        session,
        "embedding_stage",
        ("transaction_id", "book_id", "norm", "embedding"),
        rows,
    )
    await session.execute(_FROM_STAGE)
    await session.execute(text("TRUNCATE embedding_stage"))


async def has_learned(session: AsyncSession, book_id: int) -> bool:
    return bool(await session.scalar(_ANY_LEARNED, {"book_id": book_id}))


async def exact_votes(session: AsyncSession, book_id: int, norms: list[str]) -> dict[str, list[tuple[int, int]]]:
    """For each normalized text, how many categorized transactions with exactly that text each category has."""
    out: dict[str, list[tuple[int, int]]] = {}
    if norms:
        for norm, category_id, count in await session.execute(_EXACT, {"book_id": book_id, "norms": norms}):
            out.setdefault(norm, []).append((category_id, count))
    return out


_TUNE = text(
    "SELECT set_config('hnsw.ef_search', :ef, true), set_config('hnsw.iterative_scan', 'relaxed_order', true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true)"
)


async def _tune_index_scan(session: AsyncSession, ef_search: int) -> None:
    # psycopg prepares a statement after a few runs, and PostgreSQL then tries a generic plan, which does not
    # know LIMIT k is small: it sorted the whole book (300 ms) instead of walking the HNSW index (0.2 ms).
    await session.execute(_TUNE, {"ef": str(ef_search)})


async def nearest(session: AsyncSession, book_id: int, vectors: list[str], k: int) -> list[list[tuple[int, float]]]:
    """The k nearest categorized neighbours (category_id, similarity) of each vector, in the same order."""
    out: list[list[tuple[int, float]]] = [[] for _ in vectors]
    if not vectors:
        return out
    await _tune_index_scan(session, max(40, 4 * k))
    rows = await session.execute(_NEAREST, {"vectors": vectors, "book_id": book_id, "k": k})
    for i, category_id, similarity in rows:
        out[i - 1].append((category_id, float(similarity)))
    return out


async def nearest_transactions(session: AsyncSession, book_id: int, vector: str, depth: int) -> list[tuple[int, float]]:
    """The book's transactions whose text vectors are closest to this one: (id, similarity), closest first."""
    await _tune_index_scan(session, max(40, depth))
    rows = await session.execute(_BY_VECTOR, {"book_id": book_id, "vector": vector, "depth": depth})
    return [(r[0], float(r[1])) for r in rows]


async def containing(session: AsyncSession, book_id: int, words: list[str], depth: int) -> list[int]:
    """The newest transactions with every word in their description, memo or payee: the transaction list's own
    search condition, ordered by date."""
    payees = await transaction_queries.payees_matching(session, book_id, words)
    query = (
        select(Transaction.id)
        .where(Transaction.book_id == book_id, transaction_queries.search_condition(Transaction, words, payees))
        .order_by(Transaction.date.desc(), Transaction.id.desc())
    )
    return list(await session.scalars(query.limit(depth)))
