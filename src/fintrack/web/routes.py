"""The web UI's routes, and the static bundle, mounted on the app."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from fintrack.web import (
    admin_pages,
    auth_pages,
    home,
    imports_pages,
    ledger_pages,
    planning_pages,
    reports_pages,
    rules_pages,
    signals_pages,
    transactions_pages,
)
from fintrack.web.render import STATIC

router = APIRouter(include_in_schema=False)
for pages in (
    auth_pages,
    home,
    ledger_pages,
    transactions_pages,
    imports_pages,
    rules_pages,
    planning_pages,
    reports_pages,
    signals_pages,
    admin_pages,
):
    router.include_router(pages.router)


class Bundle(StaticFiles):
    """The built front-end: its URLs carry a content hash (render.asset), so it may be cached for a year."""

    async def get_response(self, path: str, scope: Scope) -> Any:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def install(app: FastAPI) -> None:
    app.include_router(router)
    # Compressed here, not only by a proxy: `fintrack serve` alone ships 211 KiB of JavaScript, not 623.
    app.mount("/static", GZipMiddleware(Bundle(directory=STATIC, check_dir=False), minimum_size=1024), name="static")
