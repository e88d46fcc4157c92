"""The hub's Python SDK: publish over REST, subscribe over WebSocket with resume, reconnects and deduplication.

    async with HubClient("https://fintrack.example.com", token) as hub:
        await hub.publish("signals.btcusdt", {"side": "buy", "price": "97000.5"})
        async for event in hub.subscribe("signals.btcusdt", after_seq=41):
            if isinstance(event, Pub):
                print(event.seq, event.payload)

A subscription resumes after the last seq it delivered whenever the connection drops, so the caller sees every
retained publication once and in order; a `Gap` says what the hub no longer holds.

A bot that must not miss a signal even when it crashes uses a durable consumer: the hub keeps its position.

        async for event in hub.subscribe("signals.btcusdt", consumer="bot-1"):
            if isinstance(event, Pub):
                act_on(event)
                await hub.ack("signals.btcusdt", "bot-1", event.seq)
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

# Close codes after which reconnecting cannot help (docs/hub-protocol.md): the token or the request is wrong.
FATAL_CLOSES = {4001: "the token is unknown, revoked or expired", 4003: "the token may not do this"}
# Errors that announce a close a resumed subscription gets past (docs/hub-protocol.md, "Slow consumers").
RESUMABLE_ERRORS = {"slow_consumer"}


class HubError(Exception):
    """The hub refused something; `code` is the hub's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Pub:
    channel: str
    seq: int
    epoch: int
    time: str | None
    ingest_time: str
    key: str | None
    payload: Any


@dataclass(frozen=True, slots=True)
class Gap:
    """Publications from_seq..to_seq exist no more (retention) or were dropped for a slow connection."""

    channel: str
    from_seq: int
    to_seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class Published:
    seq: int
    epoch: int
    duplicate: bool


def _ws_url(base: str) -> str:
    parts = urlsplit(base)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", "", ""))


def _error(response: httpx.Response) -> HubError:
    try:
        body = response.json()["error"]
        return HubError(str(body["code"]), str(body["message"]))
    except (ValueError, KeyError, TypeError):
        return HubError(f"http_{response.status_code}", response.text[:200] or response.reason_phrase)


class HubClient:
    """One producer's or consumer's view of a hub at `url` (the FinTrack base URL) with a bearer token.

    REST calls go to `url`; subscriptions move on to the `failover` URLs (other replicas) when a connection fails.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 10.0,
        max_backoff: float = 30.0,
        failover: Sequence[str] = (),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.max_backoff = max_backoff
        # Other replicas of the same hub: a subscription whose connection fails tries the next one, in turn.
        self.failover = [u.rstrip("/") for u in failover]
        self.reconnects = 0  # subscription reconnection attempts after a drop, across all subscriptions
        self.repeats = 0  # publications the hub sent again around a reconnect, dropped here
        self._consuming: dict[tuple[str, str], Any] = {}  # (channel, consumer) → its open socket
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def publish(
        self,
        channel: str,
        payload: Any,
        *,
        key: str | None = None,
        idempotency_key: str | None = None,
    ) -> Published:
        """Publish one signal; it is acknowledged once it is committed to the hub's database."""
        item: dict[str, Any] = {"payload": payload}
        if key is not None:
            item["key"] = key
        if idempotency_key is not None:
            item["idempotency_key"] = idempotency_key
        return (await self.publish_many(channel, [item]))[0]

    async def publish_many(self, channel: str, items: list[dict[str, Any]]) -> list[Published]:
        """Publish a batch ({payload, key?, idempotency_key?, producer_time?} each) in one durable write."""
        response = await self._http.post(
            f"/api/v1/hub/channels/{quote(channel, safe='')}/publications", json={"publications": items}
        )
        if response.status_code != 201:
            raise _error(response)
        return [Published(int(r["seq"]), int(r["epoch"]), bool(r.get("duplicate"))) for r in response.json()]

    async def history(self, channel: str, *, after_seq: int | None = None, limit: int = 100) -> list[Pub]:
        params: dict[str, Any] = {"limit": limit}
        if after_seq is not None:
            params["after_seq"] = after_seq
        response = await self._http.get(f"/api/v1/hub/channels/{quote(channel, safe='')}/publications", params=params)
        if response.status_code != 200:
            raise _error(response)
        body = response.json()
        items = body["publications"] if isinstance(body, dict) else body
        return [_pub({"channel": channel, **item}) for item in items]

    async def ack(self, channel: str, consumer: str, seq: int) -> bool:
        """Acknowledge everything up to `seq` for a durable consumer being read by `subscribe(consumer=…)`.

        Returns False when its connection is down: nothing is lost, the hub delivers what was not acknowledged
        again after the reconnect (and a later ack covers this one: acks are cumulative).
        """
        ws = self._consuming.get((channel, consumer))
        if ws is None:
            return False
        try:
            await ws.send(json.dumps({"type": "ack", "channel": channel, "consumer": consumer, "seq": seq}))
        except ConnectionClosed:
            return False
        return True

    async def subscribe(
        self,
        channel: str,
        *,
        after_seq: int | None = None,
        epoch: int | None = None,
        consumer: str | None = None,
    ) -> AsyncIterator[Pub | Gap]:
        """Every publication of `channel` after `after_seq` (or only new ones), across reconnects, once each.

        The connection is reopened with exponential backoff and jitter — on the next `failover` URL when there
        are any; each time it resumes after the last seq delivered, and publications the hub sends twice around a
        reconnect are dropped here by seq. A refused subscription raises `HubError`; a close that reconnecting
        can fix (a slow consumer, a replica shutting down, history briefly unreadable) does not.

        With `consumer`, the hub keeps the position instead (a durable consumer: `after_seq` only places a new
        one): after a reconnect it delivers again everything not acknowledged with `ack` — at least once.
        """
        last, known_epoch, attempt = after_seq, epoch, 0
        bases = [self.url, *self.failover]
        turn = 0
        while True:
            start: Any = (
                "new" if last is None else {"after_seq": last, **({"epoch": known_epoch} if known_epoch else {})}
            )
            request: dict[str, Any] = {"type": "subscribe", "channel": channel, "from": start, "ref": 1}
            if consumer is not None:
                request["consumer"] = consumer
                last = None  # the hub resumes after the consumer's cursor: what was not acked comes again
            try:
                async with websockets.connect(
                    _ws_url(bases[turn % len(bases)]),
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    max_size=2**20,
                    open_timeout=10,
                ) as ws:
                    await ws.send(json.dumps(request))
                    if consumer is not None:
                        self._consuming[(channel, consumer)] = ws
                    async for raw in ws:
                        message = json.loads(raw)
                        kind = message.get("type")
                        if kind == "error":
                            refusal = str(message.get("code"))
                            if refusal == "history_unavailable":
                                break  # the replica could not read history just now: resubscribe
                            if refusal not in RESUMABLE_ERRORS:
                                raise HubError(refusal, str(message.get("message")))
                            # A slow consumer's close follows; the resume below starts after the last seq yielded.
                        elif kind == "subscribed":
                            attempt = 0
                            if consumer is not None and message.get("epoch") is not None:
                                known_epoch = int(message["epoch"])
                        elif kind == "pub" and message.get("channel") == channel:
                            pub = _pub(message)
                            if known_epoch is not None and pub.epoch != known_epoch:
                                last = None  # the channel was reset: its seqs start again
                            known_epoch = pub.epoch
                            if last is not None and pub.seq <= last:
                                self.repeats += 1
                                continue
                            last = pub.seq
                            yield pub
                        elif kind == "gap" and message.get("channel") == channel:
                            last = max(last or 0, int(message["to_seq"]))
                            yield Gap(channel, int(message["from_seq"]), int(message["to_seq"]), str(message["reason"]))
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                if code in FATAL_CLOSES:
                    raise HubError(f"closed_{code}", FATAL_CLOSES[code]) from None
            except InvalidStatus as exc:
                if exc.response.status_code in (401, 403):
                    raise HubError(f"http_{exc.response.status_code}", "the hub refused the token") from None
            except (TimeoutError, OSError, InvalidHandshake):
                pass
            finally:
                if consumer is not None:
                    self._consuming.pop((channel, consumer), None)
            attempt += 1
            turn += 1
            self.reconnects += 1
            await asyncio.sleep(min(self.max_backoff, 0.25 * 2**attempt) * (0.5 + random.random() / 2))


def _pub(message: dict[str, Any]) -> Pub:
    return Pub(
        channel=str(message["channel"]),
        seq=int(message["seq"]),
        epoch=int(message["epoch"]),
        time=message.get("time"),
        ingest_time=str(message.get("ingest_time")),
        key=message.get("key"),
        payload=message.get("payload"),
    )
