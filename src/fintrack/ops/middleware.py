"""Pure ASGI middleware: request id, access log, metrics, body size, content-type and NUL limits."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fintrack.errors import error_body
from fintrack.ops.metrics import HTTP_DURATION, HTTP_REQUESTS

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_JSON = re.compile(r"^application/([a-z0-9.+-]*\+)?json\s*(;.*)?$", re.IGNORECASE)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# A JSON \u0000 escape (not an escaped backslash followed by "u0000").
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
log = structlog.get_logger("fintrack.http")


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RequestContext:
    """Outermost: gives each request an id, logs it once and counts it by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        started = time.perf_counter()
        answered: float | None = None  # when an event stream started: its lifetime is not a latency

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                if dict(message.get("headers", [])).get(b"content-type", b"").startswith(b"text/event-stream"):
                    answered = time.perf_counter()
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_DURATION.labels(method, template).observe(elapsed if answered is None else answered - started)
            if template not in ("/healthz", "/metrics"):
                log.info(
                    "request",
                    method=method,
                    path=scope["path"],
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    user_id=scope["state"].get("user_id"),
                )
            structlog.contextvars.unbind_contextvars("request_id")


class BodyLimits:
    """Refuse oversized bodies (413) and non-JSON bodies on the API (415) before any handler runs.

    The body is read here up to the limit, so a client lying about Content-Length (or sending chunks) is
    caught too; handlers then see the buffered body.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        json_prefix: str = "/api/",
        raw_paths: tuple[str, ...] = (),
        raw_max_bytes: int | None = None,
    ) -> None:
        """raw_paths take any bytes (statement files) up to raw_max_bytes; the rest of the API takes JSON."""
        self.app, self.max_bytes, self.json_prefix, self.raw_paths = app, max_bytes, json_prefix, raw_paths
        self.raw_max_bytes = raw_max_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            await _nul_refused(send, "query")
            return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        path: str = scope["path"]
        raw = bool(self.raw_paths) and path.startswith(self.raw_paths)
        limit = self.raw_max_bytes if raw else self.max_bytes
        declared = headers.get(b"content-length")
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            await send_json(send, 400, error_body("bad_request", "Content-Length is not a number"))
            return
        if length is not None and length > limit:
            await self._too_large(send, limit)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and path.startswith(self.json_prefix) and not raw:
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if not _JSON.match(content_type):
                await send_json(
                    send,
                    415,
                    error_body(
                        "unsupported_media_type",
                        "send the body as JSON with Content-Type: application/json",
                        {"content_type": content_type or None},
                    ),
                )
                return
            if b"\\u0000" in body and _NUL_ESCAPE.search(body):
                await _nul_refused(send, "body")
                return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, limit: int) -> None:
        await send_json(
            send, 413, error_body("body_too_large", f"the request body exceeds {limit} bytes", {"max_bytes": limit})
        )


async def _nul_refused(send: Send, location: str) -> None:
    # PostgreSQL text cannot hold NUL: refused here, it would fail in the database as a 500.
    await send_json(
        send,
        422,
        error_body("invalid", "text must not contain NUL (\\u0000) characters", {"location": location}),
    )
