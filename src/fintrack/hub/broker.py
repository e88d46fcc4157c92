"""The fan-out of committed publications to every live subscriber: in-process, or across replicas (Redis)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

log = structlog.get_logger("fintrack.hub")


@dataclass(frozen=True)
class Publication:
    """One committed publication, as subscribers receive it."""

    channel: str
    seq: int
    epoch: int
    producer_time: datetime | None
    ingest_time: datetime
    key: str | None
    payload: Any


Callback = Callable[[Sequence[Publication]], None]


class Broker(Protocol):
    async def publish(self, pubs: Sequence[Publication]) -> None:
        """Hand committed publications (in seq order per channel) to every subscriber."""

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call `callback(pubs)` on the event loop for every published batch; returns the unsubscribe function."""


class MemoryBroker:
    """The broker of a single process: publish calls every subscriber's callback at once, in order."""

    def __init__(self) -> None:
        self._callbacks: list[Callback] = []

    async def publish(self, pubs: Sequence[Publication]) -> None:
        if not pubs:
            return
        for callback in list(self._callbacks):
            try:
                callback(pubs)
            except Exception:
                # One broken subscriber must not keep the publications from the others.
                log.exception("hub subscriber failed", callback=getattr(callback, "__qualname__", repr(callback)))

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe
