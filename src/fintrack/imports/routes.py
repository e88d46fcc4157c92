"""HTTP routes for import sessions: upload (the file is the request body), preview rows, commit, revert."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, status

from fintrack.deps import CurrentBook, CurrentPrincipal, SessionDep, SettingsDep
from fintrack.idempotency import IdempotencyDep
from fintrack.imports import events as import_events
from fintrack.imports import queries
from fintrack.imports import service as imports
from fintrack.imports.models import ImportSession
from fintrack.imports.schemas import (
    CsvMapping,
    ImportOut,
    ImportRowOut,
    ImportSummary,
    ProfileOut,
    RevertOut,
    RowCategory,
    RowDecision,
)
from fintrack.schemas import Page

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
profiles_router = APIRouter(prefix="/api/v1/import-profiles", tags=["imports"])
ImportId = Annotated[int, Path(ge=1, le=2**63 - 1)]
BACKGROUND = (
    "true: a worker does it and the session comes back queued/committing (poll it for `progress`); "
    "false: done in this request; unset: in the background for large files"
)
UPLOAD = {
    "requestBody": {
        "required": True,
        "description": "The statement file's bytes, as they are (CSV, OFX/QFX/OFC, QIF, CAMT or MT940).",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def import_out(s: ImportSession) -> ImportOut:
    return ImportOut(
        id=s.id,
        account_id=s.account_id,
        filename=s.filename,
        format=s.format,
        encoding=s.encoding,
        status=s.status,
        declared_count=s.declared_count,
        summary=ImportSummary(**s.summary),
        notices=s.notices,
        created_at=s.created_at,
        committed_at=s.committed_at,
        reverted_at=s.reverted_at,
        options=s.options,
        profile_id=s.profile_id,
        progress=s.progress,
        error=s.error,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=UPLOAD,
    summary="Upload a statement into an account and get its preview (nothing is written until commit)",
)
async def create_import(
    request: Request,
    book: CurrentBook,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    idem: IdempotencyDep,
    account_id: Annotated[int, Query(ge=1, le=2**63 - 1)],
    filename: Annotated[str | None, Query(max_length=255)] = None,
    format: Annotated[Literal["csv", "ofx", "qif", "camt", "mt940"] | None, Query()] = None,
    statement_account: Annotated[str | None, Query(max_length=100)] = None,
    date_order: Annotated[Literal["dmy", "mdy", "ymd"] | None, Query()] = None,
    background: Annotated[bool | None, Query(description=BACKGROUND)] = None,
) -> ImportOut:
    if replay := await idem.replay():
        return replay  # type: ignore[return-value]
    data = await request.body()
    imported = await imports.preview(
        session,
        book,
        account_id,
        data,
        user_id=principal.user.id,
        filename=filename,
        fmt=format,
        statement_account=statement_account,
        date_order=date_order,
        background=len(data) > settings.IMPORT_BACKGROUND_BYTES if background is None else background,
    )
    await import_events.reached(session, imported)
    return await idem.save(201, import_out(imported))


@router.get("", summary="Import sessions of the book, newest first")
async def list_imports(
    book: CurrentBook, session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[ImportOut]:
    return [import_out(s) for s in await queries.sessions(session, book.id, limit)]


@router.get("/{import_id}", summary="One import session and its summary")
async def get_import(import_id: ImportId, book: CurrentBook, session: SessionDep) -> ImportOut:
    return import_out(await imports.get(session, book, import_id))


@router.get("/{import_id}/rows", summary="The preview, row by row: new, duplicate (of what, why) or error")
async def import_rows(
    import_id: ImportId,
    book: CurrentBook,
    session: SessionDep,
    status: Annotated[
        Literal["new", "transfer", "duplicate", "possible_duplicate", "deleted", "error"] | None, Query()
    ] = None,
    cursor: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[ImportRowOut]:
    imported = await imports.get(session, book, import_id)
    rows = await queries.rows(session, imported.id, status, cursor, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[ImportRowOut](items=[ImportRowOut.of(r) for r in rows], next_cursor=str(rows[-1].id) if more else None)


@router.put("/{import_id}/rows/{row_id}/decision", summary="Import a held-back row, skip a new one, or undo the choice")
async def decide_row(
    import_id: ImportId,
    row_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: RowDecision,
    book: CurrentBook,
    session: SessionDep,
) -> ImportRowOut:
    return ImportRowOut.of(await imports.decide(session, book, import_id, row_id, body.decision))


@router.put("/{import_id}/rows/{row_id}/category", summary="Choose the category commit sets for a row")
async def categorize_row(
    import_id: ImportId,
    row_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: RowCategory,
    book: CurrentBook,
    session: SessionDep,
) -> ImportRowOut:
    return ImportRowOut.of(await imports.set_category(session, book, import_id, row_id, body.category_id))


@router.put(
    "/{import_id}/mapping",
    summary="Read the CSV again with this column mapping (and save it for files with the same header)",
)
async def remap_import(import_id: ImportId, body: CsvMapping, book: CurrentBook, session: SessionDep) -> ImportOut:
    mapping = body.model_dump(exclude={"save"})
    return import_out(await imports.remap(session, book, import_id, mapping, save=body.save))


@router.post("/{import_id}/commit", summary="Write the rows the preview marked new, atomically; twice is a no-op")
async def commit_import(
    import_id: ImportId,
    book: CurrentBook,
    session: SessionDep,
    settings: SettingsDep,
    background: Annotated[bool | None, Query(description=BACKGROUND)] = None,
) -> ImportOut:
    imported = await imports.get(session, book, import_id)
    before = imported.status
    if background is None:
        background = imported.summary.get("rows", 0) > settings.IMPORT_BACKGROUND_ROWS
    imported = await imports.commit(session, book, import_id, background=background)
    if imported.status != before:  # committing twice is a no-op, and says nothing new
        await import_events.reached(session, imported)
    return import_out(imported)


@router.post("/{import_id}/revert", summary="Remove every transaction the import added, in one action")
async def revert_import(import_id: ImportId, book: CurrentBook, session: SessionDep) -> RevertOut:
    imported, removed, edited = await imports.revert(session, book, import_id)
    await import_events.reached(session, imported, removed=removed)
    return RevertOut(session=import_out(imported), removed=removed, edited_since_commit=edited)


@profiles_router.get("", summary="Saved CSV column mappings, reused when a file with the same header arrives")
async def list_profiles(book: CurrentBook, session: SessionDep) -> list[ProfileOut]:
    return [
        ProfileOut(
            id=p.id,
            name=p.name,
            header=p.mapping.get("header"),
            mapping={k: v for k, v in p.mapping.items() if k != "header"},
            uses=p.uses,
            created_at=p.created_at,
            last_used_at=p.last_used_at,
        )
        for p in await queries.profiles(session, book.id)
    ]


@profiles_router.delete("/{profile_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Forget a saved mapping")
async def delete_profile(
    profile_id: Annotated[int, Path(ge=1, le=2**63 - 1)], book: CurrentBook, session: SessionDep
) -> None:
    await imports.delete_profile(session, book, profile_id)
