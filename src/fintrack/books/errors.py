"""Errors of the books domain."""

from __future__ import annotations

from fintrack.errors import Conflict, Forbidden, NotFound


class BookNotFound(NotFound):
    """No such book among yours."""

    code = "book_not_found"


class ReadOnlyRole(Forbidden):
    """Your role in this book is viewer: you may read but not change it."""

    code = "read_only"


class OwnerRequired(Forbidden):
    """Only an owner of the book may do this."""

    code = "owner_required"


class LastOwner(Conflict):
    """A book must keep at least one owner."""

    code = "last_owner"


class UnknownUser(NotFound):
    """No user with this email."""

    code = "unknown_user"
