"""Errors of the recurring domain."""

from __future__ import annotations

from fintrack.errors import InvalidInput, NotFound


class SeriesNotFound(NotFound):
    """No such recurring series in this book."""

    code = "recurring_not_found"


class InvalidSeriesChange(InvalidInput):
    """The change to the recurring series is not valid: `details.field` names the part at fault."""

    code = "invalid_recurring"
