"""Idempotency keys for creating POSTs: a retried request gets the first response, not a second resource."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.auth.models import IdempotencyKey
from fintrack.deps import CurrentPrincipal, SessionDep
from fintrack.errors import Conflict


class KeyReused(Conflict):
    """This Idempotency-Key was already used with a different request."""

    code = "idempotency_key_reused"


class Idempotency:
    def __init__(self, session: AsyncSession, user_id: int, key: str | None, request_hash: str) -> None:
        self.session, self.user_id, self.key, self.request_hash = session, user_id, key, request_hash

    async def replay(self) -> JSONResponse | None:
        """The stored response for this key, or None to go ahead (holding a lock on the key until commit)."""
        if self.key is None:
            return None
        # Two concurrent retries with one key: the second waits here and then sees the first's result.
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, :u))"), {"k": self.key, "u": self.user_id}
        )
        found = await self.session.get(IdempotencyKey, (self.user_id, self.key))
        if found is None:
            return None
        if found.request_hash != self.request_hash:
            raise KeyReused(key=self.key)
        return JSONResponse(found.body, status_code=found.status, headers={"Idempotent-Replayed": "true"})

    async def save(self, status: int, body: Any) -> Any:
        if self.key is not None:
            self.session.add(
                IdempotencyKey(
                    user_id=self.user_id,
                    key=self.key,
                    request_hash=self.request_hash,
                    status=status,
                    body=jsonable_encoder(body),
                )
            )
            await self.session.flush()
        return body


async def _idempotency(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[str | None, Header(max_length=255, pattern=r"^[\x21-\x7e]+$")] = None,
) -> Idempotency:
    body = await request.body()
    digest = hashlib.sha256(
        json.dumps([request.method, request.url.path, str(request.query_params)]).encode() + b"\0" + body
    ).hexdigest()
    return Idempotency(session, principal.user.id, idempotency_key, digest)


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]
