"""Any JSON document is either a valid rule or refused with invalid_rule; the index never changes an answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fintrack.rules import engine
from fintrack.rules.engine import Subject, compile_rules
from fintrack.rules.errors import InvalidRule
from fintrack.rules.text import fold, required_word

FIELDS = ["payee", "description", "memo", "text", "amount", "direction", "account", "date", "day_of_month", "x"]
KEYS = [
    "field",
    "op",
    "value",
    "min",
    "max",
    "ids",
    "start",
    "end",
    "category_id",
    "tag_ids",
    "payee",
    "splits",
    "percent",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=5),
    max_leaves=20,
)
# Mostly well-formed pieces, so the checks past the shape (patterns, ranges, shares) are reached too.
text_values = st.sampled_from(["Pão", "  ", "\u0301", "a{99}{99}", "[", r"\d+", "uber", "x" * 300])
condition = st.fixed_dictionaries(
    {"field": st.sampled_from(FIELDS)},
    optional={
        "op": st.sampled_from(["contains", "equals", "starts_with", "regex", "like"]),
        "value": text_values | st.sampled_from(["debit", "credit"]) | json_values,
        "min": st.sampled_from(["-10.00", "5", "1e3", "abc"]) | json_values,
        "max": st.sampled_from(["-20.00", "0", "99999999999999999"]),
        "ids": st.lists(st.integers(min_value=-1, max_value=2**64), max_size=3),
        "start": st.sampled_from(["2026-01-01", 1, 31, 0, "2026-13-01"]),
        "end": st.sampled_from(["2025-01-01", 5, 32]),
    },
)
split = st.fixed_dictionaries(
    {"category_id": st.integers(min_value=0, max_value=5)},
    optional={"percent": st.sampled_from(["50", "50.0", "0", "100", "33.3333", "150", "-1"])},
)
actions = st.fixed_dictionaries(
    {},
    optional={
        "category_id": st.integers(min_value=-1, max_value=3) | json_values,
        "tag_ids": st.lists(st.integers(min_value=1, max_value=3), max_size=3) | json_values,
        "payee": st.text(max_size=5) | json_values,
        "splits": st.lists(split, max_size=4) | json_values,
    },
)
documents = st.fixed_dictionaries(
    {"conditions": st.lists(condition, max_size=4) | json_values, "actions": actions | json_values},
    optional={"match": st.sampled_from(["all", "any", "some"])},
)


def _accepts_or_refuses_clearly(document: Any) -> None:
    try:
        draft = engine.parse(document)
        rule = engine.compile_rule(1, "r", draft)
    except InvalidRule as exc:
        assert exc.status == 422 and exc.code == "invalid_rule"
        assert isinstance(exc.details["field"], str) and exc.message.startswith(exc.details["field"])
        return
    stored = engine.to_stored(draft)
    assert engine.compile_rule(1, "r", engine.from_stored(*stored)).key == rule.key, "storing loses nothing"


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_is_a_rule_or_invalid_rule(document):
    _accepts_or_refuses_clearly(document)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_nearly_valid_documents_are_a_rule_or_invalid_rule(document):
    _accepts_or_refuses_clearly(document)


# The word index only narrows which rules are tried: the answer is the one trying every rule in order gives.

pieces = st.sampled_from(
    [
        "a",
        "b",
        "ab",
        "ba",
        "c",
        "1",
        "\\d",
        "\\w",
        ".",
        "?",
        "*",
        "+",
        "{2}",
        "(",
        ")",
        "[ab]",
        "[^a]",
        "|",
        "^",
        "$",
        "\\.",
        " ",
        "\\b",
    ]
)
words = st.text(alphabet="abc1 .Ãá", max_size=12)


@settings(max_examples=500)
@given(st.lists(pieces, min_size=1, max_size=8).map("".join), st.lists(words, min_size=1, max_size=5))
def test_a_patterns_required_word_is_in_every_text_it_matches(pattern, texts):
    try:
        compiled = regex.compile(pattern, regex.IGNORECASE)
    except regex.error:
        return
    required = required_word(pattern)
    for text in texts:
        folded = fold(text)
        if compiled.search(folded):
            assert required in folded


literals = st.sampled_from(["ab", "abc", "b c", "ca", "a", "1", "ã", "c 1", "ba"])
rule_conditions = st.lists(
    st.one_of(
        st.builds(
            lambda f, op, v: {"field": f, "op": op, "value": v},
            st.sampled_from(["payee", "description", "memo", "text"]),
            st.sampled_from(["contains", "equals", "starts_with"]),
            literals,
        ),
        st.builds(
            lambda f, v: {"field": f, "op": "regex", "value": v},
            st.sampled_from(["description", "text"]),
            st.sampled_from(["ab+", "^a", "b[ac]", "c\\d", "(ab)?c"]),
        ),
        st.sampled_from(
            [
                {"field": "direction", "value": "debit"},
                {"field": "direction", "value": "credit"},
                {"field": "amount", "max": "-5"},
                {"field": "amount", "min": "1"},
                {"field": "account", "ids": [1]},
            ]
        ),
    ),
    min_size=1,
    max_size=3,
)
subjects = st.builds(
    lambda d, p, m, a, acc: Subject(acc, dt.date(2026, 1, 1), Decimal(a), "BRL", d, p, m),
    st.text(alphabet="abc1 Ã", max_size=10),
    st.none() | st.text(alphabet="abc1 ", max_size=6),
    st.none() | st.text(alphabet="abc ", max_size=6),
    st.sampled_from(["-10", "0", "3"]),
    st.sampled_from([1, 2]),
)


@settings(max_examples=300)
@given(
    st.lists(st.tuples(rule_conditions, st.sampled_from(["all", "any"])), min_size=1, max_size=8),
    st.lists(subjects, min_size=1, max_size=20),
)
def test_the_index_gives_the_same_answer_as_trying_every_rule(rules, many):
    rows = []
    for n, (conditions, match) in enumerate(rules):
        draft = engine.parse({"match": match, "conditions": conditions, "actions": {"category_id": n + 1}})
        stored = engine.to_stored(draft)
        rows.append(
            SimpleNamespace(id=n + 1, name="r", position=0, enabled=True, conditions=stored[0], actions=stored[1])
        )
    rule_set = compile_rules(rows)
    for s in many:
        expected = next((r.rule_id for r in rule_set.rules if r.matches(s)), None)
        found = rule_set.first_match(s)
        assert (found.rule_id if found else None) == expected


@given(
    st.integers(min_value=-(10**13), max_value=10**13),
    st.lists(st.integers(min_value=1, max_value=10**6), min_size=2, max_size=10),
    st.sampled_from(["BRL", "JPY", "BHD"]),
)
def test_split_parts_always_add_up_and_keep_the_sign(units, weights, currency):
    places = {"BRL": 2, "JPY": 0, "BHD": 3}[currency]
    amount = Decimal(units).scaleb(-places)
    total = sum(weights)
    percents = [(Decimal(w) * 100 / total).quantize(Decimal("0.0001")) for w in weights[:-1]]
    percents.append(100 - sum(percents))
    if percents[-1] <= 0:
        return
    parts = engine.allocate(amount, currency, percents)
    assert sum(parts) == amount
    assert all(p.as_tuple().exponent == -places for p in parts)
    assert all(p == 0 or (p < 0) == (amount < 0) for p in parts)
