"""Errors of the rules domain."""

from __future__ import annotations

from fintrack.errors import InvalidInput, NotFound


class RuleNotFound(NotFound):
    """No such rule in this book."""

    code = "rule_not_found"


class InvalidRule(InvalidInput):
    """The rule is not valid: `details.field` names the part at fault."""

    code = "invalid_rule"


class UnknownReference(InvalidInput):
    """The rule names a category, tag or account that is not in this book."""

    code = "unknown_reference"


class OrderMismatch(InvalidInput):
    """The new order must list every rule of the book exactly once, and nothing else."""

    code = "rule_order_mismatch"
