"""Errors of the auth domain."""

from __future__ import annotations

from fintrack.errors import Conflict, DomainError, Forbidden, InvalidInput, TooManyRequests, Unauthenticated


class InvalidCredentials(Unauthenticated):
    """Wrong email or password."""

    code = "invalid_credentials"
    # The failed attempt must be stored even though the request fails, or throttling could be bypassed.
    keep_writes = True


class LoginThrottled(TooManyRequests):
    """Too many failed logins; wait before trying again."""

    code = "login_throttled"
    keep_writes = True


class InvalidToken(Unauthenticated):
    """The API token is unknown, revoked or expired."""

    code = "invalid_token"


class MissingScope(Forbidden):
    """The API token does not carry the scope this endpoint needs."""

    code = "missing_scope"


class CsrfFailed(Forbidden):
    """Missing or wrong X-CSRF-Token header for a cookie-authenticated request."""

    code = "csrf_failed"


class EmailTaken(Conflict):
    """A user with this email already exists."""

    code = "email_taken"


class SetupDone(Conflict):
    """FinTrack already has users; first-run setup is closed."""

    code = "setup_done"


class WeakPassword(InvalidInput):
    """The password is too weak."""

    code = "weak_password"


class WrongPassword(InvalidInput):
    """The current password is not right."""

    code = "wrong_password"


class UnknownLanguage(InvalidInput):
    """FinTrack speaks pt-BR and en."""

    code = "unknown_language"


class AdminRequired(Forbidden):
    """Only an administrator may do this."""

    code = "admin_required"


__all__ = [
    "AdminRequired",
    "CsrfFailed",
    "DomainError",
    "EmailTaken",
    "InvalidCredentials",
    "InvalidToken",
    "LoginThrottled",
    "MissingScope",
    "SetupDone",
    "UnknownLanguage",
    "WeakPassword",
    "WrongPassword",
]
