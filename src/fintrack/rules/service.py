"""Categorization rules of a book: the ordered list, and what the import flow needs from it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.rules import queries
from fintrack.rules.engine import RuleSet, compile_rules


async def load(session: AsyncSession, book_id: int) -> RuleSet:
    """The book's enabled rules, compiled in order; a rule naming a deleted category or tag is skipped."""
    rows = await queries.rules(session, book_id, enabled_only=True)
    if not rows:
        return RuleSet()
    return compile_rules(
        rows, categories=await queries.category_ids(session, book_id), tags=await queries.tag_ids(session, book_id)
    )


async def record_hits(session: AsyncSession, book_id: int, counts: dict[int, int]) -> None:
    """Add counts[rule_id] to each rule's hits and set its last_hit_at (zero counts change nothing)."""
    await queries.add_hits(session, book_id, counts)
    await session.flush()
