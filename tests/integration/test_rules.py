"""Categorization rules: the ordered list per book, dry runs and applies over history, and suggestions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fintrack.rules import engine, service
from fintrack.rules.engine import Subject
from fintrack.rules.models import Rule

API = "/api/v1"


async def _stored_rule(session, book_id: int, position: int, conditions, actions, **kw) -> Rule:
    stored = engine.to_stored(engine.parse({"conditions": conditions, "actions": actions}))
    rule = Rule(
        book_id=book_id,
        name=kw.pop("name", f"r{position}"),
        position=position,
        conditions=stored[0],
        actions=stored[1],
        **kw,
    )
    session.add(rule)
    await session.flush()
    return rule


async def test_load_gives_the_enabled_rules_in_order_and_record_hits_counts_them(db, alice, bob):
    async with db.sessionmaker() as session, session.begin():
        food = (await alice.post(f"{API}/categories", json={"name": "Comida"})).json()["id"]
        second = await _stored_rule(
            session, alice.book_id, 1, [{"field": "text", "value": "padaria"}], {"category_id": food}
        )
        first = await _stored_rule(
            session, alice.book_id, 0, [{"field": "text", "value": "pão"}], {"category_id": food}
        )
        await _stored_rule(
            session, alice.book_id, 2, [{"field": "text", "value": "x"}], {"category_id": food}, enabled=False
        )
        rules = await service.load(session, alice.book_id)
        assert [r.rule_id for r in rules.rules] == [first.id, second.id]
        found = rules.first_match(
            Subject(1, dt.date(2026, 1, 1), Decimal("-5"), "BRL", "PADARIA PAO QUENTE", None, None)
        )
        assert found is not None and found.rule_id == first.id
        assert len(await service.load(session, bob.book_id)) == 0

        await service.record_hits(session, alice.book_id, {first.id: 3, second.id: 0})
        await service.record_hits(session, bob.book_id, {first.id: 100})  # not Bob's rule: nothing happens
        await session.refresh(first)
        await session.refresh(second)
        assert (first.hits, second.hits, second.last_hit_at) == (3, 0, None)
        assert first.last_hit_at is not None
