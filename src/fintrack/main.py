"""create_app(): routers, lifespan, middleware and the one place errors become JSON."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from fintrack import logs, migrate
from fintrack.auth.routes import router as auth_router
from fintrack.backup import status as backup_status
from fintrack.books.routes import router as books_router
from fintrack.budgets.routes import router as budgets_router
from fintrack.categorize.routes import router as categorize_router
from fintrack.db import Database
from fintrack.errors import DomainError, error_body
from fintrack.hub.broker import RedisBroker, for_settings
from fintrack.hub.routes import router as hub_router
from fintrack.hub.webhook_routes import router as hub_webhooks_router
from fintrack.imports.routes import profiles_router
from fintrack.imports.routes import router as imports_router
from fintrack.jobs.worker import InProcess
from fintrack.ledger.routes import router as ledger_router
from fintrack.ops import metrics
from fintrack.ops.middleware import BodyLimits, RequestContext
from fintrack.ops.routes import router as ops_router
from fintrack.recurring.routes import router as recurring_router
from fintrack.reports.routes import router as reports_router
from fintrack.rules.routes import router as rules_router
from fintrack.schemas import ErrorOut
from fintrack.settings import Settings, get_settings
from fintrack.transactions.routes import router as transactions_router
from fintrack.web import errors as web_errors
from fintrack.web import forms as web_forms
from fintrack.web import routes as web

log = structlog.get_logger("fintrack")
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """The whole HTTP service. Pass `database` to share an engine (tests); otherwise one is opened at start."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = database is None
        if own:
            from fintrack.db import database_url

            app.state.db = Database.connect(database_url(settings), settings.DB_POOL_SIZE)
        metrics.watch_pool(app.state.db.engine.pool.checkedout)
        broker = app.state.db.broker = app.state.hub_broker  # jobs run here publish their events through it
        if isinstance(broker, RedisBroker):
            await broker.start()
        background = InProcess(app.state.db, settings)
        # What start-up made (modules, routes, schemas, templates, catalogues) lives as long as the process: take
        # it out of the cyclic collector's sight, or every full collection walks it all again, a 150-200 ms pause
        # about once a second under load (bench/web_bench.py). Later garbage is collected as usual.
        gc.collect()
        gc.freeze()
        log.info("started", base_url=settings.BASE_URL, env=settings.FINTRACK_ENV, worker=settings.WORKER_IN_PROCESS)
        try:
            yield
        finally:
            await background.stop()  # lets a running job finish before the pool closes
            if isinstance(broker, RedisBroker):
                await broker.close()
            if own:
                await app.state.db.close()
                from fintrack import pgserver

                pgserver.release()

    app = FastAPI(
        title="FinTrack",
        version="0.1.0",
        lifespan=lifespan,
        description="Self-hosted household finance. Amounts are decimal strings; dates are ISO 8601; every "
        'error is `{"error": {"code", "message", "details"}}`.',
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url="/api/v1/redoc",
    )
    app.state.settings = settings
    app.state.head_revision = migrate.head_revision()
    app.state.hub_broker = for_settings(settings.REDIS_URL)  # committed publications go out through it
    metrics.watch_backups(partial(backup_status.gauges, settings.backup_dir))
    if database is not None:
        app.state.db = database
    logs.configure(settings)
    for router in (
        ops_router,
        hub_webhooks_router,  # early: alert bursts are the hottest route, and matching walks the list
        auth_router,
        books_router,
        ledger_router,
        transactions_router,
        reports_router,
        budgets_router,
        imports_router,
        profiles_router,
        categorize_router,
        rules_router,
        recurring_router,
        hub_router,
    ):
        # Documented once for every route: schemathesis and API clients rely on the error shape.
        app.include_router(router, responses={"4XX": {"model": ErrorOut, "description": "The error shape"}})
    web.install(app)  # the pages: after the API, so /api/... never reaches a page route
    app.add_middleware(
        BodyLimits,
        max_bytes=settings.MAX_BODY_BYTES,
        raw_paths=("/api/v1/imports", "/imports"),
        raw_max_bytes=settings.IMPORT_MAX_BYTES,
    )
    app.add_middleware(RequestContext)
    _error_handlers(app)
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if web_errors.is_page(request):
            return web_errors.render(request, exc.code, exc.status, exc)
        headers = {"Retry-After": str(exc.details["retry_after"])} if "retry_after" in exc.details else None
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [_problem(e) for e in exc.errors()]
        first = errors[0] if errors else {"field": "request", "message": "invalid"}
        if web_errors.is_page(request):
            said = web_forms.invalid_input(exc.errors()[0]) if exc.errors() else f"{first['field']}: {first['message']}"
            return web_errors.render(request, "validation_error", 422, said)
        return JSONResponse(
            error_body("validation_error", f"{first['field']}: {first['message']}", {"errors": errors}),
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        if web_errors.is_page(request) and exc.status_code in (404, 405):
            return web_errors.render(request, code, exc.status_code, web_errors.NO_SUCH_PAGE)
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = request.scope.get("state", {}).get("request_id")
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body(
                "internal_error", "something went wrong on our side; it has been logged", {"request_id": request_id}
            ),
            status_code=500,
        )


def _problem(error: Any) -> dict[str, Any]:
    loc = [str(p) for p in error.get("loc", ())]
    where = ".".join(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") and len(loc) > 1 else loc)
    return {
        "field": where or "body",
        "location": loc[0] if loc else None,
        "message": error.get("msg", "invalid"),
        "type": error.get("type"),
    }
