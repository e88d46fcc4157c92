"""The rules engine: validated rules compiled once, then the first matching rule of each transaction. Pure.

Text is compared folded (fold(): case folded, accents removed, runs of spaces as one), so "Pão de Açúcar"
and "PAO  DE ACUCAR" are the same text. Rules run in (position, id) order, disabled ones are skipped, and the
first whose conditions hold wins.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from fintrack.errors import Term, mark
from fintrack.money import minor_units
from fintrack.rules.errors import InvalidRule
from fintrack.rules.schemas import (
    AccountCondition,
    AmountCondition,
    Condition,
    DateCondition,
    DayOfMonthCondition,
    DirectionCondition,
    RuleDraft,
    TextCondition,
)
from fintrack.rules.text import compile_pattern, fold

_CACHE_LIMIT = 100_000
_TAGS = frozenset({"payee", "description", "memo", "text", "amount", "direction", "account", "date", "day_of_month"})


@dataclass(frozen=True, slots=True)
class Subject:
    """What a rule can look at in one transaction (imported row or stored transaction)."""

    account_id: int
    date: dt.date
    amount: Decimal
    currency: str
    description: str
    payee: str | None
    memo: str | None


@dataclass(frozen=True, slots=True)
class Match:
    """The rule that matched and what it does; splits are (category_id, amount) pairs summing to the amount."""

    rule_id: int
    rule_name: str
    category_id: int | None
    tag_ids: tuple[int, ...]
    payee: str | None
    splits: tuple[tuple[int, Decimal], ...] = ()


class StoredRule(Protocol):
    """A row of the rules table, or anything shaped like one."""

    id: int
    name: str
    position: int
    enabled: bool
    conditions: Any
    actions: Any


# Documents ---------------------------------------------------------------------------------------------------

_DRAFT = TypeAdapter(RuleDraft)


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    parts = list(loc)
    # A discriminated union puts the tag in the location (conditions.0.description.value): leave it out.
    if len(parts) > 2 and parts[0] == "conditions" and isinstance(parts[1], int) and parts[2] in _TAGS:
        del parts[2]
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "rule"


def parse(document: object) -> RuleDraft:
    """A draft ({"match", "conditions", "actions"}) from JSON-like data, or InvalidRule naming the field."""
    try:
        return _DRAFT.validate_python(document)
    except ValidationError as exc:
        errors = [{"field": _path(e["loc"]), "message": e["msg"]} for e in exc.errors()[:20]]
        first = errors[0]
        raise InvalidRule(f"{first['field']}: {first['message']}", field=first["field"], errors=errors) from None


def to_stored(draft: RuleDraft) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two JSONB columns: conditions {"match", "items"} and actions, without empty members."""
    items = [c.model_dump(mode="json", exclude_none=True) for c in draft.conditions]
    actions = draft.actions.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    return {"match": draft.match, "items": items}, actions


def from_stored(conditions: Any, actions: Any) -> RuleDraft:
    items = conditions.get("items") if isinstance(conditions, dict) else conditions
    match = conditions.get("match", "all") if isinstance(conditions, dict) else "all"
    return parse({"match": match, "conditions": items, "actions": actions})


def references(draft: RuleDraft) -> list[tuple[str, str, int]]:
    """(field, kind, id) of every account, category and tag the draft names, for the caller to check."""
    found: list[tuple[str, str, int]] = []
    for n, condition in enumerate(draft.conditions):
        if isinstance(condition, AccountCondition):
            found += [(f"conditions[{n}].ids[{k}]", "account", i) for k, i in enumerate(condition.ids)]
    actions = draft.actions
    if actions.category_id is not None:
        found.append(("actions.category_id", "category", actions.category_id))
    found += [(f"actions.tag_ids[{k}]", "tag", i) for k, i in enumerate(actions.tag_ids)]
    for k, part in enumerate(actions.splits or []):
        found.append((f"actions.splits[{k}].category_id", "category", part.category_id))
    return found


# Conditions --------------------------------------------------------------------------------------------------


_TEXT_FIELDS = frozenset({"payee", "description", "memo"})


class _Context:
    """One subject, its text folded once for every rule that looks at it (only the fields some rule reads)."""

    __slots__ = ("account_id", "amount", "date", "description", "memo", "payee")

    def __init__(
        self, subject: Subject, folded: Callable[[str | None], str] = fold, fields: frozenset[str] = _TEXT_FIELDS
    ) -> None:
        self.account_id = subject.account_id
        self.date = subject.date
        self.amount = subject.amount
        self.payee = folded(subject.payee) if "payee" in fields else ""
        self.description = folded(subject.description) if "description" in fields else ""
        self.memo = folded(subject.memo) if "memo" in fields else ""


Predicate = Callable[[_Context], bool]
TextTest = Callable[[str], bool]


def _text_test(condition: TextCondition, where: str) -> tuple[TextTest, str | None]:
    """A test of one folded text, and the literal it needs in the text (a pattern's may be "")."""
    if condition.op == "regex":
        pattern = compile_pattern(condition.value, where)
        return pattern, pattern.required
    literal = fold(condition.value)
    if not literal:
        raise InvalidRule(
            mark("{field}: nothing is left to compare once accents and spaces are ignored"),
            values={"field": Term(where)},
            field=where,
        )
    if condition.op == "contains":
        return (lambda text: literal in text), literal
    if condition.op == "equals":
        return (lambda text: text == literal), literal
    return (lambda text: text.startswith(literal)), literal


def text_test(condition: TextCondition) -> tuple[TextTest, str]:
    """The condition's test of one folded text (a payee's name, say), and the folded text every match
    contains ("" when unknown): for the database to prefilter on."""
    test, needed = _text_test(condition, "value")
    return test, needed or ""


def _text_predicate(test: TextTest, field_name: str) -> Predicate:
    if field_name == "payee":
        return lambda c: test(c.payee)
    if field_name == "description":
        return lambda c: test(c.description)
    if field_name == "memo":
        return lambda c: test(c.memo)
    return lambda c: test(c.payee) or test(c.description) or test(c.memo)


def _amount(condition: AmountCondition, where: str) -> Predicate:
    low = Decimal(condition.min) if condition.min is not None else None
    high = Decimal(condition.max) if condition.max is not None else None
    if low is None and high is None:
        raise InvalidRule(mark("{field}: give min, max or both"), values={"field": Term(where)}, field=where)
    if low is not None and high is not None:
        if low > high:
            raise InvalidRule(
                mark("{field}: min ({low}) is above max ({high})"),
                values={"field": Term(f"{where}.min"), "low": low, "high": high},
                field=f"{where}.min",
            )
        return lambda c: low <= c.amount <= high
    if low is not None:
        return lambda c: c.amount >= low
    return lambda c: c.amount <= high  # type: ignore[operator]


def _date(condition: DateCondition, where: str) -> Predicate:
    start, end = condition.start, condition.end
    if start is None and end is None:
        raise InvalidRule(mark("{field}: give start, end or both"), values={"field": Term(where)}, field=where)
    if start is not None and end is not None and start > end:
        raise InvalidRule(
            mark("{field}: start ({start}) is after end ({end})"),
            values={"field": Term(f"{where}.start"), "start": start, "end": end},
            field=f"{where}.start",
        )
    return lambda c: (start is None or c.date >= start) and (end is None or c.date <= end)


def _day_of_month(condition: DayOfMonthCondition) -> Predicate:
    start, end = condition.start, condition.end
    if start <= end:
        return lambda c: start <= c.date.day <= end
    return lambda c: c.date.day >= start or c.date.day <= end


def _condition(condition: Condition, where: str) -> tuple[int, Predicate, str | None]:
    """(cost, predicate, the literal it needs in the text if any)."""
    if isinstance(condition, TextCondition):
        test, literal = _text_test(condition, f"{where}.value")
        return (5 if condition.op == "regex" else 4), _text_predicate(test, condition.field), literal
    if isinstance(condition, DirectionCondition):
        if condition.value == "debit":
            return 0, (lambda c: c.amount < 0), None
        return 0, (lambda c: c.amount > 0), None
    if isinstance(condition, AccountCondition):
        ids = frozenset(condition.ids)
        return 1, (lambda c: c.account_id in ids), None
    if isinstance(condition, AmountCondition):
        return 2, _amount(condition, where), None
    if isinstance(condition, DateCondition):
        return 3, _date(condition, where), None
    return 3, _day_of_month(condition), None


# Actions -----------------------------------------------------------------------------------------------------


def allocate(amount: Decimal, currency: str, percents: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Split amount by percentages in the currency's minor units; the last part takes the remainder.

    Every part but the last is rounded toward zero, so the last keeps the amount's sign and the parts add up
    to the amount exactly.
    """
    unit = Decimal(1).scaleb(-minor_units(currency))
    parts = [(amount * p / 100).quantize(unit, rounding=ROUND_DOWN) for p in percents[:-1]]
    last = amount - sum(parts, Decimal(0))
    parts.append(last.quantize(unit) if last == last.quantize(unit, rounding=ROUND_DOWN) else last)
    return tuple(p if p else abs(p) for p in parts)  # no "-0.00"


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule_id: int
    name: str
    test: Predicate
    template: Match
    split_categories: tuple[int, ...] = ()
    split_percents: tuple[Decimal, ...] = ()
    # The longest word of a literal the text must contain (all-mode rules only): the RuleSet's index key.
    key: str | None = None
    # The amounts it can match, as (lowest, highest), None for no bound: rules with no word are only tried on
    # transactions whose amount is in their range.
    bounds: tuple[Decimal | None, Decimal | None] = (None, None)
    fields: frozenset[str] = _TEXT_FIELDS

    def match_for(self, subject: Subject) -> Match:
        if not self.split_percents:
            return self.template
        amounts = allocate(subject.amount, subject.currency, self.split_percents)
        t = self.template
        splits = tuple(zip(self.split_categories, amounts, strict=True))
        return Match(t.rule_id, t.rule_name, t.category_id, t.tag_ids, t.payee, splits)

    def matches(self, subject: Subject) -> bool:
        return self.test(_Context(subject, fold, self.fields))


def _all(predicates: Sequence[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    first, rest = predicates[0], tuple(predicates[1:])

    def test(c: _Context) -> bool:
        if not first(c):
            return False
        for p in rest:
            if not p(c):
                return False
        return True

    return test


def _any(predicates: Sequence[Predicate]) -> Predicate:
    chosen = tuple(predicates)
    return lambda c: any(p(c) for p in chosen)


def compile_rule(rule_id: int, name: str, draft: RuleDraft) -> CompiledRule:
    """Check what the draft means (InvalidRule naming the field) and compile it."""
    compiled = sorted(
        (_condition(c, f"conditions[{n}]") for n, c in enumerate(draft.conditions)), key=lambda item: item[0]
    )
    predicates = [p for _, p, _ in compiled]
    actions = draft.actions
    if actions.category_id is None and not actions.tag_ids and actions.payee is None and not actions.splits:
        raise InvalidRule(mark("actions: give at least one of category_id, tag_ids, payee or splits"), field="actions")
    if actions.category_id is not None and actions.splits:
        raise InvalidRule(
            mark("actions.splits: a rule sets either a category or splits (whose parts carry the categories)"),
            field="actions.splits",
        )
    percents: list[Decimal] = []
    for n, part in enumerate(actions.splits or []):
        percent = Decimal(part.percent)
        if not 0 < percent <= 100:
            where = f"actions.splits[{n}].percent"
            raise InvalidRule(
                mark("{field}: a share is above 0 and at most 100"), values={"field": Term(where)}, field=where
            )
        percents.append(percent)
    if percents and sum(percents) != 100:
        raise InvalidRule(
            mark("actions.splits: the shares add up to {total} %, not 100 %"),
            values={"total": sum(percents)},
            field="actions.splits",
        )
    key: str | None = None
    bounds: tuple[Decimal | None, Decimal | None] = (None, None)
    if draft.match == "all":
        words = [w for _, _, literal in compiled if literal for w in literal.split()]
        longest = max(words, key=len, default="")
        key = longest if len(longest) >= 2 else None
        bounds = _bounds(draft.conditions)
    template = Match(rule_id, name, actions.category_id, tuple(dict.fromkeys(actions.tag_ids)), actions.payee)
    return CompiledRule(
        rule_id,
        name,
        _all(predicates) if draft.match == "all" else _any(predicates),
        template,
        tuple(p.category_id for p in actions.splits or []),
        tuple(percents),
        key,
        bounds,
        frozenset(
            f
            for c in draft.conditions
            if isinstance(c, TextCondition)
            for f in (_TEXT_FIELDS if c.field == "text" else (c.field,))
        ),
    )


def _bounds(conditions: Sequence[Condition]) -> tuple[Decimal | None, Decimal | None]:
    """The closed range of amounts every condition allows (all mode); a superset, the rule still decides."""
    low: Decimal | None = None
    high: Decimal | None = None
    for c in conditions:
        limits: tuple[Decimal | None, Decimal | None] = (None, None)
        if isinstance(c, DirectionCondition):
            limits = (None, Decimal(0)) if c.value == "debit" else (Decimal(0), None)
        elif isinstance(c, AmountCondition):
            limits = (Decimal(c.min) if c.min is not None else None, Decimal(c.max) if c.max is not None else None)
        if limits[0] is not None:
            low = limits[0] if low is None else max(low, limits[0])
        if limits[1] is not None:
            high = limits[1] if high is None else min(high, limits[1])
    return low, high


class _AmountIndex:
    """Rules without a word, by the amounts they allow: a transaction is tried against those whose range holds
    its amount. The bounds split the line into points and open stretches; each has its list of rules."""

    def __init__(self, rules: Sequence[CompiledRule], members: Sequence[int]) -> None:
        points = sorted({b for n in members for b in rules[n].bounds if b is not None})
        self.points = points
        probes: list[Decimal] = []
        for i, point in enumerate(points):
            probes.append(point - 1 if i == 0 else (points[i - 1] + point) / 2)
            probes.append(point)
        probes.append(points[-1] + 1 if points else Decimal(0))

        def holds(n: int, x: Decimal) -> bool:
            low, high = rules[n].bounds
            return (low is None or low <= x) and (high is None or x <= high)

        self.slots = []
        for x in probes:
            chosen = [n for n in members if holds(n, x)]
            self.slots.append((chosen, frozenset(chosen)))

    def __call__(self, amount: Decimal) -> tuple[list[int], frozenset[int]]:
        i = bisect_left(self.points, amount)
        return self.slots[2 * i + 1 if i < len(self.points) and self.points[i] == amount else 2 * i]


# The rule set ------------------------------------------------------------------------------------------------


@dataclass
class RuleSet:
    """Compiled rules in order, with an index from words to the rules that need them.

    Most rules need a word in the text ("uber", "padaria"). A transaction's words are looked up in a cache of
    which rules' words each contains (a rule's word lies inside one word of the text, since both are folded
    the same way), so a transaction is tested against the few rules it could match, not all of them.
    """

    rules: tuple[CompiledRule, ...] = ()
    skipped: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_key: dict[str, list[int]] = {}
        always = []
        for n, rule in enumerate(self.rules):
            if rule.key is not None:
                self._by_key.setdefault(rule.key, []).append(n)
            else:
                always.append(n)
        self._always = _AmountIndex(self.rules, always)
        self._by_pair: dict[str, list[str]] = {}
        for key in self._by_key:
            self._by_pair.setdefault(key[:2], []).append(key)
        self._words: dict[str, tuple[int, ...]] = {}
        self._folds: dict[str, str] = {}
        self._fields = frozenset(f for rule in self.rules for f in rule.fields)

    def __len__(self) -> int:
        return len(self.rules)

    def _rules_in(self, word: str) -> tuple[int, ...]:
        keys = {
            key
            for i in range(len(word) - 1)
            for key in self._by_pair.get(word[i : i + 2], ())
            if word.startswith(key, i)
        }
        return tuple(sorted({n for key in keys for n in self._by_key[key]}))

    def _order(self, c: _Context) -> Iterable[int]:
        always, always_set = self._always(c.amount)
        if not self._by_key:
            return always
        words = set(c.description.split())
        if c.payee:
            words.update(c.payee.split())
        if c.memo:
            words.update(c.memo.split())
        cache = self._words
        found: set[int] = set()
        for word in words:
            hit = cache.get(word)
            if hit is None:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                hit = cache[word] = self._rules_in(word)
            if hit:
                found.update(hit)
        if not found:
            return always
        return sorted(found.union(always_set)) if always else sorted(found)

    def _fold(self, text: str | None) -> str:
        # Statements repeat themselves (the same shop, the same card boilerplate in the memo).
        if not text:
            return ""
        folded = self._folds.get(text)
        if folded is None:
            if len(self._folds) >= _CACHE_LIMIT:
                self._folds.clear()
            folded = self._folds[text] = fold(text)
        return folded

    def first_match(self, subject: Subject) -> Match | None:
        c = _Context(subject, self._fold, self._fields)
        rules = self.rules
        for n in self._order(c):
            rule = rules[n]
            if rule.test(c):
                return rule.match_for(subject)
        return None


def compile_rules(
    rows: Iterable[StoredRule],
    *,
    categories: Iterable[int] | None = None,
    tags: Iterable[int] | None = None,
) -> RuleSet:
    """Enabled rules in (position, id) order. With the book's category and tag ids, a rule naming one that is
    gone (deleted since the rule was saved) is skipped rather than half applied; skipped says which and why."""
    known_categories = set(categories) if categories is not None else None
    known_tags = set(tags) if tags is not None else None
    compiled: list[CompiledRule] = []
    skipped: dict[int, str] = {}
    for row in sorted(rows, key=lambda r: (r.position, r.id)):
        if not row.enabled:
            continue
        try:
            draft = from_stored(row.conditions, row.actions)
            rule = compile_rule(row.id, row.name, draft)
        except InvalidRule as exc:
            skipped[row.id] = exc.message
            continue
        for where, kind, ident in references(draft):
            known = known_categories if kind == "category" else known_tags if kind == "tag" else None
            if known is not None and ident not in known:
                skipped[row.id] = f"{where}: {kind} {ident} no longer exists"
                break
        else:
            compiled.append(rule)
    return RuleSet(tuple(compiled), skipped)
