"""Errors of the ledger domain."""

from __future__ import annotations

from fintrack.errors import Conflict, InvalidInput, NotFound


class AccountNotFound(NotFound):
    """No such account in this book."""

    code = "account_not_found"


class CategoryNotFound(NotFound):
    """No such category in this book."""

    code = "category_not_found"


class PayeeNotFound(NotFound):
    """No such payee in this book."""

    code = "payee_not_found"


class TagNotFound(NotFound):
    """No such tag in this book."""

    code = "tag_not_found"


class DuplicateName(Conflict):
    """Another item in this book already has this name."""

    code = "duplicate_name"


class InvalidCategoryParent(InvalidInput):
    """Categories have two levels: a parent must be a top-level category of the same kind."""

    code = "invalid_category_parent"


class InvalidMoney(InvalidInput):
    """An amount or currency is not valid."""

    code = "invalid_money"


class InUse(Conflict):
    """This item is still used by transactions."""

    code = "in_use"
