"""Where the data plane gets tokens, permissions and history from: the app's database, through the auth and
hub services (read-only use; the WebSocket transport itself knows nothing of SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fintrack.hub.protocol import PublicationLike
from fintrack.hub.ws import Authenticate, Authorize, OverflowOf, Principal, scope_only


def authenticator(app: Any) -> Authenticate:
    async def authenticate(token: str) -> Principal | None:
        from fintrack.auth import service as auth
        from fintrack.errors import DomainError

        async with app.state.db.sessionmaker() as session, session.begin():
            try:
                found = await auth.from_bearer(session, token)
            except DomainError:
                return None
        patterns = getattr(found, "channel_patterns", None)
        return Principal(found.user.id, found.scopes, bool(found.user.is_admin), patterns)

    return authenticate


def authorizer(app: Any) -> Authorize:
    """The namespaces' policies when the hub's store is there; otherwise the token's scope alone."""
    try:
        from fintrack.hub import policy, store
    except ImportError:
        return scope_only

    async def authorize(principal: Principal, action: str, channel: str) -> str | None:
        why_not = await scope_only(principal, action, channel)
        if why_not is not None:
            return why_not
        if "*" in channel:
            limited = principal.channel_patterns is not None and channel not in principal.channel_patterns
            return "this token is limited to other channel patterns" if limited else None
        caller = policy.Caller(principal.user_id, principal.scopes, principal.is_admin, principal.channel_patterns)
        async with app.state.db.sessionmaker() as session, session.begin():
            try:
                ns = await store.governing(session, channel)
            except Exception as exc:  # an invalid name or no namespace: a DomainError whose message says so
                return str(getattr(exc, "message", exc))
        if not policy.allowed(caller, action, channel, ns):  # type: ignore[arg-type]
            return f"you may not {action} on channel {channel!r}"
        return None

    return authorize


def history(app: Any) -> Any:
    """Retained publications from the hub's store, read as the server (the subscription was authorized)."""
    try:
        from fintrack.hub import errors, policy, store
    except ImportError:
        return None

    async def read(
        channel: str, after_seq: int | None, limit: int, since: datetime | None = None
    ) -> tuple[Sequence[PublicationLike], int | None]:
        async with app.state.db.sessionmaker() as session, session.begin():
            try:
                found = await store.read(session, channel, after_seq, since, limit, user=policy.SERVER)
            except errors.ChannelNotFound:
                return [], None
        return found.publications, found.oldest_seq

    return read


def overflow_of(app: Any) -> OverflowOf | None:
    """The overflow policy of the namespace governing a channel (disconnect, conflate or drop)."""
    try:
        from fintrack.hub import store
    except ImportError:
        return None

    async def of(channel: str) -> Any:
        async with app.state.db.sessionmaker() as session, session.begin():
            return (await store.governing(session, channel)).overflow

    return of
