"""Where the data plane gets tokens, permissions and history from: the app's database, through the auth and
hub services (read-only use; the WebSocket transport itself knows nothing of SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fintrack.errors import DomainError
from fintrack.hub import protocol as wire
from fintrack.hub.protocol import ProtocolError, PublicationLike
from fintrack.hub.ws import Authenticate, Authorize, PolicyOf, Principal, Publish, Revalidate, scope_only


def authenticator(app: Any) -> Authenticate:
    async def authenticate(token: str) -> Principal | None:
        from fintrack.auth import service as auth
        from fintrack.auth.tokens import HUB_PREFIX

        async with app.state.db.sessionmaker() as session, session.begin():
            try:
                if token.startswith(HUB_PREFIX):  # the web UI's short-lived token
                    found = await auth.from_hub_token(session, token, app.state.settings.secret_key())
                else:
                    found = await auth.from_bearer(session, token)
            except DomainError:
                return None
        expires = found.expires_at.timestamp() if found.expires_at is not None else None
        return Principal(found.user.id, found.scopes, bool(found.user.is_admin), found.channel_patterns, expires)

    return authenticate


def revalidator(app: Any) -> Revalidate:
    async def still_valid(tokens: list[str]) -> set[str]:
        from fintrack.auth import service as auth

        async with app.state.db.sessionmaker() as session, session.begin():
            return await auth.still_valid(session, tokens, app.state.settings.secret_key())

    return still_valid


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


def policy_of(app: Any) -> PolicyOf | None:
    """The live-delivery policy of the namespace governing a channel: overflow (disconnect, conflate or drop)
    and TTL (seconds after ingest when a publication is no longer delivered live; None: never)."""
    try:
        from fintrack.hub import store
    except ImportError:
        return None

    async def of(channel: str) -> Any:
        async with app.state.db.sessionmaker() as session, session.begin():
            ns = await store.governing(session, channel)
        return ns.overflow, ns.ttl_seconds

    return of


def publisher(app: Any) -> Publish | None:
    """Publishing over the socket: the namespace policy and durability of the REST endpoint, group-committed."""
    try:
        from fintrack.hub import policy
        from fintrack.hub.ingest import GroupCommit
        from fintrack.hub.store import Item
    except ImportError:
        return None
    # app.state.db exists once the app has started: look it up at each commit.
    commits = GroupCommit(lambda: app.state.db.transaction(), getattr(app.state, "hub_broker", None))

    async def publish(principal: Principal, msg: wire.Publish) -> dict[str, Any]:
        caller = policy.Caller(principal.user_id, principal.scopes, principal.is_admin, principal.channel_patterns)
        try:
            done = await commits.publish(caller, msg.channel, Item(msg.payload, msg.key, msg.idempotency_key, msg.time))
        except DomainError as problem:
            raise ProtocolError(problem.code, problem.message, msg.ref) from None
        return {"channel": msg.channel, "seq": done.seq, "epoch": done.epoch, "duplicate": done.duplicate}

    return publish


class StoredConsumers:
    """Durable consumers' cursors in the app's database (fintrack.hub.consumers), one short transaction each."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def attach(
        self, principal: Principal, channel: str, name: str, after_seq: int | None
    ) -> tuple[int | None, int, int | None]:
        from fintrack.hub import consumers

        try:
            async with self.app.state.db.transaction() as session:
                cursor = await consumers.attach(session, channel, name, user=_caller(principal), after_seq=after_seq)
        except DomainError as problem:
            raise ProtocolError(problem.code, problem.message) from None
        return cursor.epoch, cursor.acked_seq, cursor.restarted_after

    async def ack(self, principal: Principal, channel: str, name: str, seq: int) -> int:
        from fintrack.hub import consumers

        try:
            async with self.app.state.db.transaction() as session:
                return await consumers.ack(session, channel, name, seq, user=_caller(principal))
        except DomainError as problem:
            raise ProtocolError(problem.code, problem.message) from None


def _caller(principal: Principal) -> Any:
    from fintrack.hub import policy

    return policy.Caller(principal.user_id, principal.scopes, principal.is_admin, principal.channel_patterns)
