"""/admin (administrators only): users, books and roles, API tokens, hub namespaces, and system status."""

from __future__ import annotations

import json
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fintrack.auth import queries as auth_queries
from fintrack.auth import service as auth
from fintrack.auth.schemas import TokenCreate, UserCreate
from fintrack.books import queries as book_queries
from fintrack.books import service as books
from fintrack.books.access import administered
from fintrack.books.models import Role
from fintrack.deps import SessionDep, SettingsDep
from fintrack.errors import DomainError, InvalidInput, Term, mark
from fintrack.hub import store
from fintrack.hub.policy import Namespace, Overflow, Rule
from fintrack.hub.schemas import NamespaceIn
from fintrack.ops import status
from fintrack.web import forms
from fintrack.web.render import Viewer, page, said, text
from fintrack.web.session import WebAdmin

router = APIRouter(include_in_schema=False)
TokenId = Annotated[int, Path(ge=1, le=2**63 - 1)]
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1)]


async def _page(
    request: Request, me: Viewer, session: SessionDep, settings: SettingsDep, code: int = 200, **extra: Any
) -> HTMLResponse:
    assert me.user is not None
    hub = getattr(request.app.state, "hub", None)
    return page(
        request,
        me,
        "admin.html",
        code,
        title=text(me, "Admin"),
        users=await auth_queries.all_users(session),
        books=await book_queries.all_memberships(session),
        tokens=await auth.list_tokens(session, me.user),
        namespaces=await store.namespaces(session),
        system=await status.system(session, settings.backup_dir, len(hub.connections) if hub is not None else 0),
        scopes=sorted(auth.ALL_SCOPES),
        roles=[r.value for r in Role],
        rules=get_args(Rule),
        overflows=get_args(Overflow),
        **extra,
    )


@router.get("/admin")
async def admin(request: Request, me: WebAdmin, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    return await _page(request, me, session, settings)


@router.post("/admin/users")
async def create_user(request: Request, me: WebAdmin, session: SessionDep, settings: SettingsDep) -> Response:
    data = await forms.fields(request)
    try:
        body = forms.parse(UserCreate, {**data, "is_admin": data.get("is_admin") == "1"})
        async with session.begin_nested():
            await auth.create_user(
                session,
                body.email,
                body.password,
                is_admin=body.is_admin,
                book_name=body.book_name,
                locale=body.locale,
                base_currency=body.base_currency,
            )
    except DomainError as problem:
        return await _page(request, me, session, settings, 422, error=said(me, problem))
    return RedirectResponse("/admin#users", status_code=303)


@router.post("/admin/books/{book_id}/members")
async def put_member(
    request: Request, me: WebAdmin, session: SessionDep, settings: SettingsDep, book_id: ItemId
) -> Response:
    """Add someone to a book or change their role; the book's last owner cannot be demoted."""
    assert me.user is not None
    data = await forms.fields(request)
    try:
        role = data.get("role", "")
        if role not in {r.value for r in Role}:
            raise InvalidInput(
                mark("role: one of {roles}"), values={"roles": ", ".join(r.value for r in Role)}, field="role"
            )
        async with session.begin_nested():
            access = await administered(session, me.user, book_id)
            await books.put_member(session, access, str(data.get("email", "")).strip(), Role(role))
    except DomainError as problem:
        return await _page(request, me, session, settings, 422, error=said(me, problem))
    return RedirectResponse(f"/admin#book-{book_id}", status_code=303)


@router.post("/admin/books/{book_id}/members/{user_id}/remove")
async def remove_member(
    request: Request, me: WebAdmin, session: SessionDep, settings: SettingsDep, book_id: ItemId, user_id: ItemId
) -> Response:
    assert me.user is not None
    try:
        async with session.begin_nested():
            await books.remove_member(session, await administered(session, me.user, book_id), user_id)
    except DomainError as problem:
        return await _page(request, me, session, settings, 422, error=said(me, problem))
    return RedirectResponse(f"/admin#book-{book_id}", status_code=303)


@router.post("/admin/tokens")
async def create_token(request: Request, me: WebAdmin, session: SessionDep, settings: SettingsDep) -> Response:
    assert me.user is not None
    form = await request.form()
    try:
        body = forms.parse(TokenCreate, {"name": form.get("name", ""), "scopes": form.getlist("scopes") or ["api"]})
        async with session.begin_nested():
            _, secret = await auth.create_token(session, me.user, body.name, body.scopes)
    except DomainError as problem:
        return await _page(request, me, session, settings, 422, error=said(me, problem))
    note = text(me, "Copy the token now: it is shown only once.")
    return await _page(request, me, session, settings, new_token=secret, note=note)


@router.post("/admin/tokens/{token_id}/revoke")
async def revoke_token(request: Request, me: WebAdmin, session: SessionDep, token_id: TokenId) -> Response:
    assert me.user is not None
    await auth.revoke_token(session, me.user, token_id)
    return RedirectResponse("/admin#tokens", status_code=303)


@router.post("/admin/namespaces")
async def put_namespace(request: Request, me: WebAdmin, session: SessionDep, settings: SettingsDep) -> Response:
    data = await forms.fields(request)
    try:
        if "json_schema" in data:
            try:
                data["json_schema"] = json.loads(str(data["json_schema"]))
            except ValueError as bad:
                raise InvalidInput(
                    mark("json_schema: not JSON ({problem})"), values={"problem": bad}, field="json_schema"
                ) from None
        for number in ("retention_seconds", "retention_count", "ttl_seconds"):
            if number in data:
                if not str(data[number]).isdigit():
                    raise InvalidInput(mark("{field}: a whole number"), values={"field": Term(number)}, field=number)
                data[number] = int(data[number])
        body = forms.parse(NamespaceIn, data)
        async with session.begin_nested():
            await store.put_namespace(session, Namespace(**body.model_dump()))
    except DomainError as problem:
        return await _page(request, me, session, settings, 422, error=said(me, problem))
    return RedirectResponse("/admin#hub", status_code=303)
