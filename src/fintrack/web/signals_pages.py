"""Signals: a live feed of a channel the user may read, resuming after a dropped connection (and saying so),
with the channel's recent history below it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fintrack.deps import SessionDep
from fintrack.hub import store
from fintrack.hub.policy import Caller
from fintrack.web.render import page, text
from fintrack.web.session import WebViewer

router = APIRouter(include_in_schema=False)
HISTORY = 100


@router.get("/signals")
async def signals(request: Request, me: WebViewer, session: SessionDep) -> HTMLResponse:
    assert me.user is not None and me.principal is not None
    caller = Caller(user_id=me.user.id, scopes=me.principal.scopes, is_admin=me.user.is_admin, channel_patterns=None)
    channels = await store.readable_channels(session, user=caller)
    names = [c.name for c in channels]
    own = f"user.{me.user.id}"
    wanted = request.query_params.get("channel")
    chosen = wanted if wanted in names else next((n for n in names if not n.startswith("user.")), own)
    info = next((c for c in channels if c.name == chosen), None)
    recent = []
    if info is not None and info.last_seq:
        found = await store.read(session, chosen, max(0, info.last_seq - HISTORY), None, HISTORY, user=caller)
        recent = list(reversed(found.publications))
    return page(
        request,
        me,
        "signals.html",
        title=text(me, "Signals"),
        channels=channels,
        chosen=chosen,
        recent=recent,
        own=own,
    )
