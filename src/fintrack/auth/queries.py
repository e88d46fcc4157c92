"""SQL of the auth domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.auth.models import ApiToken, LoginAttempt, User, WebSession


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def any_user(session: AsyncSession) -> bool:
    return (await session.scalar(select(User.id).limit(1))) is not None


async def token_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    return await session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


async def live_token_hashes(session: AsyncSession, hashes: list[str]) -> set[str]:
    """The hashes among these of API tokens neither revoked nor expired."""
    rows = await session.scalars(
        select(ApiToken.token_hash).where(
            ApiToken.token_hash.in_(hashes),
            ApiToken.revoked_at.is_(None),
            (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > func.now()),
        )
    )
    return set(rows)


async def live_session_hashes(session: AsyncSession, hashes: list[str]) -> set[str]:
    rows = await session.scalars(
        select(WebSession.token_hash).where(WebSession.token_hash.in_(hashes), WebSession.expires_at > func.now())
    )
    return set(rows)


async def tokens_of(session: AsyncSession, user_id: int) -> list[ApiToken]:
    rows = await session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    return list(rows)


async def token_of(session: AsyncSession, user_id: int, token_id: int) -> ApiToken | None:
    return await session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id))


async def touch_token(session: AsyncSession, token_id: int, now: datetime) -> None:
    # Only write once a minute per token: a bot polling every second should not churn the table.
    await session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .where((ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now - func.make_interval(0, 0, 0, 0, 0, 1)))
        .values(last_used_at=now)
    )


async def web_session_by_hash(session: AsyncSession, token_hash: str) -> WebSession | None:
    return await session.scalar(select(WebSession).where(WebSession.token_hash == token_hash))


async def failures_since(
    session: AsyncSession, *, email: str | None = None, ip: str | None = None, since: datetime
) -> int:
    query = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at >= since, ~LoginAttempt.success)
    if email is not None:
        query = query.where(LoginAttempt.email == email.lower())
    if ip is not None:
        query = query.where(LoginAttempt.ip == ip)
    return int(await session.scalar(query) or 0)


async def end_other_sessions(session: AsyncSession, user_id: int, keep_hash: str | None) -> int:
    """Log the user out everywhere but the session with `keep_hash` (after a password change)."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_hash is not None:
        query = query.where(WebSession.token_hash != keep_hash)
    result = await session.execute(query)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def all_users(session: AsyncSession) -> list[User]:
    return list(await session.scalars(select(User).order_by(User.id)))
