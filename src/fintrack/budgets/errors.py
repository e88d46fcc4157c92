"""Errors of the budgets domain; `details.field` names the part of the request at fault."""

from __future__ import annotations

from fintrack.errors import Conflict, InvalidInput, NotFound


class BudgetNotFound(NotFound):
    """No such budget in this book."""

    code = "budget_not_found"


class InvalidBudget(InvalidInput):
    """The budget is not valid: `details.field` names the field at fault."""

    code = "invalid_budget"


class UnknownCategory(InvalidInput):
    """There is no such category in this book."""

    code = "unknown_category"


class DuplicateBudget(Conflict):
    """This category already has a budget in this book: change that one instead."""

    code = "duplicate_budget"
