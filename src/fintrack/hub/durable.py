"""Durable consumers on a hub socket: subscribe as a named consumer, resume after its committed cursor, ack.

A mixin of fintrack.hub.ws.HubProtocol (the socket); the cursors themselves live in fintrack.hub.consumers.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

from fintrack.hub import protocol as wire
from fintrack.hub.protocol import ProtocolError

if TYPE_CHECKING:
    from fintrack.hub.server import Connection, Hub
    from fintrack.hub.ws import Consumers, Principal

log = structlog.get_logger("fintrack.hub")
_acking: set[asyncio.Task[None]] = set()  # ack commits outlive their socket


class DurableConsumers:
    hub: Hub
    conn: Connection | None
    principal: Principal | None
    consumers: Consumers | None
    holders: dict[tuple[int, str, str], DurableConsumers]  # (user, channel, consumer) → the socket reading it
    attached: dict[str, str]  # channel → the durable consumer this socket reads it as
    acks: dict[tuple[str, str], tuple[int, list[str | int | None]]]  # waiting for the next commit
    acking: bool

    def _send(self, data: bytes) -> None: ...
    def _violation(self, problem: ProtocolError) -> None: ...

    async def _subscribe_consumer(self, msg: wire.Subscribe, channel: str, name: str) -> None:
        """Resume after the consumer's committed cursor; never drop or conflate (delivery is at least once)."""
        assert self.conn is not None and self.principal is not None
        consumers = type(self).consumers
        if consumers is None:
            self._send(wire.error("not_supported", "this hub keeps no durable consumers", msg.ref))
            return
        after = msg.start.seq if isinstance(msg.start, wire.AfterSeq) else None
        try:
            epoch, acked, reset_after = await consumers.attach(self.principal, channel, name, after)
        except ProtocolError as problem:
            self._send(wire.error(problem.code, problem.message, msg.ref, channel=channel))
            return
        if self.conn.closed or channel in self.conn.subs:
            return
        key = (self.principal.user_id, channel, name)
        holder = type(self).holders.get(key)
        if holder is not None and holder is not self and holder.conn is not None:
            # The newest socket wins: the old one may be a half-open connection the bot already gave up on.
            holder.hub.unsubscribe(holder.conn, channel)
            holder.attached.pop(channel, None)
            holder._send(wire.error("consumer_taken", f"consumer {name} is now read by another connection"))
        type(self).holders[key] = self
        self.attached[channel] = name
        self._send(wire.message("subscribed", msg.ref, channel=channel, consumer=name, epoch=epoch, acked_seq=acked))
        if reset_after is not None:
            self._send(wire.gap(channel, reset_after + 1, reset_after + 1, "epoch_changed"))
        try:
            await self.hub.subscribe(self.conn, channel, wire.AfterSeq(acked, epoch), "disconnect")
        except Exception:
            log.exception("hub subscribe failed", channel=channel, consumer=name)
            self._send(wire.error("history_unavailable", f"could not read the history of {channel}", msg.ref))

    def _ack(self, msg: wire.Ack) -> None:
        """Acks wait for one commit at a time; those that arrive meanwhile share the next (the highest seq)."""
        if self.attached.get(msg.channel) != msg.consumer:
            text = f"this connection does not read {msg.channel} as consumer {msg.consumer}; subscribe with it first"
            self._violation(ProtocolError("not_subscribed", text, msg.ref))
            return
        seq, refs = self.acks.get((msg.channel, msg.consumer), (0, []))
        self.acks[(msg.channel, msg.consumer)] = (max(seq, msg.seq), [*refs, msg.ref])
        if not self.acking:
            self.acking = True
            # Not in self.tasks: acks that arrived before the client closed are committed even after the close.
            task = asyncio.ensure_future(self._commit_acks())
            _acking.add(task)
            task.add_done_callback(_acking.discard)

    async def _commit_acks(self) -> None:
        consumers = type(self).consumers
        assert consumers is not None and self.principal is not None
        try:
            while self.acks:
                (channel, name), (seq, refs) = self.acks.popitem()
                try:
                    acked = await consumers.ack(self.principal, channel, name, seq)
                except ProtocolError as problem:
                    for ref in refs:
                        self._send(wire.error(problem.code, problem.message, ref, channel=channel, consumer=name))
                    continue
                except Exception:
                    log.exception("hub ack failed", channel=channel, consumer=name)
                    for ref in refs:
                        self._send(wire.error("unavailable", "the ack was not committed; send it again", ref))
                    continue
                for ref in refs:
                    self._send(wire.message("acked", ref, channel=channel, consumer=name, seq=acked))
        finally:
            self.acking = False

    def _release_consumers(self, channel: str | None = None) -> None:
        if self.principal is None:
            return
        for ch in [channel] if channel is not None else list(self.attached):
            name = self.attached.pop(ch, None) if ch is not None else None
            key = (self.principal.user_id, ch or "", name or "")
            if name is not None and type(self).holders.get(key) is self:
                del type(self).holders[key]
