"""SQL of the hub: channel counters, publications, namespaces, retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.db import copy_rows
from fintrack.hub.models import HubChannel, HubConsumer, HubNamespace, HubPublication, HubWebhook

PUBLICATION_COLUMNS = (
    "channel_id",
    "seq",
    "epoch",
    "producer_time",
    "ingest_time",
    "idempotency_key",
    "key",
    "payload",
    "publisher_user_id",
)


async def lock_channel(session: AsyncSession, name: str, namespace: str) -> Row[Any]:
    """The channel's (id, epoch, last_seq, now), created if new, locked until the transaction ends.

    The lock is what serializes publishers of one channel: the next one reads last_seq only after this
    transaction commits (and then sees its numbers) or rolls back (and then reuses them).
    """
    lock = text("SELECT id, epoch, last_seq, now() AS now FROM hub_channels WHERE name = :name FOR UPDATE")
    row = (await session.execute(lock, {"name": name})).one_or_none()
    if row is None:
        await session.execute(
            insert(HubChannel).values(name=name, namespace=namespace).on_conflict_do_nothing(index_elements=["name"])
        )
        row = (await session.execute(lock, {"name": name})).one()
    return row


async def seqs_of_keys(session: AsyncSession, channel_id: int, keys: Sequence[str]) -> dict[str, int]:
    rows = await session.execute(
        select(HubPublication.idempotency_key, HubPublication.seq).where(
            HubPublication.channel_id == channel_id, HubPublication.idempotency_key.in_(keys)
        )
    )
    return {key: seq for key, seq in rows if key is not None}


async def set_last_seq(session: AsyncSession, channel_id: int, last_seq: int) -> None:
    await session.execute(
        text("UPDATE hub_channels SET last_seq = :last WHERE id = :id"), {"last": last_seq, "id": channel_id}
    )


async def insert_publications(session: AsyncSession, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows in PUBLICATION_COLUMNS order, the payload already JSON text."""
    await copy_rows(session, "hub_publications", PUBLICATION_COLUMNS, rows)


async def channel_by_name(session: AsyncSession, name: str) -> HubChannel | None:
    return await session.scalar(select(HubChannel).where(HubChannel.name == name))


async def channels(session: AsyncSession) -> Sequence[HubChannel]:
    return (await session.scalars(select(HubChannel).order_by(HubChannel.name))).all()


async def oldest_seq(session: AsyncSession, channel_id: int) -> int | None:
    return await session.scalar(
        select(HubPublication.seq).where(HubPublication.channel_id == channel_id).order_by(HubPublication.seq).limit(1)
    )


async def publications(
    session: AsyncSession, channel_id: int, *, after_seq: int | None, since: datetime | None, limit: int
) -> Sequence[HubPublication]:
    query = select(HubPublication).where(HubPublication.channel_id == channel_id)
    if after_seq is not None:
        query = query.where(HubPublication.seq > after_seq)
    if since is not None:
        query = query.where(HubPublication.ingest_time >= since)
    return (await session.scalars(query.order_by(HubPublication.seq).limit(limit))).all()


async def publications_at(session: AsyncSession, channel_id: int, seqs: Sequence[int]) -> Sequence[HubPublication]:
    query = select(HubPublication).where(HubPublication.channel_id == channel_id, HubPublication.seq.in_(seqs))
    return (await session.scalars(query.order_by(HubPublication.seq))).all()


async def latest_per_key(session: AsyncSession, channel_id: int, limit: int) -> Sequence[HubPublication]:
    """The newest publication of each key (publications without a key are left out), in seq order."""
    newest = (
        select(HubPublication)
        .where(HubPublication.channel_id == channel_id, HubPublication.key.is_not(None))
        .ext(distinct_on(HubPublication.key))
        .order_by(HubPublication.key, HubPublication.seq.desc())
        .subquery()
    )
    query = select(HubPublication).join(
        newest, (HubPublication.channel_id == newest.c.channel_id) & (HubPublication.seq == newest.c.seq)
    )
    return (await session.scalars(query.order_by(HubPublication.seq).limit(limit))).all()


async def namespaces(session: AsyncSession) -> Sequence[HubNamespace]:
    return (await session.scalars(select(HubNamespace).order_by(HubNamespace.pattern))).all()


async def put_namespace(session: AsyncSession, values: dict[str, Any]) -> None:
    statement = insert(HubNamespace).values(**values)
    changed = {k: statement.excluded[k] for k in values if k != "pattern"}
    await session.execute(
        statement.on_conflict_do_update(index_elements=["pattern"], set_={**changed, "updated_at": text("now()")})
    )


async def delete_older_than(session: AsyncSession, namespace: str, seconds: int) -> int:
    result = await session.execute(
        text(
            "DELETE FROM hub_publications p USING hub_channels c "
            "WHERE p.channel_id = c.id AND c.namespace = :ns AND p.ingest_time < now() - make_interval(secs => :s)"
        ),
        {"ns": namespace, "s": seconds},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_beyond_count(session: AsyncSession, namespace: str, count: int) -> int:
    # seq is gap-free, so "all but the newest N" is a range on the primary key.
    result = await session.execute(
        text(
            "DELETE FROM hub_publications p USING hub_channels c "
            "WHERE p.channel_id = c.id AND c.namespace = :ns AND p.seq <= c.last_seq - :n"
        ),
        {"ns": namespace, "n": count},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def new_epoch(session: AsyncSession, channel_id: int) -> int:
    epoch = await session.scalar(
        text("UPDATE hub_channels SET epoch = epoch + 1, last_seq = 0 WHERE id = :id RETURNING epoch"),
        {"id": channel_id},
    )
    await session.execute(text("DELETE FROM hub_publications WHERE channel_id = :id"), {"id": channel_id})
    return int(epoch or 0)


# Webhooks (fintrack.hub.webhooks) ---------------------------------------------------------------------------


async def webhooks_of(session: AsyncSession, user_id: int) -> Sequence[HubWebhook]:
    return (
        await session.scalars(select(HubWebhook).where(HubWebhook.user_id == user_id).order_by(HubWebhook.id))
    ).all()


async def webhook_of(session: AsyncSession, user_id: int, webhook_id: int) -> HubWebhook | None:
    return await session.scalar(select(HubWebhook).where(HubWebhook.id == webhook_id, HubWebhook.user_id == user_id))


async def live_webhook(session: AsyncSession, token: str, token_hash: str) -> Row[Any] | None:
    """The unrevoked webhook a URL token names, with its owner's admin flag: the token is the secret (its hash
    matches) or, for a webhook taking the secret in the body, its public hook_id."""
    return (
        await session.execute(
            text(
                "SELECT w.id, w.user_id, w.channel, w.secret_in, w.secret_hash, w.allow, w.dedupe_seconds, "
                "u.is_admin FROM hub_webhooks w JOIN users u ON u.id = w.user_id "
                "WHERE w.revoked_at IS NULL AND ((w.secret_in = 'path' AND w.secret_hash = :hash) "
                "OR (w.secret_in = 'body' AND w.hook_id = :token))"
            ),
            {"hash": token_hash, "token": token},
        )
    ).one_or_none()


async def live_webhook_ids(session: AsyncSession, ids: Sequence[int]) -> set[int]:
    """Those of the webhooks that are not revoked."""
    query = text("SELECT id FROM hub_webhooks WHERE id = ANY(:ids) AND revoked_at IS NULL")
    found = await session.scalars(query, {"ids": list(ids)})
    return set(found)


async def received(session: AsyncSession, bodies: Sequence[tuple[int, str]]) -> dict[tuple[int, str], Row[Any]]:
    """For each distinct (webhook id, body digest): when the body was first received within the webhook's dedupe
    window, now if it was not, as (received_at, new).

    A concurrent transaction with the same body waits on the row until this one ends, then sees its received_at:
    that is what makes the repeat a duplicate rather than a second publication. Rows are taken in sorted order,
    so two transactions never wait on each other.
    """
    rows = await session.execute(
        text(
            "INSERT INTO hub_webhook_deliveries AS d (webhook_id, digest, received_at) "
            "SELECT b.webhook_id, b.digest, now() "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:digests AS text[])) AS b(webhook_id, digest) "
            "ORDER BY b.webhook_id, b.digest "
            "ON CONFLICT (webhook_id, digest) DO UPDATE SET received_at = CASE WHEN d.received_at <= "
            "excluded.received_at - make_interval(secs => "
            "(SELECT w.dedupe_seconds FROM hub_webhooks w WHERE w.id = d.webhook_id)) "
            "THEN excluded.received_at ELSE d.received_at END "
            "RETURNING webhook_id, digest, received_at, received_at = now() AS new"
        ),
        {"ids": [b[0] for b in bodies], "digests": [b[1] for b in bodies]},
    )
    return {(row.webhook_id, row.digest): row for row in rows}


async def forget_deliveries(session: AsyncSession, webhook_id: int, limit: int) -> None:
    """Delete up to `limit` of the webhook's bodies that left its dedupe window (never waiting on a locked one)."""
    await session.execute(
        text(
            "DELETE FROM hub_webhook_deliveries WHERE ctid = ANY(ARRAY("
            "SELECT d.ctid FROM hub_webhook_deliveries d JOIN hub_webhooks w ON w.id = d.webhook_id "
            "WHERE d.webhook_id = :id AND d.received_at < now() - make_interval(secs => w.dedupe_seconds) "
            "LIMIT :limit FOR UPDATE OF d SKIP LOCKED))"
        ),
        {"id": webhook_id, "limit": limit},
    )


async def touch_webhook(session: AsyncSession, webhook_id: int) -> None:
    # At most once a second: every alert of a burst rewriting the row would only add dead tuples.
    await session.execute(
        text(
            "UPDATE hub_webhooks SET last_used_at = now() WHERE id = :id "
            "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 second')"
        ),
        {"id": webhook_id},
    )


# --- durable consumers --------------------------------------------------------------------------------------


async def consumer(session: AsyncSession, user_id: int, channel: str, name: str) -> HubConsumer | None:
    return await session.scalar(
        select(HubConsumer).where(
            HubConsumer.user_id == user_id, HubConsumer.channel == channel, HubConsumer.name == name
        )
    )


async def create_consumer(
    session: AsyncSession, user_id: int, channel: str, name: str, epoch: int | None, acked_seq: int
) -> HubConsumer:
    """The consumer, created at this cursor unless a concurrent attach created it first (then that one)."""
    await session.execute(
        insert(HubConsumer)
        .values(user_id=user_id, channel=channel, name=name, epoch=epoch, acked_seq=acked_seq)
        .on_conflict_do_nothing(constraint="hub_consumers_user_channel_name")
    )
    found = await consumer(session, user_id, channel, name)
    assert found is not None
    return found


async def move_consumer(session: AsyncSession, consumer_id: int, epoch: int, acked_seq: int) -> None:
    await session.execute(
        text("UPDATE hub_consumers SET epoch = :epoch, acked_seq = :acked WHERE id = :id"),
        {"id": consumer_id, "epoch": epoch, "acked": acked_seq},
    )


async def ack_consumer(
    session: AsyncSession, user_id: int, channel: str, name: str, epoch: int, seq: int
) -> int | None:
    """Move the cursor forward to `seq` (never back: acks are cumulative and may arrive out of order)."""
    return await session.scalar(
        text(
            "UPDATE hub_consumers SET acked_seq = GREATEST(acked_seq, :seq), acked_at = now(), "
            "epoch = COALESCE(epoch, :epoch) "
            "WHERE user_id = :user AND channel = :channel AND name = :name RETURNING acked_seq"
        ),
        {"seq": seq, "epoch": epoch, "user": user_id, "channel": channel, "name": name},
    )


async def consumers_of(session: AsyncSession, user_id: int) -> Sequence[Row[Any]]:
    """The user's consumers with their channel's current epoch and last seq (None: no publication yet)."""
    return (
        await session.execute(
            text(
                "SELECT c.channel, c.name, c.epoch, c.acked_seq, c.created_at, c.acked_at, "
                "ch.epoch AS channel_epoch, ch.last_seq AS channel_last_seq "
                "FROM hub_consumers c LEFT JOIN hub_channels ch ON ch.name = c.channel "
                "WHERE c.user_id = :user ORDER BY c.channel, c.name"
            ),
            {"user": user_id},
        )
    ).all()


async def delete_consumer(session: AsyncSession, user_id: int, channel: str, name: str) -> bool:
    result = await session.execute(
        text("DELETE FROM hub_consumers WHERE user_id = :user AND channel = :channel AND name = :name RETURNING id"),
        {"user": user_id, "channel": channel, "name": name},
    )
    return result.first() is not None
