"""SQL of the rules domain: the rules table, and the history scans of dry runs, applies and suggestions."""

from __future__ import annotations

from sqlalchemy import BigInteger, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.ledger.models import Category, Tag
from fintrack.rules.models import Rule


async def rules(session: AsyncSession, book_id: int, *, enabled_only: bool = False) -> list[Rule]:
    query = select(Rule).where(Rule.book_id == book_id)
    if enabled_only:
        query = query.where(Rule.enabled)
    return list(await session.scalars(query.order_by(Rule.position, Rule.id)))


async def category_ids(session: AsyncSession, book_id: int) -> set[int]:
    return set(await session.scalars(select(Category.id).where(Category.book_id == book_id)))


async def tag_ids(session: AsyncSession, book_id: int) -> set[int]:
    return set(await session.scalars(select(Tag.id).where(Tag.book_id == book_id)))


_ADD_HITS = text(
    "UPDATE rules SET hits = rules.hits + v.n, last_hit_at = now() "
    "FROM unnest(:ids, :ns) AS v(id, n) WHERE rules.id = v.id AND rules.book_id = :book_id"
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)), bindparam("ns", type_=ARRAY(BigInteger)))


async def add_hits(session: AsyncSession, book_id: int, counts: dict[int, int]) -> None:
    positive = {rule_id: n for rule_id, n in counts.items() if n > 0}
    if positive:
        ids = sorted(positive)
        await session.execute(_ADD_HITS, {"ids": ids, "ns": [positive[i] for i in ids], "book_id": book_id})
