"""Users, logins, sessions and API tokens. Services flush; the request owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.auth import passwords, queries, tokens
from fintrack.auth.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    LoginThrottled,
    MissingScope,
    SetupDone,
    UnknownLanguage,
    WeakPassword,
    WrongPassword,
)
from fintrack.auth.models import ApiToken, LoginAttempt, User, WebSession
from fintrack.auth.scopes import ALL_SCOPES, Scope
from fintrack.books import service as books
from fintrack.errors import InvalidInput, NotFound, mark


@dataclass(frozen=True)
class Principal:
    """Who is calling and what they may do: a user via a web session (all scopes) or a scoped token."""

    user: User
    scopes: frozenset[str]
    via: str  # "session" | "token"
    session_token: str | None = None
    # A token limited to hub channel patterns; None (web sessions, most tokens): no limit.
    channel_patterns: tuple[str, ...] | None = None
    # When the credential stops working (None: never, or when the web session ends).
    expires_at: datetime | None = None

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise MissingScope(
                mark("this token lacks the {scope!r} scope"), values={"scope": scope.value}, required=scope.value
            )


def now() -> datetime:
    return datetime.now(UTC)


async def create_user(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    is_admin: bool = False,
    book_name: str | None = None,
    locale: str = "pt-BR",
    base_currency: str = "BRL",
) -> User:
    """Create a user with a default book of their own (owner), seeded with categories in their locale."""
    if await queries.user_by_email(session, email) is not None:
        raise EmailTaken(field="email")
    user = User(email=email.strip(), password_hash=passwords.hash_password(password), is_admin=is_admin)
    session.add(user)
    await session.flush()
    default_name = "Minhas finanças" if locale == "pt-BR" else "My finances"
    book = await books.create_book(session, user.id, book_name or default_name, base_currency, locale)
    user.default_book_id = book.id
    await session.flush()
    return user


async def setup_first_admin(session: AsyncSession, email: str, password: str, **book: str | None) -> User:
    # Serialise concurrent first-run requests: only one can become the admin.
    await session.execute(text("SELECT pg_advisory_xact_lock(7242002)"))
    if await queries.any_user(session):
        raise SetupDone()
    return await create_user(session, email, password, is_admin=True, **book)  # type: ignore[arg-type]


async def login(
    session: AsyncSession,
    email: str,
    password: str,
    ip: str,
    *,
    max_failures: int,
    window_seconds: int,
    ttl_hours: int,
) -> tuple[User, str, datetime]:
    since = now() - timedelta(seconds=window_seconds)
    email_failures = await queries.failures_since(session, email=email, since=since)
    ip_failures = await queries.failures_since(session, ip=ip, since=since)
    if email_failures >= max_failures or ip_failures >= max_failures * 4:
        raise LoginThrottled(retry_after=window_seconds)
    user = await queries.user_by_email(session, email)
    ok = passwords.verify(user.password_hash if user else None, password)
    session.add(LoginAttempt(email=email.lower(), ip=ip, success=ok))
    await session.flush()
    if not ok or user is None:
        raise InvalidCredentials()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    token, _, token_hash = tokens.new_token()
    expires = now() + timedelta(hours=ttl_hours)
    session.add(WebSession(user_id=user.id, token_hash=token_hash, expires_at=expires))
    await session.flush()
    return user, token, expires


async def logout(session: AsyncSession, session_token: str) -> None:
    found = await queries.web_session_by_hash(session, tokens.digest(session_token))
    if found is not None:
        await session.delete(found)
        await session.flush()


async def from_session_cookie(session: AsyncSession, cookie: str) -> Principal | None:
    found = await queries.web_session_by_hash(session, tokens.digest(cookie))
    if found is None or found.expires_at <= now():
        return None
    user = await queries.user_by_id(session, found.user_id)
    if user is None:
        return None
    return Principal(user=user, scopes=ALL_SCOPES, via="session", session_token=cookie)


async def from_bearer(session: AsyncSession, token: str) -> Principal:
    found = await queries.token_by_hash(session, tokens.digest(token))
    current = now()
    if found is None or found.revoked_at is not None or (found.expires_at and found.expires_at <= current):
        raise InvalidToken()
    user = await queries.user_by_id(session, found.user_id)
    if user is None:
        raise InvalidToken()
    await queries.touch_token(session, found.id, current)
    patterns = tuple(found.channel_patterns) if found.channel_patterns is not None else None
    return Principal(
        user=user, scopes=frozenset(found.scopes), via="token", channel_patterns=patterns, expires_at=found.expires_at
    )


HUB_TOKEN_SECONDS = 15 * 60
HUB_SESSION_SCOPES = frozenset({Scope.hub_subscribe.value, Scope.hub_history.value})


def hub_token(principal: Principal, secret_key: str) -> tuple[str, datetime]:
    """A short-lived token with which the web UI opens /ws, refreshed in-band before it expires. The hub takes
    tokens, never the session cookie: a WebSocket handshake carries no CSRF header, so a cookie would let any
    page the user visits open a socket as them (cross-site WebSocket hijacking)."""
    if principal.via != "session" or principal.session_token is None:
        raise InvalidInput(mark("hub session tokens are for the web UI; API clients connect with their API token"))
    expires = now() + timedelta(seconds=HUB_TOKEN_SECONDS)
    session_hash = tokens.digest(principal.session_token)
    return tokens.sign_hub(secret_key, principal.user.id, session_hash, int(expires.timestamp())), expires


async def from_hub_token(session: AsyncSession, token: str, secret_key: str) -> Principal:
    found = tokens.verify_hub(secret_key, token)
    if found is None or found[2] <= now().timestamp():
        raise InvalidToken()
    user_id, session_hash, expires = found
    web = await queries.web_session_by_hash(session, session_hash)
    if web is None or web.user_id != user_id or web.expires_at <= now():
        raise InvalidToken()
    user = await queries.user_by_id(session, user_id)
    if user is None:
        raise InvalidToken()
    expires_at = min(web.expires_at, datetime.fromtimestamp(expires, UTC))
    return Principal(user=user, scopes=HUB_SESSION_SCOPES, via="hub", expires_at=expires_at)


async def still_valid(session: AsyncSession, secrets_: list[str], secret_key: str) -> set[str]:
    """Which of these bearer secrets (API tokens or hub session tokens) still work: one query for each kind,
    however many sockets hold them."""
    api = {tokens.digest(t): t for t in secrets_ if not t.startswith(tokens.HUB_PREFIX)}
    hub: dict[str, list[str]] = {}
    current = int(now().timestamp())
    for t in secrets_:
        found = tokens.verify_hub(secret_key, t) if t.startswith(tokens.HUB_PREFIX) else None
        if found is not None and found[2] > current:
            hub.setdefault(found[1], []).append(t)
    valid = {api[h] for h in await queries.live_token_hashes(session, list(api))} if api else set()
    for h in await queries.live_session_hashes(session, list(hub)) if hub else set():
        valid.update(hub[h])
    return valid


async def create_token(
    session: AsyncSession,
    user: User,
    name: str,
    scopes: list[Scope],
    expires_at: datetime | None = None,
    channel_patterns: list[str] | None = None,
) -> tuple[ApiToken, str]:
    if expires_at is not None and expires_at <= now():
        raise InvalidInput(mark("expires_at is in the past: the token would never work"), field="expires_at")
    token, prefix, token_hash = tokens.new_token()
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=prefix,
        token_hash=token_hash,
        scopes=sorted({s.value for s in scopes}),
        expires_at=expires_at,
        channel_patterns=sorted(set(channel_patterns)) if channel_patterns is not None else None,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row, token


async def list_tokens(session: AsyncSession, user: User) -> list[ApiToken]:
    return await queries.tokens_of(session, user.id)


async def revoke_token(session: AsyncSession, user: User, token_id: int) -> ApiToken:
    row = await queries.token_of(session, user.id, token_id)
    if row is None:
        raise NotFound(mark("no such token"))
    if row.revoked_at is None:
        row.revoked_at = now()
        await session.flush()
    return row


async def change_password(session: AsyncSession, principal: Principal, current: str, new: str) -> int:
    """Set a new password (the current one proves it is the user) and end every other web session, since a
    password is changed when someone else may know the old one. Returns how many sessions were ended."""
    user = principal.user
    if not passwords.verify(user.password_hash, current):
        raise WrongPassword(field="current_password")
    try:
        user.password_hash = passwords.hash_password(new)
    except WeakPassword as weak:
        raise WeakPassword(weak.template, values=weak.values, field="new_password") from None
    keep = tokens.digest(principal.session_token) if principal.session_token else None
    ended = await queries.end_other_sessions(session, user.id, keep)
    await session.flush()
    return ended


LANGUAGES = ("pt-BR", "en")


async def set_language(session: AsyncSession, user: User, language: str | None) -> None:
    """The web UI's language for this user; None follows the browser."""
    if language is not None and language not in LANGUAGES:
        raise UnknownLanguage(field="language", allowed=list(LANGUAGES))
    user.language = language
    await session.flush()
