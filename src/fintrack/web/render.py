"""Rendering pages: one Jinja2 environment per language, the static bundle's URLs, and the page context."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from fintrack.auth.models import User
from fintrack.books.access import BookAccess
from fintrack.errors import DomainError
from fintrack.web import i18n, reasons

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@dataclass
class Viewer:
    """Who is looking, in which language, at which book; every page template gets one as `me`."""

    user: User | None
    language: str
    csrf: str = ""
    access: BookAccess | None = None
    principal: Any = None  # fintrack.auth.service.Principal of a logged-in viewer
    formats: i18n.Formats = field(init=False)

    def __post_init__(self) -> None:
        self.formats = i18n.Formats(self.language)

    @property
    def book(self) -> Any:
        return self.access.book if self.access else None

    @property
    def currency(self) -> str:
        return self.access.book.base_currency if self.access else "BRL"

    @property
    def can_write(self) -> bool:
        return bool(self.access and self.access.role.can_write())


@cache
def asset(name: str) -> str:
    """The bundle's URL with a content hash, so browsers cache it for a year and still see a new build."""
    path = STATIC / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: build the front-end with `make install` (npm ci && npm run build)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


def _json_attr(value: Any) -> str:
    """A value for a data-* attribute (charts read their options from it): JSON, which autoescape escapes."""
    return json.dumps(value, default=str, separators=(",", ":"))


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["asset"] = asset
    env.globals["languages"] = i18n.LANGUAGES
    env.filters["json_attr"] = _json_attr
    env.filters["datetime_from_ts"] = lambda ts: dt.datetime.fromtimestamp(float(ts), dt.UTC)
    # Import reasons and notices are stored in English: `{{ row.reason | reason }}` shows them translated.
    gettext = i18n.translations(language).gettext
    env.filters["reason"] = lambda stored: reasons.translate(stored, gettext)
    return env


def page(request: Request, me: Viewer, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page (or a partial template, for htmx swaps) in the viewer's language."""
    env = environment(me.language)
    body = env.get_template(template).render(request=request, me=me, f=me.formats, **context)
    response = HTMLResponse(body, status_code=status_code)
    response.headers["Content-Language"] = me.language
    response.headers["Vary"] = "HX-Request, Cookie, Accept-Language"
    return response


def text(me: Viewer, message: str, **values: Any) -> str:
    """A message translated outside a template (flash notes, errors made in Python)."""
    translated = i18n.translations(me.language).gettext(message)
    return translated % values if values else translated


def said(me: Viewer, problem: DomainError) -> str:
    """A domain error's message in the viewer's language (its template translated, then filled in)."""
    return problem.translated(i18n.translations(me.language).gettext)
