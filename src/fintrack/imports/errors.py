"""Errors of the imports domain."""

from __future__ import annotations

from fintrack.errors import Conflict, InvalidInput, NotFound


class ImportNotFound(NotFound):
    """No such import session in this book."""

    code = "import_not_found"


class SessionReverted(Conflict):
    """This import session was reverted; upload the file again to import it."""

    code = "import_reverted"


class NotCommitted(Conflict):
    """Only a committed import session can be reverted."""

    code = "import_not_committed"


class ChooseStatement(InvalidInput):
    """The file holds statements of several accounts: name one with statement_account."""

    code = "choose_statement"
