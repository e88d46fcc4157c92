"""Tables of the hub: channels with their sequence counters, the publications (history), namespace policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fintrack.db import Base


class HubChannel(Base):
    __tablename__ = "hub_channels"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    # The namespace pattern that governed the channel when it was created (`signals.*`).
    namespace: Mapped[str] = mapped_column(Text)
    # A new epoch starts when a channel's history is reset: (epoch, seq) is what a subscriber resumes from.
    epoch: Mapped[int] = mapped_column(BigInteger, server_default="1")
    # The row lock on this counter serializes publishers of one channel, which is what keeps seq gap-free.
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HubPublication(Base):
    __tablename__ = "hub_publications"
    __table_args__ = (
        Index(
            "hub_publications_idempotency",
            "channel_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("hub_publications_channel_time", "channel_id", "ingest_time"),
    )

    channel_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("hub_channels.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger)
    producer_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ingest_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    key: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[Any] = mapped_column(JSONB)
    # None: published by the server itself (a user's private events).
    publisher_user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))


class HubNamespace(Base):
    """A policy stored by an admin; it overrides the built-in one of the same pattern (see hub.policy)."""

    __tablename__ = "hub_namespaces"

    pattern: Mapped[str] = mapped_column(Text, primary_key=True)
    publish: Mapped[str] = mapped_column(Text)
    subscribe: Mapped[str] = mapped_column(Text)
    history: Mapped[str] = mapped_column(Text)
    retention_seconds: Mapped[int | None] = mapped_column(BigInteger)
    retention_count: Mapped[int | None] = mapped_column(BigInteger)
    overflow: Mapped[str] = mapped_column(Text, server_default="disconnect")
    json_schema: Mapped[Any | None] = mapped_column(JSONB)
    ttl_seconds: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HubWebhook(Base):
    """A user's inbound webhook (TradingView-style alerts) publishing to one channel; see fintrack.hub.webhooks."""

    __tablename__ = "hub_webhooks"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    # "path": the URL's last segment is the secret; "body": it is hook_id and the alert's body carries the secret.
    secret_in: Mapped[str] = mapped_column(Text)
    hook_id: Mapped[str | None] = mapped_column(Text, unique=True)
    # SHA-256 of the secret (256 random bits, so a fast hash is enough); the secret itself is shown once.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    secret_prefix: Mapped[str] = mapped_column(String(16))
    # Source addresses and networks allowed to call, and named presets ("tradingview"); None: any address.
    allow: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    dedupe_seconds: Mapped[int] = mapped_column(Integer, server_default="60")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HubWebhookDelivery(Base):
    """The bodies a webhook received within its dedupe window: a repeat of one is answered, not published again."""

    __tablename__ = "hub_webhook_deliveries"
    __table_args__ = (Index("hub_webhook_deliveries_received", "webhook_id", "received_at"),)

    webhook_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("hub_webhooks.id", ondelete="CASCADE"), primary_key=True
    )
    # SHA-256 of the raw body.
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HubConsumer(Base):
    """A durable consumer: the last seq its owner acknowledged on a channel. Resuming starts after it, so
    everything not yet acknowledged is delivered again (at least once)."""

    __tablename__ = "hub_consumers"
    __table_args__ = (UniqueConstraint("user_id", "channel", "name", name="hub_consumers_user_channel_name"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    # By name, not id: a consumer may be created before the channel's first publication.
    channel: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    # The epoch acked_seq belongs to (None: the channel had none yet); a reset channel starts the cursor over.
    epoch: Mapped[int | None] = mapped_column(BigInteger)
    acked_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    acked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
