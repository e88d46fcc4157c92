"""Who is looking at a page: the session cookie, CSRF on every change, the book, and the language.

Pages share the API's session cookie and its CSRF token (the same HMAC of the cookie): htmx sends it as the
X-CSRF-Token header on every request it makes, and plain forms as a hidden `csrf` field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fintrack.auth import service as auth
from fintrack.auth.errors import CsrfFailed
from fintrack.auth.tokens import csrf_token, same
from fintrack.books import access as books
from fintrack.deps import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, SessionDep, SettingsDep
from fintrack.errors import DomainError
from fintrack.web import i18n
from fintrack.web.render import Viewer


class LoginRequired(DomainError):
    """Log in to see this page."""

    status = 401
    code = "login_required"


class NotAdmin(DomainError):
    """Only administrators can see this page."""

    status = 403
    code = "admin_required"


async def _csrf_ok(request: Request, expected: str, max_part: int) -> bool:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        # Parsed once, here, with room for a statement file (BodyLimits already capped the whole body); the
        # handler reads the same parsed form.
        sent = str((await request.form(max_part_size=max_part)).get("csrf", ""))
    return same(sent or "", expected)


async def _viewer(request: Request, session: SessionDep, settings: SettingsDep) -> Viewer:
    cookie = request.cookies.get(SESSION_COOKIE)
    principal = await auth.from_session_cookie(session, cookie) if cookie else None
    if principal is None or cookie is None:
        raise LoginRequired()
    expected = csrf_token(settings.secret_key(), cookie)
    if request.method not in SAFE_METHODS and not await _csrf_ok(request, expected, settings.IMPORT_MAX_BYTES):
        raise CsrfFailed()
    request.state.user_id = principal.user.id
    chosen = request.query_params.get("book", "")
    book_id = int(chosen) if chosen.isdigit() and len(chosen) < 19 else None
    access = await books.access(session, principal.user.id, book_id, principal.user.default_book_id)
    language = i18n.choose(principal.user.language, request.headers.get("accept-language"))
    return Viewer(principal.user, language, expected, access, principal)


async def _admin(me: Annotated[Viewer, Depends(_viewer)]) -> Viewer:
    if me.user is None or not me.user.is_admin:
        raise NotAdmin()
    return me


def anonymous(request: Request) -> Viewer:
    """A visitor with no session (login and first-run pages): the browser's language."""
    return Viewer(None, i18n.choose(None, request.headers.get("accept-language")))


WebViewer = Annotated[Viewer, Depends(_viewer)]
WebAdmin = Annotated[Viewer, Depends(_admin)]
Anonymous = Annotated[Viewer, Depends(anonymous)]
