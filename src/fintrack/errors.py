"""Domain errors, and the single place that turns every error into the JSON error shape."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Something the caller asked for cannot be done."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    # Most failures undo the request's writes; a few (a failed login attempt) must be kept.
    keep_writes: ClassVar[bool] = False

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.details = details
        super().__init__(self.message)


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
