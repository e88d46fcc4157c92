"""What an import tells its user live, on their private hub channel `user.<id>` (see fintrack.hub.events).

Every status an import session reaches is an event `import.<status>` (queued, previewed, failed, committing,
committed, reverted), committed with that status; a background job's progress is an event `import.progress`.
All carry the import's id and share the key `import.<id>`, so "latest per key" is each import's current state.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.hub import events
from fintrack.imports.models import ImportSession


def _about(imported: ImportSession) -> dict[str, Any]:
    return {
        "import_id": imported.id,
        "book_id": imported.book_id,
        "account_id": imported.account_id,
        "filename": imported.filename,
    }


async def reached(session: AsyncSession, imported: ImportSession, **extra: Any) -> None:
    """The session reached its current status (emit at the end of the transaction that set it)."""
    if imported.user_id is None:
        return
    data = {**_about(imported), "status": imported.status, "summary": imported.summary, **extra}
    if imported.error is not None:
        data["error"] = imported.error
    await events.emit(
        session,
        imported.user_id,
        f"import.{imported.status}",
        data,
        key=f"import.{imported.id}",
    )


async def progress(session: AsyncSession, imported: ImportSession, stage: str, done: int, total: int) -> None:
    if imported.user_id is None:
        return
    data = {**_about(imported), "stage": stage, "done": done, "total": total}
    await events.emit(session, imported.user_id, "import.progress", data, key=f"import.{imported.id}")
