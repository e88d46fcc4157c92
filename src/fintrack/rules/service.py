"""Categorization rules of a book: the ordered list, its checks, and what the import flow needs from it."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.errors import Term, mark
from fintrack.rules import queries
from fintrack.rules.engine import CompiledRule, RuleSet, compile_rule, compile_rules, from_stored, references, to_stored
from fintrack.rules.errors import OrderMismatch, RuleNotFound, UnknownReference
from fintrack.rules.models import Rule
from fintrack.rules.schemas import RuleCreate, RuleDraft, RuleUpdate

# One sentence per kind, so a translation can agree with the word (conta and categoria are feminine).
_NO_SUCH = {
    "account": mark("{field}: there is no account {id} in this book"),
    "category": mark("{field}: there is no category {id} in this book"),
    "tag": mark("{field}: there is no tag {id} in this book"),
}

# For the import flow ------------------------------------------------------------------------------------------


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


# Checks -------------------------------------------------------------------------------------------------------


async def check(session: AsyncSession, book_id: int, draft: RuleDraft, name: str = "draft") -> CompiledRule:
    """Compile the draft (InvalidRule) and make sure every id it names is in the book (UnknownReference)."""
    compiled = compile_rule(0, name, draft)
    named = references(draft)
    kinds = {kind for _, kind, _ in named}
    known = {
        "account": await queries.account_ids(session, book_id) if "account" in kinds else set(),
        "category": await queries.category_ids(session, book_id) if "category" in kinds else set(),
        "tag": await queries.tag_ids(session, book_id) if "tag" in kinds else set(),
    }
    for field, kind, ident in named:
        if ident not in known[kind]:
            raise UnknownReference(_NO_SUCH[kind], values={"field": Term(field), "id": ident}, field=field, id=ident)
    return compiled


def draft_of(rule: Rule) -> RuleDraft:
    return from_stored(rule.conditions, rule.actions)


# The list -----------------------------------------------------------------------------------------------------


async def list_rules(session: AsyncSession, access: BookAccess) -> list[Rule]:
    return await queries.rules(session, access.id)


async def get_rule(session: AsyncSession, access: BookAccess, rule_id: int) -> Rule:
    found = await queries.rule(session, access.id, rule_id)
    if found is None:
        raise RuleNotFound(rule_id=rule_id)
    return found


async def create_rule(session: AsyncSession, access: BookAccess, body: RuleCreate) -> Rule:
    """Appended after the last rule, or placed at body.position (0 is first) with the rest moving down."""
    access.require_write()
    draft = RuleDraft(match=body.match, conditions=body.conditions, actions=body.actions)
    await check(session, access.id, draft, body.name)
    conditions, actions = to_stored(draft)
    await queries.lock_order(session, access.id)
    order = await queries.ordered_ids(session, access.id)
    rule = Rule(
        book_id=access.id,
        name=body.name,
        position=len(order),
        enabled=body.enabled,
        conditions=conditions,
        actions=actions,
    )
    session.add(rule)
    await session.flush()
    if body.position is not None and body.position < len(order):
        order.insert(body.position, rule.id)
        await queries.place(session, access.id, order)
    await session.refresh(rule)
    return rule


async def update_rule(session: AsyncSession, access: BookAccess, rule_id: int, body: RuleUpdate) -> Rule:
    """Change what was sent; conditions, match and actions are checked together, as the rule they make."""
    access.require_write()
    rule = await get_rule(session, access, rule_id)
    if body.match is not None or body.conditions is not None or body.actions is not None:
        current = draft_of(rule)
        draft = RuleDraft(
            match=body.match or current.match,
            conditions=body.conditions or current.conditions,
            actions=body.actions or current.actions,
        )
        await check(session, access.id, draft, body.name or rule.name)
        rule.conditions, rule.actions = to_stored(draft)
    if body.name is not None:
        rule.name = body.name
    if body.enabled is not None:
        rule.enabled = body.enabled
    rule.updated_at = dt.datetime.now(dt.UTC)
    await session.flush()
    if body.position is not None:
        await queries.lock_order(session, access.id)
        order = [i for i in await queries.ordered_ids(session, access.id) if i != rule.id]
        order.insert(min(body.position, len(order)), rule.id)
        await queries.place(session, access.id, order)
    await session.refresh(rule)
    return rule


async def delete_rule(session: AsyncSession, access: BookAccess, rule_id: int) -> None:
    access.require_write()
    rule = await get_rule(session, access, rule_id)
    await queries.lock_order(session, access.id)
    await session.delete(rule)
    await session.flush()
    await queries.place(session, access.id, await queries.ordered_ids(session, access.id))


async def reorder(session: AsyncSession, access: BookAccess, ids: list[int]) -> list[Rule]:
    """Positions follow `ids`, which must be every rule of the book exactly once."""
    access.require_write()
    await queries.lock_order(session, access.id)
    current = set(await queries.ordered_ids(session, access.id))
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    missing, unknown = sorted(current - set(ids)), sorted(set(ids) - current)
    if missing or unknown or duplicates:
        raise OrderMismatch(missing=missing, unknown=unknown, duplicates=duplicates)
    await queries.place(session, access.id, ids)
    return await queries.rules(session, access.id)
