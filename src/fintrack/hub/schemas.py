"""Request and response bodies of the hub's REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, JsonValue

from fintrack.hub.policy import Overflow, Rule
from fintrack.schemas import _iso_only

Key = Annotated[str, Field(min_length=1, max_length=200)]
ProducerTime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PublicationIn(Strict):
    payload: JsonValue = Field(description="Any JSON value, at most 64 KiB encoded")
    key: Key | None = Field(None, description="Groups publications for conflation and latest-per-key reads")
    idempotency_key: Key | None = Field(
        None, description="A repeat on this channel while the first is retained returns the first seq, unstored"
    )
    producer_time: ProducerTime | None = Field(None, description="When the producer made it (with a UTC offset)")


class PublicationBatch(Strict):
    publications: list[PublicationIn] = Field(min_length=1, max_length=1000)


class PublishedOut(BaseModel):
    seq: int
    epoch: int
    duplicate: bool = Field(description="true: a repeat of an earlier idempotency key; seq is the first one's")


class PublicationOut(BaseModel):
    channel: str
    seq: int
    epoch: int
    producer_time: datetime | None
    ingest_time: datetime
    key: str | None
    payload: Any


class HistoryOut(BaseModel):
    channel: str
    epoch: int
    last_seq: int
    oldest_seq: int | None = Field(description="The oldest seq still retained; null when none is")
    gap: bool = Field(description="true: publications after after_seq are no longer retained (before oldest_seq)")
    publications: list[PublicationOut]


class ChannelOut(BaseModel):
    name: str
    namespace: str
    epoch: int
    last_seq: int


class NamespaceIn(Strict):
    pattern: str = Field(min_length=1, max_length=200, examples=["signals.*"])
    publish: Rule = "scope"
    subscribe: Rule = "scope"
    history: Rule = "scope"
    retention_seconds: int | None = Field(None, ge=1, le=10 * 365 * 24 * 3600)
    retention_count: int | None = Field(None, ge=1, le=2**62)
    overflow: Overflow = "disconnect"
    json_schema: dict[str, JsonValue] | None = None
    ttl_seconds: int | None = Field(None, ge=1, le=2**31 - 1)


class NamespaceOut(NamespaceIn):
    model_config = ConfigDict(extra="ignore")
    builtin: bool = Field(description="true: FinTrack's default, not (yet) overridden by an admin")


class ConsumerIn(Strict):
    after_seq: int | None = Field(
        None,
        ge=0,
        le=2**63 - 1,
        strict=True,  # `false` is not 0
        description="The cursor: the next delivery is after_seq + 1 (default: the last seq)",
    )


class ConsumerOut(BaseModel):
    channel: str
    name: str
    epoch: int | None = Field(description="The epoch acked_seq belongs to; null until the channel has one")
    acked_seq: int = Field(description="The committed cursor: everything up to it was acknowledged")
    pending: int | None = Field(description="Publications after the cursor; null when the channel has none yet")
    created_at: datetime
    acked_at: datetime | None


class PresentOut(BaseModel):
    user_id: int | None
    peer: str
    connected_at: datetime
    queued_bytes: int = Field(description="Bytes waiting in the connection's outgoing buffer")


class PresenceOut(BaseModel):
    channel: str
    subscribers: int = Field(description="Connections subscribed on this server (each replica counts its own)")
    connections: list[PresentOut] | None = Field(description="Who they are: administrators only, otherwise null")
