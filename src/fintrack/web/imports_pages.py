"""The import wizard: drop a file, check how it was read (and fix the CSV mapping), review the preview row by
row, commit with live progress, and revert from the history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from fintrack.deps import SessionDep, SettingsDep
from fintrack.errors import DomainError, InvalidInput, mark
from fintrack.hub import events as hub_events
from fintrack.imports import events as import_events
from fintrack.imports import profiles, queries
from fintrack.imports import service as imports
from fintrack.imports.schemas import CsvMapping, ImportRowOut
from fintrack.web import forms, lookups
from fintrack.web.render import Viewer, page, said, text
from fintrack.web.session import WebViewer

router = APIRouter(include_in_schema=False)
ImportId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
STATUSES = ("new", "transfer", "duplicate", "possible_duplicate", "deleted", "error")
PAGE = 100


async def _start_page(
    request: Request, me: Viewer, session: SessionDep, status: int = 200, **extra: Any
) -> HTMLResponse:
    assert me.access is not None
    return page(
        request,
        me,
        "imports.html",
        status,
        title=text(me, "Imports"),
        history=await queries.sessions(session, me.access.id, 50),
        accounts=await lookups.accounts(session, me.access),
        **extra,
    )


@router.get("/imports")
async def start(request: Request, me: WebViewer, session: SessionDep) -> HTMLResponse:
    return await _start_page(request, me, session)


@router.post("/imports")
async def upload(request: Request, me: WebViewer, session: SessionDep, settings: SettingsDep) -> Response:
    assert me.access is not None and me.user is not None
    try:
        async with request.form(max_part_size=settings.IMPORT_MAX_BYTES) as form:  # closes the spooled upload
            file = form.get("file")
            if not isinstance(file, UploadFile) or not file.filename:
                raise InvalidInput(text(me, "Choose a statement file."), field="file")
            account = str(form.get("account_id", ""))
            if not account.isdigit() or len(account) > 18:
                raise InvalidInput(text(me, "Choose the account the statement belongs to."), field="account_id")
            data, filename = await file.read(), file.filename[:255]
        async with session.begin_nested():
            imported = await imports.preview(
                session,
                me.access,
                int(account),
                data,
                user_id=me.user.id,
                filename=filename,
                background=len(data) > settings.IMPORT_BACKGROUND_BYTES,
            )
        await import_events.reached(session, imported)
    except DomainError as problem:
        return await _start_page(request, me, session, 422, error=said(me, problem))
    return RedirectResponse(f"/imports/{imported.id}", status_code=303)


def _mapping_form(options: dict[str, Any]) -> dict[str, Any] | None:
    """The detected CSV layout as the mapping form shows it: the header's columns and which one holds what."""
    detected = options.get("csv")
    if not detected:
        return None
    profile = detected.get("profile", {})
    header = profile.get("header") or [f"#{n + 1}" for n in range(profile.get("columns") or 0)]
    return {"header": header, "chosen": {c: profile.get(c) for c in profiles.COLUMNS}, "profile": profile}


@router.get("/imports/{import_id}")
async def preview(request: Request, me: WebViewer, session: SessionDep, import_id: ImportId) -> HTMLResponse:
    return await _preview(request, me, session, import_id)


async def _preview(
    request: Request, me: Viewer, session: SessionDep, import_id: int, status: int = 200, **extra: Any
) -> HTMLResponse:
    assert me.access is not None and me.user is not None
    imported = await imports.get(session, me.access, import_id)
    shown = request.query_params.get("status") or None
    if shown not in (None, *STATUSES):
        shown = None
    cursor = request.query_params.get("cursor", "")
    after = int(cursor) if cursor.isdigit() and len(cursor) < 19 else None
    rows = await queries.rows(session, imported.id, shown, after, PAGE + 1)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return page(
        request,
        me,
        "import.html",
        status,
        title=imported.filename or text(me, "Import"),
        imported=imported,
        rows=[ImportRowOut.of(r) for r in rows],
        next_cursor=str(rows[-1].id) if more else None,
        shown=shown,
        statuses=STATUSES,
        categories=await lookups.categories(session, me.access),
        accounts=await lookups.accounts(session, me.access),
        mapping=_mapping_form(imported.options),
        columns=profiles.COLUMNS,
        channel=hub_events.channel_of(me.user.id),
        **extra,
    )


@router.post("/imports/{import_id}/mapping")
async def remap(request: Request, me: WebViewer, session: SessionDep, import_id: ImportId) -> Response:
    assert me.access is not None
    data = await forms.fields(request)
    try:
        mapping: dict[str, Any] = {k: int(v) for k, v in data.items() if k in profiles.COLUMNS and str(v).isdigit()}
        for choice in ("date_order", "decimal", "name"):
            if data.get(choice):
                mapping[choice] = data[choice]
        mapping["flip_sign"] = data.get("flip_sign") == "1"
        mapping["save"] = data.get("save") == "1"
        body = forms.parse(CsvMapping, mapping)
        async with session.begin_nested():
            imported = await imports.remap(
                session, me.access, import_id, body.model_dump(exclude={"save"}), save=body.save
            )
        await import_events.reached(session, imported)
    except DomainError as problem:
        return await _preview(request, me, session, import_id, 422, error=said(me, problem))
    return RedirectResponse(f"/imports/{import_id}", status_code=303)


async def _row(request: Request, me: Viewer, session: SessionDep, import_id: int, row: Any) -> HTMLResponse:
    assert me.access is not None
    imported = await imports.get(session, me.access, import_id)
    return page(
        request,
        me,
        "_import_row.html",
        row=ImportRowOut.of(row),
        imported=imported,
        categories=await lookups.categories(session, me.access),
    )


@router.post("/imports/{import_id}/rows/{row_id}/decision")
async def decide(
    request: Request, me: WebViewer, session: SessionDep, import_id: ImportId, row_id: RowId
) -> HTMLResponse:
    assert me.access is not None
    choice = (await forms.fields(request)).get("decision") or None
    if choice not in (None, "import", "skip"):
        raise InvalidInput(mark("decision: import, skip or empty"), field="decision")
    row = await imports.decide(session, me.access, import_id, row_id, choice)
    return await _row(request, me, session, import_id, row)


@router.post("/imports/{import_id}/rows/{row_id}/category")
async def categorize(
    request: Request, me: WebViewer, session: SessionDep, import_id: ImportId, row_id: RowId
) -> HTMLResponse:
    assert me.access is not None
    chosen = str((await forms.fields(request)).get("category_id", ""))
    if chosen and (not chosen.isdigit() or len(chosen) > 18):
        raise InvalidInput(mark("category_id: not a category"), field="category_id")
    row = await imports.set_category(session, me.access, import_id, row_id, int(chosen) if chosen else None)
    return await _row(request, me, session, import_id, row)


@router.post("/imports/{import_id}/commit")
async def commit(
    request: Request, me: WebViewer, session: SessionDep, settings: SettingsDep, import_id: ImportId
) -> Response:
    assert me.access is not None
    imported = await imports.get(session, me.access, import_id)
    before = imported.status
    background = imported.summary.get("rows", 0) > settings.IMPORT_BACKGROUND_ROWS
    imported = await imports.commit(session, me.access, import_id, background=background)
    if imported.status != before:
        await import_events.reached(session, imported)
    return RedirectResponse(f"/imports/{import_id}", status_code=303)


@router.post("/imports/{import_id}/revert")
async def revert(request: Request, me: WebViewer, session: SessionDep, import_id: ImportId) -> Response:
    assert me.access is not None
    imported, removed, _ = await imports.revert(session, me.access, import_id)
    await import_events.reached(session, imported, removed=removed)
    return RedirectResponse("/imports", status_code=303)
