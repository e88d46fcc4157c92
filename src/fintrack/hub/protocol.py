"""The hub's WebSocket protocol: client messages decoded strictly, server messages and frames encoded once."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

MAX_MESSAGE_BYTES = 64 * 1024
MAX_CHANNEL_LENGTH = 200
MAX_TOKEN_LENGTH = 512


class Close:
    """WebSocket close codes the hub sends; 4xxx are ours (documented in docs/hub-protocol.md)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    TOO_BIG = 1009
    AUTH = 4001  # no, invalid, expired or revoked token
    FORBIDDEN = 4003  # the token lacks the scope for what was asked
    POLICY = 4008  # repeated protocol violations
    SLOW_CONSUMER = 4009  # outgoing buffer overflowed under the disconnect policy
    RATE_LIMITED = 4029  # too many client messages


class ProtocolError(Exception):
    """A client frame the hub cannot accept; `code` and `message` go back to the client in an `error`."""

    def __init__(self, code: str, message: str, ref: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


# --- client → server -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AfterSeq:
    seq: int
    epoch: int | None = None


@dataclass(frozen=True, slots=True)
class Since:
    time: datetime


@dataclass(frozen=True, slots=True)
class LatestPerKey:
    pass


@dataclass(frozen=True, slots=True)
class New:
    pass


Start = AfterSeq | Since | LatestPerKey | New


@dataclass(frozen=True, slots=True)
class Auth:
    token: str
    ref: str | int | None = None


@dataclass(frozen=True, slots=True)
class Refresh:
    token: str
    ref: str | int | None = None


@dataclass(frozen=True, slots=True)
class Subscribe:
    channel: str | None
    pattern: str | None
    start: Start
    ref: str | int | None = None
    consumer: str | None = None  # a durable consumer: resume after its committed cursor


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    channel: str | None
    pattern: str | None
    ref: str | int | None = None


@dataclass(frozen=True, slots=True)
class Ping:
    ref: str | int | None = None


@dataclass(frozen=True, slots=True)
class Ack:
    channel: str
    consumer: str
    seq: int
    ref: str | int | None = None


@dataclass(frozen=True, slots=True)
class Publish:
    channel: str
    payload: Any
    idempotency_key: str | None = None
    ref: str | int | None = None
    key: str | None = None  # the conflation key (latest per key)
    time: datetime | None = None  # the producer's time


ClientMessage = Auth | Refresh | Subscribe | Unsubscribe | Ping | Ack | Publish
TYPES = ("auth", "refresh", "subscribe", "unsubscribe", "ping", "ack", "publish")


def decode(data: bytes | str) -> ClientMessage:
    """One client text message → a message object; anything wrong raises ProtocolError naming the problem."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_big", f"message is {len(data)} bytes; the limit is {MAX_MESSAGE_BYTES}")
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ProtocolError("malformed_json", f"not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_message", f"a message must be a JSON object, not {_kind(obj)}")
    ref = obj.get("ref")
    if ref is not None and (isinstance(ref, bool) or not isinstance(ref, str | int) or len(str(ref)) > 64):
        raise ProtocolError("bad_field", "ref: must be a string or integer of at most 64 characters")
    kind = obj.get("type")
    if kind is None:
        raise ProtocolError("bad_message", "missing field 'type'", ref)
    if not isinstance(kind, str) or kind not in TYPES:
        raise ProtocolError("unknown_type", f"unknown type {str(kind)[:40]!r}; expected one of {', '.join(TYPES)}", ref)
    if kind == "ping":
        return Ping(ref)
    if kind in ("auth", "refresh"):
        token = _string(obj, "token", ref, MAX_TOKEN_LENGTH)
        return Auth(token, ref) if kind == "auth" else Refresh(token, ref)
    if kind in ("subscribe", "unsubscribe"):
        channel, pattern = _target(obj, ref)
        if kind == "unsubscribe":
            return Unsubscribe(channel, pattern, ref)
        start = _start(obj.get("from", "new"), ref)
        if pattern is not None and not isinstance(start, New):
            raise ProtocolError("bad_field", 'from: a pattern subscription only supports "new"', ref)
        consumer = _optional_string(obj, "consumer", ref)
        if consumer is not None and pattern is not None:
            raise ProtocolError("bad_field", "consumer: a durable consumer reads one channel, not a pattern", ref)
        if consumer is not None and not isinstance(start, New | AfterSeq):
            raise ProtocolError("bad_field", 'from: a new consumer starts at "new" or {"after_seq": N}', ref)
        return Subscribe(channel, pattern, start, ref, consumer)
    if kind == "ack":
        return Ack(
            _channel(obj.get("channel"), "channel", ref),
            _string(obj, "consumer", ref, MAX_CHANNEL_LENGTH),
            _seq(obj.get("seq"), "seq", ref),
            ref,
        )
    channel = _channel(obj.get("channel"), "channel", ref)
    if "payload" not in obj:
        raise ProtocolError("bad_message", "missing field 'payload'", ref)
    idempotency_key, key = _optional_string(obj, "idempotency_key", ref), _optional_string(obj, "key", ref)
    time = obj.get("time")
    return Publish(
        channel, obj["payload"], idempotency_key, ref, key, None if time is None else _time(time, "time", ref)
    )


def _optional_string(obj: dict[str, Any], field: str, ref: str | int | None) -> str | None:
    value = obj.get(field)
    if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 200):
        raise ProtocolError("bad_field", f"{field}: must be a string of 1 to 200 characters", ref)
    return value


def _time(value: Any, field: str, ref: str | int | None) -> datetime:
    try:
        if not isinstance(value, str) or len(value) > 40:
            raise ValueError
        time = datetime.fromisoformat(value)
    except ValueError:
        raise ProtocolError("bad_field", f"{field}: must be an ISO 8601 time with a UTC offset", ref) from None
    if time.tzinfo is None:
        raise ProtocolError("bad_field", f"{field}: must be an ISO 8601 time with a UTC offset", ref)
    return time


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _string(obj: dict[str, Any], field: str, ref: str | int | None, limit: int) -> str:
    value = obj.get(field)
    if value is None:
        raise ProtocolError("bad_message", f"missing field {field!r}", ref)
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise ProtocolError("bad_field", f"{field}: must be a string of 1 to {limit} characters", ref)
    return value


def _channel(value: Any, field: str, ref: str | int | None, wildcard: bool = False) -> str:
    if value is None:
        raise ProtocolError("bad_message", f"missing field {field!r}", ref)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_CHANNEL_LENGTH:
        raise ProtocolError("bad_field", f"{field}: must be a string of 1 to {MAX_CHANNEL_LENGTH} characters", ref)
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:" + ("*" if wildcard else ""))
    if not set(value) <= allowed or value.startswith(".") or value.endswith(".") or ".." in value:
        extra = " and *" if wildcard else ""
        raise ProtocolError(
            "bad_channel", f"{field}: {value[:60]!r} may hold only letters, digits, . _ - :{extra} between dots", ref
        )
    return value


def _target(obj: dict[str, Any], ref: str | int | None) -> tuple[str | None, str | None]:
    has_channel, has_pattern = "channel" in obj, "pattern" in obj
    if has_channel == has_pattern:
        raise ProtocolError("bad_message", "give exactly one of 'channel' or 'pattern'", ref)
    if has_channel:
        return _channel(obj["channel"], "channel", ref), None
    pattern = _channel(obj["pattern"], "pattern", ref, wildcard=True)
    if "*" not in pattern:
        raise ProtocolError("bad_channel", "pattern: has no '*'; subscribe to a single channel with 'channel'", ref)
    return None, pattern


def _seq(value: Any, field: str, ref: str | int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise ProtocolError("bad_field", f"{field}: must be an integer from 0 to 2^63-1", ref)
    return value


def _start(value: Any, ref: str | int | None) -> Start:
    if value == "new":
        return New()
    if not isinstance(value, dict) or len(value) == 0:
        raise ProtocolError(
            "bad_field",
            'from: must be "new", {"after_seq": N, "epoch": E}, {"since": ISO time} or {"latest_per_key": true}',
            ref,
        )
    if "after_seq" in value:
        if set(value) - {"after_seq", "epoch"}:
            raise ProtocolError("bad_field", "from: after_seq goes only with epoch", ref)
        epoch = value.get("epoch")
        return AfterSeq(
            _seq(value["after_seq"], "from.after_seq", ref), None if epoch is None else _seq(epoch, "from.epoch", ref)
        )
    if "since" in value:
        return Since(_time(value["since"], "from.since", ref))
    if value.get("latest_per_key") is True and len(value) == 1:
        return LatestPerKey()
    raise ProtocolError("bad_field", f"from: unknown resume position {sorted(value)[:3]}", ref)


# --- server → client -------------------------------------------------------------------------------------


class PublicationLike(Protocol):
    """What the engine needs of a publication (fintrack.hub.broker.Publication has it)."""

    @property
    def channel(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def epoch(self) -> int: ...
    @property
    def producer_time(self) -> datetime | None: ...
    @property
    def ingest_time(self) -> datetime: ...
    @property
    def key(self) -> str | None: ...
    @property
    def payload(self) -> Any: ...


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def pub(p: PublicationLike) -> bytes:
    """The `pub` message: built once per publication and shared by every subscriber."""
    return dumps(
        {
            "type": "pub",
            "channel": p.channel,
            "seq": p.seq,
            "epoch": p.epoch,
            "time": p.producer_time.isoformat() if p.producer_time else None,
            "ingest_time": p.ingest_time.isoformat(),
            "key": p.key,
            "payload": p.payload,
        }
    )


def message(kind: str, ref: str | int | None = None, **fields: Any) -> bytes:
    body: dict[str, Any] = {"type": kind, **fields}
    if ref is not None:
        body["ref"] = ref
    return dumps(body)


def error(code: str, text: str, ref: str | int | None = None, **details: Any) -> bytes:
    return message("error", ref, code=code, message=text, **details)


def gap(channel: str, from_seq: int, to_seq: int, reason: str) -> bytes:
    return message("gap", channel=channel, from_seq=from_seq, to_seq=to_seq, reason=reason)


# --- WebSocket framing (RFC 6455): server frames are never masked -------------------------------------------


def frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A whole (FIN) unmasked frame; text by default."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def close_frame(code: int, reason: str = "") -> bytes:
    return frame(struct.pack("!H", code) + reason.encode()[:120], 0x8)


PING_FRAME = frame(b"", 0x9)
