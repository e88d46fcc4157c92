"""FastAPI dependencies as Annotated aliases: the request's session, the caller, and the book they work on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.auth import service as auth
from fintrack.auth.errors import CsrfFailed
from fintrack.auth.scopes import Scope
from fintrack.auth.tokens import csrf_token, same
from fintrack.books import access as books
from fintrack.db import run_after_commit
from fintrack.errors import DomainError, Unauthenticated
from fintrack.settings import Settings

SESSION_COOKIE = "fintrack_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """The one owner of the request's transaction: commit when the handler returns, roll back if it raises.

    scope="function" (below) runs the commit before the response is sent, so a failed commit is an error
    the client sees, never a 200 for data that was not saved.
    """
    async with request.app.state.db.sessionmaker() as session:
        session.info["hub_broker"] = getattr(request.app.state, "hub_broker", None)  # for hub.events
        await session.begin()
        try:
            yield session
        except BaseException as exc:
            if isinstance(exc, DomainError) and exc.keep_writes:
                await session.commit()
                await run_after_commit(session)
            else:
                session.info.pop("after_commit", None)
                await session.rollback()
            raise
        else:
            await session.commit()
            await run_after_commit(session)


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def _principal(request: Request, session: SessionDep, settings: SettingsDep) -> auth.Principal:
    header = request.headers.get("authorization")
    principal: auth.Principal | None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authorization header must be 'Bearer <token>'")
        principal = await auth.from_bearer(session, token.strip())
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        principal = await auth.from_session_cookie(session, cookie) if cookie else None
        if principal is None:
            raise Unauthenticated()
        # Cookies ride along on cross-site requests; the CSRF header proves the page is ours.
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not same(sent, csrf_token(settings.secret_key(), cookie or "")):
                raise CsrfFailed()
    request.state.user_id = principal.user.id
    return principal


async def _api_principal(principal: Annotated[auth.Principal, Depends(_principal)]) -> auth.Principal:
    principal.require(Scope.api)
    return principal


CurrentPrincipal = Annotated[auth.Principal, Depends(_api_principal)]


def _hub_principal(*scopes: Scope) -> object:
    async def principal_with(principal: Annotated[auth.Principal, Depends(_principal)]) -> auth.Principal:
        # Any one of the scopes will do (listing channels is for subscribers and history readers alike).
        if not any(scope in principal.scopes for scope in scopes):
            principal.require(scopes[0])
        return principal

    return principal_with


HubPublisher = Annotated[auth.Principal, Depends(_hub_principal(Scope.hub_publish))]
HubReader = Annotated[auth.Principal, Depends(_hub_principal(Scope.hub_history))]
HubListener = Annotated[auth.Principal, Depends(_hub_principal(Scope.hub_history, Scope.hub_subscribe))]


async def _subscriber(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=512,
            description="An API token, for clients that cannot send an Authorization header (EventSource). URLs "
            "end up in proxy and browser logs: use a short-lived token.",
        ),
    ] = None,
) -> auth.Principal:
    """A stream's caller, with hub:subscribe: the usual header or cookie, or ?token= (the header wins)."""
    if token is not None and "authorization" not in request.headers:
        principal = await auth.from_bearer(session, token)
        request.state.user_id = principal.user.id
    else:
        principal = await _principal(request, session, settings)
    principal.require(Scope.hub_subscribe)
    return principal


HubSubscriber = Annotated[auth.Principal, Depends(_subscriber)]


async def _book(
    principal: CurrentPrincipal,
    session: SessionDep,
    book_id: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="A book of yours; default: your default book")
    ] = None,
) -> books.BookAccess:
    return await books.access(session, principal.user.id, book_id, principal.user.default_book_id)


CurrentBook = Annotated[books.BookAccess, Depends(_book)]
