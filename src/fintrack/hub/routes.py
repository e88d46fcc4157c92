"""REST for the hub: publish (one or a batch), read history, list channels, and the namespaces admins set."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from fintrack.auth.errors import AdminRequired
from fintrack.auth.service import Principal
from fintrack.deps import CurrentPrincipal, HubListener, HubPublisher, HubReader, SessionDep
from fintrack.hub import store
from fintrack.hub.policy import Caller, Namespace
from fintrack.hub.schemas import (
    ChannelOut,
    HistoryOut,
    NamespaceIn,
    NamespaceOut,
    PublicationBatch,
    PublicationIn,
    PublicationOut,
    PublishedOut,
)
from fintrack.schemas import IsoDateTime

router = APIRouter(prefix="/api/v1/hub", tags=["hub"])
Channel = Annotated[str, Path(min_length=1, max_length=200, examples=["signals.btcusdt"])]


def caller(principal: Principal) -> Caller:
    return Caller(
        user_id=principal.user.id,
        scopes=principal.scopes,
        is_admin=principal.user.is_admin,
        channel_patterns=principal.channel_patterns,
    )


@router.post(
    "/channels/{channel}/publications",
    status_code=status.HTTP_201_CREATED,
    summary="Publish one publication or a batch; answered only once they are durable",
)
async def publish(
    request: Request,
    channel: Channel,
    body: PublicationIn | PublicationBatch,
    principal: HubPublisher,
    session: SessionDep,
) -> list[PublishedOut]:
    sent = body.publications if isinstance(body, PublicationBatch) else [body]
    items = [store.Item(p.payload, p.key, p.idempotency_key, p.producer_time) for p in sent]
    published = await store.append(session, channel, items, user=caller(principal), broker=request.app.state.hub_broker)
    return [PublishedOut(seq=p.seq, epoch=p.epoch, duplicate=p.duplicate) for p in published]


@router.get("/channels/{channel}/publications", summary="A channel's retained history, in seq order")
async def history(
    channel: Channel,
    principal: HubReader,
    session: SessionDep,
    after_seq: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="Only publications after this seq")] = None,
    since: Annotated[IsoDateTime | None, Query(description="Only publications ingested at or after this time")] = None,
    limit: Annotated[int, Query(ge=1, le=store.MAX_READ)] = 100,
    latest_per_key: Annotated[bool, Query(description="Only the newest publication of each key")] = False,
) -> HistoryOut:
    if latest_per_key:
        found = await store.latest_per_key(session, channel, limit, user=caller(principal))
    else:
        found = await store.read(session, channel, after_seq, since, limit, user=caller(principal))
    return HistoryOut(
        channel=found.channel,
        epoch=found.epoch,
        last_seq=found.last_seq,
        oldest_seq=found.oldest_seq,
        gap=found.gap,
        publications=[PublicationOut(**dataclasses.asdict(p)) for p in found.publications],
    )


@router.get("/channels", summary="The channels you may subscribe to or read, with their last seq")
async def channels(principal: HubListener, session: SessionDep) -> list[ChannelOut]:
    found = await store.readable_channels(session, user=caller(principal))
    return [ChannelOut(**dataclasses.asdict(c)) for c in found]


@router.get("/namespaces", summary="Namespace policies, built-in ones included (admins)")
async def namespaces(principal: CurrentPrincipal, session: SessionDep) -> list[NamespaceOut]:
    if not principal.user.is_admin:
        raise AdminRequired()
    return [NamespaceOut(**dataclasses.asdict(ns)) for ns in await store.namespaces(session)]


@router.put("/namespaces", summary="Create or replace the policy of a namespace pattern (admins)")
async def put_namespace(body: NamespaceIn, principal: CurrentPrincipal, session: SessionDep) -> NamespaceOut:
    if not principal.user.is_admin:
        raise AdminRequired()
    ns = await store.put_namespace(session, Namespace(**body.model_dump()))
    return NamespaceOut(**dataclasses.asdict(ns))
