"""SQL of the hub: channel counters, publications, namespaces, retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.db import copy_rows
from fintrack.hub.models import HubChannel, HubNamespace, HubPublication

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
