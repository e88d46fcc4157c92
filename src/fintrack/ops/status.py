"""What the admin's system page shows: database size, the job queue, hub connections, backups."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.backup import status as backup_status
from fintrack.jobs import queries as jobs


@dataclass
class SystemStatus:
    database_bytes: int
    server_version: str
    jobs: list[tuple[str, str, int]]
    hub_connections: int
    backup: dict[str, Any]


async def system(session: AsyncSession, backup_dir: Path, hub_connections: int) -> SystemStatus:
    size = await session.scalar(text("SELECT pg_database_size(current_database())"))
    version = await session.scalar(text("SHOW server_version"))
    return SystemStatus(
        database_bytes=int(size or 0),
        server_version=str(version),
        jobs=await jobs.counts(session),
        hub_connections=hub_connections,
        backup=backup_status.read(backup_dir),
    )
