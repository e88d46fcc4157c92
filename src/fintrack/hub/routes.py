"""REST for the hub: publish (one or a batch), read history, list channels, and the namespaces admins set."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, status

from fintrack.auth.errors import AdminRequired
from fintrack.auth.service import Principal
from fintrack.deps import CurrentPrincipal, HubListener, HubPublisher, HubReader, HubSubscriber, SessionDep
from fintrack.hub import consumers, sse, store, ws
from fintrack.hub.policy import Caller, Namespace
from fintrack.hub.schemas import (
    ChannelOut,
    ConsumerIn,
    ConsumerOut,
    HistoryOut,
    NamespaceIn,
    NamespaceOut,
    PresenceOut,
    PresentOut,
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


@router.get(
    "/channels/{channel}/events",
    response_class=sse.EventStreamResponse,
    status_code=status.HTTP_200_OK,
    summary="Subscribe over Server-Sent Events: a channel's publications as text/event-stream, resumable",
    responses={
        200: {
            "description": "The stream: `pub` events with `id: <epoch>:<seq>`, `gap` events, keep-alives",
            "content": {"text/event-stream": {"schema": sse.EVENT_SCHEMA}},
        },
        # Errors come before the stream, as JSON (the router's default would document them as text/event-stream).
        "4XX": {
            "description": "The error shape",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
        },
    },
)
async def events(
    request: Request,
    channel: Channel,
    principal: HubSubscriber,
    session: SessionDep,
    last_event_id: Annotated[
        str | None, Header(description=f"Resume after this event: {sse.EVENT_ID_FORM}; wins over the query")
    ] = None,
    after_seq: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="Start after this seq")] = None,
    epoch: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="The epoch of after_seq")] = None,
    since: Annotated[IsoDateTime | None, Query(description="Start at publications ingested at or after this")] = None,
    latest_per_key: Annotated[bool, Query(description="Start with the newest publication of each key")] = False,
) -> sse.EventStreamResponse:
    start = sse.start_of(last_event_id, after_seq, epoch, since, latest_per_key)
    subscriber = ws.Principal(principal.user.id, principal.scopes, principal.user.is_admin, principal.channel_patterns)
    peer = f"{request.client.host}:{request.client.port}" if request.client else ""
    token = sse.credential(request.headers, request.query_params)
    return await sse.subscription(request.app, session, subscriber, channel, start, peer, token, principal.expires_at)


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


@router.get("/consumers", summary="Your durable consumers: each one's committed cursor and how far behind it is")
async def list_consumers(principal: HubListener, session: SessionDep) -> list[ConsumerOut]:
    found = await consumers.list_for(session, user=caller(principal))
    return [ConsumerOut(**dataclasses.asdict(c)) for c in found]


ConsumerName = Annotated[str, Path(min_length=1, max_length=200, examples=["bot-1"])]


@router.put(
    "/consumers/{channel}/{name}",
    summary="Create a durable consumer, or move its cursor (back too: after_seq 0 replays what is retained)",
)
async def put_consumer(
    channel: Channel, name: ConsumerName, body: ConsumerIn, principal: HubListener, session: SessionDep
) -> ConsumerOut:
    await consumers.put(session, channel, name, body.after_seq, user=caller(principal))
    found = [
        c for c in await consumers.list_for(session, user=caller(principal)) if (c.channel, c.name) == (channel, name)
    ]
    return ConsumerOut(**dataclasses.asdict(found[0]))


@router.delete(
    "/consumers/{channel}/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Forget a durable consumer; subscribing with its name again starts a new one",
)
async def delete_consumer(channel: Channel, name: ConsumerName, principal: HubListener, session: SessionDep) -> None:
    await consumers.delete(session, channel, name, user=caller(principal))


@router.get("/channels/{channel}/presence", summary="Who is subscribed to a channel: a count, and who for admins")
async def presence(request: Request, channel: Channel, principal: HubListener, session: SessionDep) -> PresenceOut:
    await store.require_listen(session, channel, user=caller(principal))
    present = ws.hub_of(request.app).present(channel)
    who = None
    if principal.user.is_admin:
        who = [
            PresentOut(
                user_id=c.who, peer=c.ident, connected_at=c.since, queued_bytes=c.transport.get_write_buffer_size()
            )
            for c in present
        ]
    return PresenceOut(channel=channel, subscribers=len(present), connections=who)
