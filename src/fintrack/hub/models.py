"""Tables of the hub: channels with their sequence counters, the publications (history), namespace policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
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
