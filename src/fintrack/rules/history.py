"""A rule over the book's history: a dry run says what it would change, apply changes it.

Both read the book through one server-side cursor in batches of BATCH rows, so memory stays bounded whatever
the size of the book. The database keeps only the rows the rule could match (account, date, amount, direction,
the payees whose names match, and a trigram prefilter on search_text for literal text and the word a pattern
needs); the engine then decides exactly.
Transfer legs are left alone: they move money between accounts and have no category.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.ledger import service as ledger
from fintrack.ledger.models import Payee
from fintrack.money import format_amount
from fintrack.rules import queries
from fintrack.rules.engine import CompiledRule, Match, Subject, text_test
from fintrack.rules.schemas import ApplyOut, Change, DryRunOut, RuleDraft, SplitAmount, TextCondition
from fintrack.rules.service import check, draft_of, get_rule
from fintrack.rules.text import fold

BATCH = 2000


class _Book:
    """The book's payees, read once: the names for the engine, the ids for the prefilter."""

    def __init__(self, payees: list[tuple[int, str]]) -> None:
        self.names = dict(payees)
        self.folded = [(i, fold(name)) for i, name in payees]


async def _where(
    session: AsyncSession, book_id: int, draft: RuleDraft, only_uncategorized: bool
) -> tuple[list[Any], _Book]:
    book = _Book(await queries.payees(session, book_id))
    clauses: list[ColumnElement[bool] | None] = []
    for condition in draft.conditions:
        payee_ids, needed = None, ""
        if isinstance(condition, TextCondition):
            test, needed = text_test(condition)
            if condition.field in ("payee", "text"):
                payee_ids = [i for i, name in book.folded if test(name)]
        clauses.append(queries.condition_clause(condition, payee_ids, needed))
    where = queries.prefilter(clauses, draft.match)
    return ([*where, queries.uncategorized()] if only_uncategorized else where), book


@dataclass
class _Outcome:
    """What the rule would do to one transaction it matches."""

    category: bool
    split: bool
    payee: bool
    tags: list[int] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return self.category or self.split or self.payee or bool(self.tags)


def _outcome(row: Any, payee: str | None, match: Match, tags: frozenset[int], has_splits: bool) -> _Outcome:
    # A split transaction's categories live in its parts: a rule does not overwrite them.
    return _Outcome(
        category=match.category_id is not None and not has_splits and row.category_id != match.category_id,
        split=bool(match.splits) and not has_splits,
        payee=match.payee is not None and (payee or "").lower() != match.payee.lower(),
        tags=[t for t in match.tag_ids if t not in tags],
    )


Found = tuple[Any, Subject, Match, _Outcome]


async def _matches(
    session: AsyncSession,
    book_id: int,
    rule: CompiledRule,
    where: list[Any],
    book: _Book,
    *,
    uncategorized_only: bool,
    lock: bool = False,
) -> AsyncIterator[tuple[int, list[Found]]]:
    """Per batch: how many rows were read, and the matched ones with what the rule would do to each."""
    names = book.names
    async for rows in queries.history(session, book_id, where, BATCH):
        matched = []
        for row in rows:
            payee = names.get(row.payee_id) if row.payee_id is not None else None
            subject = Subject(row.account_id, row.date, row.amount, row.currency, row.description, payee, row.memo)
            if rule.matches(subject):
                matched.append((row, subject, rule.match_for(subject)))
        ids = [row.id for row, _, _ in matched]
        if lock:
            await queries.lock(session, ids)
        state = await queries.state_of(session, ids, tags=bool(rule.template.tag_ids), splits=not uncategorized_only)
        yield len(rows), [(row, s, m, _outcome(row, s.payee, m, *state[row.id])) for row, s, m in matched]


async def dry_run(
    session: AsyncSession, access: BookAccess, draft: RuleDraft, *, only_uncategorized: bool, limit: int
) -> DryRunOut:
    """What the draft would match and change over the book's history; nothing is written."""
    rule = await check(session, access.id, draft)
    names = await queries.category_names(session, access.id)
    scanned = matched = would_change = 0
    # The newest `limit` changes, kept in a heap as the history streams by in no particular order.
    newest: list[tuple[dt.date, int, Found]] = []
    where, book = await _where(session, access.id, draft, only_uncategorized)
    async for read, found in _matches(session, access.id, rule, where, book, uncategorized_only=only_uncategorized):
        scanned += read
        matched += len(found)
        for item in found:
            if not item[3].changes:
                continue
            would_change += 1
            key = (item[0].date, item[0].id, item)
            if len(newest) < limit:
                heapq.heappush(newest, key)
            elif limit and key[:2] > newest[0][:2]:
                heapq.heapreplace(newest, key)
    sample = [
        _change(row, subject.payee, match, outcome, names)
        for _, _, (row, subject, match, outcome) in sorted(newest, key=lambda k: k[:2], reverse=True)
    ]
    return DryRunOut(scanned=scanned, matched=matched, would_change=would_change, sample=sample)


def _change(row: Any, payee: str | None, match: Match, outcome: _Outcome, names: dict[int, str]) -> Change:
    new_category = match.category_id if outcome.category else (None if outcome.split else row.category_id)
    return Change(
        transaction_id=row.id,
        date=row.date,
        account_id=row.account_id,
        description=row.description,
        payee=payee,
        amount=format_amount(row.amount, row.currency),
        currency=row.currency,
        category_id=row.category_id,
        category=names.get(row.category_id) if row.category_id else None,
        new_category_id=new_category,
        new_category=names.get(new_category) if new_category else None,
        new_payee=match.payee if outcome.payee else payee,
        tags_added=outcome.tags,
        splits=[
            SplitAmount(category_id=c, amount=format_amount(a, row.currency)) for c, a in match.splits if outcome.split
        ],
    )


async def apply(session: AsyncSession, access: BookAccess, rule_id: int, *, only_uncategorized: bool) -> ApplyOut:
    """Apply a saved rule to the book's history; the transactions it changes count as its hits."""
    access.require_write()
    saved = await get_rule(session, access, rule_id)
    draft = draft_of(saved)
    rule = await check(session, access.id, draft, saved.name)
    out = ApplyOut(rule_id=saved.id, scanned=0, matched=0, changed=0, categorized=0, split=0, payee_set=0, tagged=0)
    payee_id: int | None = None
    where, book = await _where(session, access.id, draft, only_uncategorized)
    async for read, found in _matches(
        session, access.id, rule, where, book, uncategorized_only=only_uncategorized, lock=True
    ):
        out.scanned += read
        out.matched += len(found)
        changed = [(row, match, outcome) for row, _, match, outcome in found if outcome.changes]
        if not changed:
            continue
        if payee_id is None and draft.actions.payee is not None and any(o.payee for _, _, o in changed):
            names = await ledger.ids_for_names(session, access.id, Payee, {draft.actions.payee})
            payee_id = names[draft.actions.payee.lower()]
        await queries.write_batch(
            session,
            access.id,
            changed=[row.id for row, _, _ in changed],
            categorize=[row.id for row, _, o in changed if o.category],
            category_id=draft.actions.category_id,
            split=[row.id for row, _, o in changed if o.split],
            repayee=[row.id for row, _, o in changed if o.payee],
            payee_id=payee_id,
        )
        await queries.add_splits(
            session, [(row.id, c, a) for row, match, o in changed if o.split for c, a in match.splits]
        )
        await queries.add_tags(session, [(row.id, t) for row, _, o in changed for t in o.tags])
        out.changed += len(changed)
        out.categorized += sum(1 for _, _, o in changed if o.category)
        out.split += sum(1 for _, _, o in changed if o.split)
        out.payee_set += sum(1 for _, _, o in changed if o.payee)
        out.tagged += sum(1 for _, _, o in changed if o.tags)
    await queries.add_hits(session, access.id, {saved.id: out.changed})
    await session.flush()
    await session.refresh(saved)
    return out
