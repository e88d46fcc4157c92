"""Rules worth writing: payees and descriptions the user already categorises the same way every time."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.categorize.embedding import normalize
from fintrack.rules import queries
from fintrack.rules.engine import Subject, compile_rule
from fintrack.rules.schemas import MAX_VALUE_LENGTH, RuleCreate, RuleDraft, SuggestionOut, Support
from fintrack.rules.service import load
from fintrack.rules.text import fold

WINDOW = dt.timedelta(days=730)
MAX_ROWS = 50_000
MIN_COUNT = 5
MIN_SHARE = 0.95
# normalize() marks how money moved (pix_out); those tokens are not in the statement's text.
_MARKERS = frozenset(
    {"pix_out", "pix_in", "transf_out", "transf_in", "transf", "pix", "salario", "boleto", "debito_aut"}
)


def _subject(row: Any) -> Subject:
    return Subject(row.account_id, row.date, row.amount, row.currency, row.description, row.payee, row.memo)


def _name(label: str, category: str) -> str:
    name = f"{label} → {category}"
    return name if len(name) <= 200 else name[:199] + "…"


async def suggestions(session: AsyncSession, access: BookAccess, limit: int) -> list[SuggestionOut]:
    """Groups of at least MIN_COUNT categorised transactions (same payee, or same normalised description) of
    which at least MIN_SHARE share one category, and that the book's enabled rules do not already match.

    Bounded: reads only the newest MAX_ROWS (50,000) categorised transactions of the last two years (WINDOW);
    split transactions and transfers have no single category and are left out. A payee group comes before a
    description group covering mostly the same transactions. The drafts match text as it is written, so a dry
    run before saving one shows what else it would catch.
    """
    since = dt.date.today() - WINDOW
    rows = await queries.categorized_recent(session, access.id, since, MAX_ROWS)
    if not rows:
        return []
    rules = await load(session, access.id)
    names = await queries.category_names(session, access.id)
    covered_by_rules = {row.id for row in rows if rules.first_match(_subject(row)) is not None} if len(rules) else set()

    by_payee: dict[str, list[Any]] = defaultdict(list)
    by_text: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        if row.payee:
            by_payee[fold(row.payee)].append(row)
        words = [w for w in normalize(row.description).split() if w not in _MARKERS]
        text = " ".join(words)
        if len(text) >= 3:
            by_text[text[:MAX_VALUE_LENGTH].strip()].append(row)

    found: list[tuple[int, SuggestionOut, set[int]]] = []
    for groups, field in ((by_payee, "payee"), (by_text, "description")):
        for key, group in groups.items():
            made = _suggest(field, key, group, covered_by_rules, names)
            if made is not None:
                found.append(made)
    # Payees first, then by support; a group mostly covered by one already kept adds nothing new.
    found.sort(key=lambda f: (f[1].rule.conditions[0].field != "payee", -f[0]))
    kept: list[SuggestionOut] = []
    taken: set[int] = set()
    for _, suggestion, ids in found:
        if len(ids & taken) * 2 > len(ids):
            continue
        taken |= ids
        kept.append(suggestion)
    kept.sort(key=lambda s: -s.support.count)
    return kept[:limit]


def _suggest(
    field: str, key: str, group: Sequence[Any], covered: set[int], names: dict[int, str]
) -> tuple[int, SuggestionOut, set[int]] | None:
    if len(group) < MIN_COUNT:
        return None
    ids = {row.id for row in group}
    if len(ids & covered) * 2 > len(ids):
        return None
    (category_id, n), *_ = Counter(row.category_id for row in group).most_common(1)
    share = n / len(group)
    if share < MIN_SHARE or category_id not in names:
        return None
    if field == "payee":
        label = group[0].payee
        condition = {"field": "payee", "op": "equals", "value": label}
    else:
        label = key
        condition = {"field": "description", "op": "contains", "value": key}
    draft = RuleDraft.model_validate({"conditions": [condition], "actions": {"category_id": category_id}})
    # The normalised text drops numbers and boilerplate; if the words are not together in the statements
    # themselves, the draft would not match its own group.
    rule = compile_rule(0, label, draft)
    if sum(1 for row in group if rule.matches(_subject(row))) < MIN_SHARE * len(group):
        return None
    examples = list(dict.fromkeys(row.description for row in group if row.description))[:3]
    rule_in = RuleCreate(
        name=_name(label, names[category_id]), conditions=draft.conditions, actions=draft.actions, match="all"
    )
    support = Support(count=len(group), share=round(share, 3), examples=examples)
    return len(group), SuggestionOut(rule=rule_in, category=names[category_id], support=support), ids
