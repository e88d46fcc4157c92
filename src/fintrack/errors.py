"""Domain errors, and the single place that turns every error into the JSON error shape."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar


def mark(template: str) -> str:
    """A message for people, kept in English here and translated where it is shown (the web UI's catalogues:
    `make messages` extracts every `mark(...)` and every error class's docstring)."""
    return template


class Term(str):
    """A value of a message that is itself a word to translate (a field's name), not data (an amount)."""

    __slots__ = ()


class Said:
    """A message made from an English `str.format` template and its values, so a page can translate the
    template and fill it in again. Shared by domain errors and the plain errors they wrap (`MoneyError`)."""

    template: str
    values: dict[str, Any]
    message: str

    def _say(self, template: str, values: Mapping[str, Any] | None) -> str:
        self.template = template
        self.values = dict(values or {})
        self.message = template.format(**self.values) if self.values else template
        return self.message

    def translated(self, gettext: Callable[[str], str]) -> str:
        """The message in the reader's language; the English one when the catalogue has no (usable) translation."""
        said = gettext(self.template)
        if not self.values:
            return said
        # A value may itself be a message (a wrapped MoneyError's), translated in turn.
        values = {
            k: gettext(v) if isinstance(v, Term) else v.translated(gettext) if isinstance(v, Said) else v
            for k, v in self.values.items()
        }
        try:
            return said.format(**values)
        except (KeyError, IndexError, ValueError):
            return self.message


class DomainError(Said, Exception):
    """Something the caller asked for cannot be done."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    # Most failures undo the request's writes; a few (a failed login attempt) must be kept.
    keep_writes: ClassVar[bool] = False

    def __init__(self, message: str | None = None, *, values: Mapping[str, Any] | None = None, **details: Any) -> None:
        """`message` is English; with `values` it is a `str.format` template (`mark("{field}: ...")`) filled in
        here for the API and again after translation for a page, so the translator sees the template, not one
        filled-in sentence per value."""
        self.details = details
        super().__init__(self._say(message or (self.__doc__ or self.code).strip(), values))


class InvalidInput(DomainError):
    """The request is not valid."""

    status = 422
    code = "invalid"


class NotFound(DomainError):
    """No such resource in this book."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"


class Unauthenticated(DomainError):
    """Authentication is required: send a session cookie or an `Authorization: Bearer` token."""

    status = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    """You are not allowed to do this."""

    status = 403
    code = "forbidden"


class TooManyRequests(DomainError):
    """Too many attempts; try again later."""

    status = 429
    code = "too_many_requests"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details if details is not None else {}}}
