"""FinTrack's own events (an import's progress and outcome, later budget alerts) on a user's private channel.

`emit` publishes in the caller's transaction, as the server: the event is committed with the change it reports,
or not at all, and reaches the user's subscribers after the commit. The channel row stays locked until then, so
emit last in a long transaction (another transaction emitting for the same user would wait for it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.hub import policy, store


def channel_of(user_id: int) -> str:
    return f"user.{user_id}"


async def emit(
    session: AsyncSession,
    user_id: int,
    kind: str,
    data: dict[str, Any],
    *,
    key: str | None = None,
    once: str | None = None,
) -> int:
    """Publish `{"type": kind, **data}` on `user.<user_id>`; returns its seq. `key` names what it is the latest
    state of (a subscriber resuming with latest-per-key gets one event per key); `once` is an idempotency key:
    an event that may be emitted again (a commit answered twice) is published once."""
    published = await store.append(
        session,
        channel_of(user_id),
        [store.Item({"type": kind, **data}, key, once)],
        user=policy.SERVER,
        broker=session.info.get("hub_broker"),
    )
    return published[0].seq
