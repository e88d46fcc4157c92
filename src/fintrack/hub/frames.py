"""RFC 6455 on the server's side, pure: the upgrade request's head, the 101 answer, and client frames.

Server frames (never masked) are built in fintrack.hub.protocol, once per publication.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from fintrack.hub.protocol import MAX_MESSAGE_BYTES, Close

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_REQUEST_BYTES = 16 * 1024


@dataclass(frozen=True)
class Request:
    """The head of an HTTP request: its target and its headers (names in lower case)."""

    target: str
    headers: dict[str, str]


class TooLarge(Exception):
    """The request's head is over MAX_REQUEST_BYTES."""


class FrameError(Exception):
    """A client frame the connection must be closed for, with this close code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def request(buffer: bytearray) -> Request | None:
    """The request whose head `buffer` starts with (left in it: see head_length); None until it is complete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_REQUEST_BYTES:
            raise TooLarge()
        return None
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Request(parts[1] if len(parts) == 3 else "", headers)


def head_length(buffer: bytearray) -> int:
    return buffer.find(b"\r\n\r\n") + 4


def accept(key: str) -> bytes | None:
    """The 101 answer to a version-13 handshake with this Sec-WebSocket-Key; None if the key is not one."""
    if len(key) != 24:
        return None
    digest = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())  # noqa: S324 (RFC 6455 says SHA-1)
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + digest + b"\r\n\r\n"
    )


def next_frame(buf: bytearray) -> tuple[bool, int, bytes] | None:
    """(fin, opcode, unmasked payload) of the first whole frame, removed from `buf`; None until one is whole.

    FrameError for what RFC 6455 forbids a client (unmasked frames, extension bits) and for frames over the
    hub's message limit — decided from the header, before the payload arrives.
    """
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    opcode, length, pos = b0 & 0x0F, b1 & 0x7F, 2
    if length == 126:
        if len(buf) < 4:
            return None
        length, pos = int.from_bytes(buf[2:4], "big"), 4
    elif length == 127:
        if len(buf) < 10:
            return None
        length, pos = int.from_bytes(buf[2:10], "big"), 10
    if b0 & 0x70 or not b1 & 0x80:
        raise FrameError(Close.PROTOCOL_ERROR, "client frames must be masked and use no extensions")
    if length > MAX_MESSAGE_BYTES:
        raise FrameError(Close.TOO_BIG, f"frame of {length} bytes; the limit is {MAX_MESSAGE_BYTES}")
    if len(buf) < pos + 4 + length:
        return None
    mask = bytes(buf[pos : pos + 4])
    payload = unmask(bytes(buf[pos + 4 : pos + 4 + length]), mask)
    del buf[: pos + 4 + length]
    return b0 & 0x80 != 0, opcode, payload


def unmask(data: bytes, mask: bytes) -> bytes:
    n = len(data)
    if n == 0:
        return data
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(data, "little") ^ key).to_bytes(n, "little")
