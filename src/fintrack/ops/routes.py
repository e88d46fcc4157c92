"""/healthz (alive), /readyz (database reachable, migrations current) and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from fintrack.errors import error_body
from fintrack.ops import metrics

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    expected = request.app.state.head_revision
    try:
        async with request.app.state.db.engine.connect() as connection:
            # A database never migrated has no alembic_version table: that is "behind", not "down".
            current = None
            if await connection.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL")):
                current = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:
        return JSONResponse(
            error_body("not_ready", "the database is unreachable", {"reason": type(exc).__name__}), status_code=503
        )
    if current != expected:
        return JSONResponse(
            error_body(
                "not_ready",
                "migrations are not current: run `fintrack db upgrade`",
                {"database": current, "expected": expected},
            ),
            status_code=503,
        )
    return JSONResponse({"status": "ready", "migration": current})


@router.get("/metrics")
async def prometheus() -> Response:
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
