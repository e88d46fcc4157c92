"""HTTP routes for first-run setup, login and logout, the current user, API tokens and user admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from fintrack.auth import queries
from fintrack.auth import service as auth
from fintrack.auth.errors import AdminRequired
from fintrack.auth.models import ApiToken, User
from fintrack.auth.schemas import (
    Credentials,
    HubTokenOut,
    SessionOut,
    SetupRequest,
    SetupStatus,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
)
from fintrack.auth.tokens import csrf_token
from fintrack.deps import SESSION_COOKIE, CurrentPrincipal, SessionDep, SettingsDep
from fintrack.idempotency import IdempotencyDep

router = APIRouter(prefix="/api/v1", tags=["auth"])
TokenId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def user_out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


def token_out(token: ApiToken) -> TokenOut:
    return TokenOut.model_validate(token, from_attributes=True)


@router.get("/setup", summary="Whether FinTrack still needs its first administrator")
async def setup_status(session: SessionDep) -> SetupStatus:
    return SetupStatus(needs_setup=not await queries.any_user(session))


@router.post("/setup", status_code=status.HTTP_201_CREATED, summary="Create the first administrator (first run only)")
async def setup(body: SetupRequest, session: SessionDep) -> UserOut:
    user = await auth.setup_first_admin(
        session,
        body.email,
        body.password,
        book_name=body.book_name,
        locale=body.locale,
        base_currency=body.base_currency,
    )
    return user_out(user)


@router.post("/auth/login", summary="Log in with email and password; sets the session cookie")
async def login(
    body: Credentials, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> SessionOut:
    ip = request.client.host if request.client else "unknown"
    user, token, expires = await auth.login(
        session,
        body.email,
        body.password,
        ip,
        max_failures=settings.LOGIN_MAX_FAILURES,
        window_seconds=settings.LOGIN_WINDOW_SECONDS,
        ttl_hours=settings.SESSION_TTL_HOURS,
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        expires=expires,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    return SessionOut(user=user_out(user), csrf_token=csrf_token(settings.secret_key(), token), expires_at=expires)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End the web session")
async def logout(principal: CurrentPrincipal, response: Response, session: SessionDep) -> None:
    if principal.session_token:
        await auth.logout(session, principal.session_token)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post(
    "/auth/hub-token",
    summary="A short-lived token for the hub's WebSocket, for the web UI's session (subscribe and history)",
)
async def hub_token(principal: CurrentPrincipal, settings: SettingsDep) -> HubTokenOut:
    token, expires = auth.hub_token(principal, settings.secret_key())
    return HubTokenOut(token=token, expires_at=expires, scopes=sorted(auth.HUB_SESSION_SCOPES))


@router.get("/auth/me", summary="The calling user")
async def me(principal: CurrentPrincipal) -> UserOut:
    return user_out(principal.user)


@router.get("/tokens", summary="Your API tokens (secrets are never shown again)")
async def list_tokens(principal: CurrentPrincipal, session: SessionDep) -> list[TokenOut]:
    return [token_out(t) for t in await auth.list_tokens(session, principal.user)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED, summary="Create an API token; the secret is shown once")
async def create_token(
    body: TokenCreate, principal: CurrentPrincipal, session: SessionDep, idem: IdempotencyDep
) -> TokenCreated:
    if replay := await idem.replay():
        return replay  # type: ignore[return-value]
    row, token = await auth.create_token(
        session, principal.user, body.name, body.scopes, body.expires_at, body.channel_patterns
    )
    # A replay must not hand the secret out again: store the response without it.
    await idem.save(201, {**token_out(row).model_dump(mode="json"), "token": "(shown once)"})
    return TokenCreated(**token_out(row).model_dump(), token=token)


@router.delete("/tokens/{token_id}", summary="Revoke an API token")
async def revoke_token(token_id: TokenId, principal: CurrentPrincipal, session: SessionDep) -> TokenOut:
    return token_out(await auth.revoke_token(session, principal.user, token_id))


@router.post("/users", status_code=status.HTTP_201_CREATED, summary="Create a user with their own book (admins)")
async def create_user(
    body: UserCreate, principal: CurrentPrincipal, session: SessionDep, idem: IdempotencyDep
) -> UserOut:
    if not principal.user.is_admin:
        raise AdminRequired()
    if replay := await idem.replay():
        return replay  # type: ignore[return-value]
    user = await auth.create_user(
        session,
        body.email,
        body.password,
        is_admin=body.is_admin,
        book_name=body.book_name,
        locale=body.locale,
        base_currency=body.base_currency,
    )
    return await idem.save(201, user_out(user))
