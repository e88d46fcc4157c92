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


class RowNotFound(NotFound):
    """No such row in this import session."""

    code = "import_row_not_found"


class AlreadyCommitted(Conflict):
    """Decisions are taken before commit; this session is already committed or reverted."""

    code = "import_decided"


class CannotImportError(InvalidInput):
    """A row the file could not be read from cannot be imported: fix the file or enter it by hand."""

    code = "row_unreadable"


class InvalidMapping(InvalidInput):
    """The column mapping cannot read this file."""

    code = "invalid_mapping"


class NotCsv(InvalidInput):
    """Only a CSV import has a column mapping."""

    code = "not_csv"


class ProfileNotFound(NotFound):
    """No such saved CSV profile in this book."""

    code = "import_profile_not_found"


class NotPreviewed(Conflict):
    """The session is not ready to commit: its preview is still being prepared, or it failed."""

    code = "import_not_ready"
