"""Reading HTML forms with the API's own schemas, so a page refuses exactly what the API refuses."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from fintrack.errors import InvalidInput

Model = TypeVar("Model", bound=BaseModel)


async def fields(request: Request) -> dict[str, Any]:
    """The submitted form without the CSRF field; empty inputs are absent, as an API client would leave them."""
    form = await request.form()
    return {k: v for k, v in form.multi_items() if k != "csrf" and v != ""}


def parse(model: type[Model], data: dict[str, Any]) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        problem = invalid.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "form"
        raise InvalidInput(f"{where}: {problem['msg']}", field=where) from None


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a path on this site (never //evil.example or a full URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
