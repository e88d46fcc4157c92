"""The category each preview row proposes: the user's rules first, then the file's own category, then history."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.categorize import service as categorize
from fintrack.imports.dedupe import normalize as fold
from fintrack.ledger import service as ledger
from fintrack.ledger.models import Account
from fintrack.rules import service as rules
from fintrack.rules.engine import Subject

# Only rows that may be written get a proposal: a duplicate is written only on request, and then as it is.
PROPOSED_FOR = frozenset({"new", "possible_duplicate", "deleted"})
_PATH_SEPARATORS = re.compile(r"\s*(?::|/|>|»)\s*")


async def _category_names(session: AsyncSession, access: BookAccess) -> dict[str, int]:
    """Folded names an exported file may use for each category: "Lazer", "Lazer:Cinema", "lazer / cinema"."""
    found = await ledger.categories(session, access)
    by_id = {c.id: c for c in found}
    names: dict[str, int] = {}
    ambiguous: set[str] = set()
    for c in found:
        keys = [fold(c.name)]
        if c.parent_id is not None and c.parent_id in by_id:
            keys.append(f"{fold(by_id[c.parent_id].name)}:{fold(c.name)}")
        for key in keys:
            if key in names and names[key] != c.id:
                ambiguous.add(key)  # "Outros" under two parents: only the full path decides
            names.setdefault(key, c.id)
    return {k: v for k, v in names.items() if k not in ambiguous}


def _from_file(name: str | None, names: dict[str, int]) -> int | None:
    if not name:
        return None
    return names.get(_PATH_SEPARATORS.sub(":", fold(name)))


async def propose(session: AsyncSession, access: BookAccess, account: Account, rows: Sequence[dict[str, Any]]) -> None:
    """Set category_id, confidence, category_source, rule_id, apply_category (and a rule's tags, payee, split)."""
    wanted = [r for r in rows if r["status"] in PROPOSED_FOR]
    if not wanted:
        return
    ruleset = await rules.load(session, access.id)
    names = await _category_names(session, access) if any(r.get("source_category") for r in wanted) else {}
    learn_from: list[dict[str, Any]] = []
    for r in wanted:
        match = ruleset.first_match(
            Subject(
                account_id=account.id,
                date=r["date"],
                amount=r["amount"],
                currency=account.currency,
                description=r["description"],
                payee=r["payee"],
                memo=r["memo"],
            )
        )
        if match is not None:
            r.update(category_id=match.category_id, category_source="rule", rule_id=match.rule_id, confidence=1)
            r["apply_category"] = match.category_id is not None
            r["tag_ids"] = list(match.tag_ids) or None
            if match.payee:
                r["payee"] = match.payee
            if match.splits:
                r["splits"] = [{"category_id": c, "amount": f"{a:f}"} for c, a in match.splits]
            if match.category_id is not None or match.splits:
                continue
        category = _from_file(r.get("source_category"), names)
        if category is not None:
            r.update(category_id=category, category_source="file", confidence=1, apply_category=True)
            continue
        learn_from.append(r)
    suggestions = await categorize.suggest_many(
        session, access.id, [(r["payee"], r["description"], r["memo"]) for r in learn_from]
    )
    for r, s in zip(learn_from, suggestions, strict=True):
        if s is not None:
            r.update(
                category_id=s.category_id,
                category_source="similar",
                confidence=Decimal(str(s.confidence)),
                apply_category=s.applies,
            )
