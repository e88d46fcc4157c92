"""The real app — its database, /ws and the API on one uvicorn port — served from a thread for tests that need a
real socket (the hub's WebSocket and Server-Sent Events tests)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from fintrack.db import Database
from fintrack.hub import ws
from fintrack.hub.server import Hub
from fintrack.main import create_app
from fintrack.settings import Settings


@dataclass
class Live:
    http: str
    port: int
    app: Any

    @property
    def hub(self) -> Hub:
        return self.app.state.hub  # type: ignore[no-any-return]


@dataclass
class Server:
    live: Live
    runner: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.runner.should_exit = True
        self.thread.join(timeout=15)


@contextlib.contextmanager
def serving(committed_url: str, settings: Settings, graceful: float = 5, **ws_options: Any) -> Iterator[Server]:
    """The real app with /ws on a free port, in a thread; uvicorn gives open requests `graceful` seconds at
    shutdown, then cancels them."""
    # The app gets its database: one it opened itself would stop the session's embedded server on shutdown.
    database = Database.connect(committed_url, pool_size=4)
    app = create_app(settings.model_copy(update={"DATABASE_URL": committed_url}), database=database)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws=ws.serving(app, **ws_options),
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=graceful,
    )
    runner = uvicorn.Server(config)

    async def serve() -> None:
        try:
            await runner.serve()
        finally:
            await database.close()  # on the loop its connections belong to

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not runner.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runner.started, "the test server did not start"
    server = Server(Live(f"http://127.0.0.1:{port}", port, app), runner, thread)
    try:
        yield server
    finally:
        server.stop()
