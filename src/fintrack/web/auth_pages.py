"""First run, login, logout, and the user's own settings (password, language)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fintrack.auth import queries
from fintrack.auth import service as auth
from fintrack.auth.schemas import Credentials, SetupRequest
from fintrack.deps import SESSION_COOKIE, SessionDep, SettingsDep
from fintrack.errors import DomainError, InvalidInput
from fintrack.settings import Settings
from fintrack.web import forms, i18n
from fintrack.web.render import Viewer, page, said
from fintrack.web.session import Anonymous, WebViewer

router = APIRouter(include_in_schema=False)


def _signed_in(settings: Settings, target: str, token: str, expires: object) -> Response:
    response = RedirectResponse(forms.safe_next(target), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        expires=expires,  # type: ignore[arg-type]
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    return response


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/setup")
async def setup_page(request: Request, me: Anonymous, session: SessionDep) -> Response:
    if await queries.any_user(session):
        return RedirectResponse("/login", status_code=303)
    return page(request, me, "setup.html", title="FinTrack", form={})


@router.post("/setup")
async def setup(request: Request, me: Anonymous, session: SessionDep, settings: SettingsDep) -> Response:
    data = await forms.fields(request)
    language = data.pop("language", me.language)
    try:
        body = forms.parse(SetupRequest, {**data, "locale": language})
        user = await auth.setup_first_admin(
            session,
            body.email,
            body.password,
            book_name=body.book_name,
            locale=body.locale,
            base_currency=body.base_currency.upper(),
        )
        await auth.set_language(session, user, body.locale)
        _, token, expires = await auth.login(
            session,
            body.email,
            body.password,
            _client_ip(request),
            max_failures=settings.LOGIN_MAX_FAILURES,
            window_seconds=settings.LOGIN_WINDOW_SECONDS,
            ttl_hours=settings.SESSION_TTL_HOURS,
        )
    except DomainError as problem:
        if problem.code == "setup_done":
            return RedirectResponse("/login", status_code=303)
        data.pop("password", None)
        me = Viewer(None, i18n.choose(language, None))
        return page(request, me, "setup.html", 422, title="FinTrack", form=data, error=said(me, problem))
    return _signed_in(settings, "/", token, expires)


@router.get("/login")
async def login_page(request: Request, me: Anonymous, session: SessionDep, next: str = "/") -> Response:
    if not await queries.any_user(session):
        return RedirectResponse("/setup", status_code=303)
    return page(request, me, "login.html", title=_t(me, "Log in"), next=forms.safe_next(next), email="")


def _t(me: Viewer, message: str) -> str:
    return i18n.translations(me.language).gettext(message)


@router.post("/login")
async def login(request: Request, me: Anonymous, session: SessionDep, settings: SettingsDep) -> Response:
    data = await forms.fields(request)
    target = forms.safe_next(data.get("next"))
    try:
        body = forms.parse(Credentials, {"email": data.get("email", ""), "password": data.get("password", "")})
        _, token, expires = await auth.login(
            session,
            body.email,
            body.password,
            _client_ip(request),
            max_failures=settings.LOGIN_MAX_FAILURES,
            window_seconds=settings.LOGIN_WINDOW_SECONDS,
            ttl_hours=settings.SESSION_TTL_HOURS,
        )
    except DomainError as problem:
        if problem.keep_writes:
            await session.commit()  # a failed attempt must count, or throttling could be bypassed
        status = 429 if problem.code == "login_throttled" else 401 if problem.status == 401 else 422
        message = _t(me, "Wrong email or password.") if problem.code == "invalid_credentials" else said(me, problem)
        return page(
            request,
            me,
            "login.html",
            status,
            title=_t(me, "Log in"),
            next=target,
            email=data.get("email", ""),
            error=message,
        )
    return _signed_in(settings, target, token, expires)


@router.post("/logout")
async def logout(request: Request, me: WebViewer, session: SessionDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await auth.logout(session, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/settings")
async def settings_page(request: Request, me: WebViewer) -> HTMLResponse:
    return page(request, me, "settings.html", title=_t(me, "Settings"))


@router.post("/settings/language")
async def change_language(request: Request, me: WebViewer, session: SessionDep) -> Response:
    chosen = (await forms.fields(request)).get("language") or None
    assert me.user is not None
    await auth.set_language(session, me.user, chosen)
    return RedirectResponse("/settings", status_code=303)


@router.post("/settings/password")
async def change_password(request: Request, me: WebViewer, session: SessionDep, settings: SettingsDep) -> Response:
    data = await forms.fields(request)
    try:
        if data.get("new_password") != data.get("confirm_password"):
            raise InvalidInput(_t(me, "The new passwords do not match."), field="confirm_password")
        ended = await auth.change_password(
            session, me.principal, str(data.get("current_password", "")), str(data.get("new_password", ""))
        )
    except DomainError as problem:
        return page(request, me, "settings.html", 422, title=_t(me, "Settings"), error=said(me, problem))
    note = _t(me, "Password changed. Other sessions were logged out: %(count)s.") % {"count": ended}
    return page(request, me, "settings.html", title=_t(me, "Settings"), note=note)
