"""Errors on pages: the same domain errors the API turns into JSON, shown as a page (or a redirect to login)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import URL

from fintrack.errors import DomainError, mark
from fintrack.web import i18n
from fintrack.web.render import Viewer, page

NOT_PAGES = ("/api/", "/hooks/", "/metrics", "/healthz", "/readyz", "/static/", "/ws")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(NOT_PAGES)


def _login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = str(URL("/login").include_query_params(next=target))
    if request.headers.get("hx-request"):  # htmx follows this header with a full page load
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


TITLES = {
    401: mark("Log in"),
    403: mark("Not allowed"),
    404: mark("Not found"),
    409: mark("Conflict"),
    429: mark("Too many requests"),
}
SOMETHING_WRONG, CANNOT = mark("Something went wrong"), mark("This cannot be done")
NO_SUCH_PAGE = mark("There is no such page.")


def render(request: Request, code: str, status: int, message: str | DomainError) -> Response:
    if code in ("login_required", "unauthenticated"):
        return _login(request)
    me = Viewer(None, i18n.choose(None, request.headers.get("accept-language")))
    translate = i18n.translations(me.language).gettext
    title = translate(TITLES.get(status, SOMETHING_WRONG if status >= 500 else CANNOT))
    message = message.translated(translate) if isinstance(message, DomainError) else translate(message)
    if request.headers.get("hx-request"):
        # A fragment for the element that asked: htmx swaps 4xx answers in (see assets/app.js).
        return page(request, me, "_errors.html", status, error=message)
    return page(request, me, "error.html", status, title=title, message=message)
