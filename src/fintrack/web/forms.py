"""Reading HTML forms with the API's own schemas, so a page refuses exactly what the API refuses."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from fintrack.errors import InvalidInput, Term, mark

Model = TypeVar("Model", bound=BaseModel)

# Pydantic's error types as sentences of our own, so they can be translated; the context names the limits.
# Types not listed (a validator's own message) keep pydantic's English text.
SAID = {
    "missing": mark("{field}: required"),
    "string_too_short": mark("{field}: at least {min_length} characters"),
    "string_too_long": mark("{field}: at most {max_length} characters"),
    "too_short": mark("{field}: at least {min_length} items"),
    "too_long": mark("{field}: at most {max_length} items"),
    "string_pattern_mismatch": mark("{field}: not in the expected format"),
    "int_parsing": mark("{field}: not a whole number"),
    "int_type": mark("{field}: not a whole number"),
    "int_from_float": mark("{field}: not a whole number"),
    "decimal_parsing": mark("{field}: not a number"),
    "float_parsing": mark("{field}: not a number"),
    "bool_parsing": mark("{field}: yes or no"),
    "date_parsing": mark("{field}: not a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": mark("{field}: not a date (YYYY-MM-DD)"),
    "greater_than": mark("{field}: more than {gt}"),
    "greater_than_equal": mark("{field}: at least {ge}"),
    "less_than": mark("{field}: less than {lt}"),
    "less_than_equal": mark("{field}: at most {le}"),
    "literal_error": mark("{field}: one of {expected}"),
    "enum": mark("{field}: one of {expected}"),
    "extra_forbidden": mark("{field}: not a field of this form"),
}


async def fields(request: Request) -> dict[str, Any]:
    """The submitted form without the CSRF field; empty inputs are absent, as an API client would leave them."""
    form = await request.form()
    return {k: v for k, v in form.multi_items() if k != "csrf" and v != ""}


def parse(model: type[Model], data: dict[str, Any]) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        raise invalid_input(invalid.errors()[0]) from None


def invalid_input(problem: Any) -> InvalidInput:
    """Pydantic's first error as a domain error whose message pages can translate."""
    where = ".".join(str(p) for p in problem["loc"] if p != "body") or "form"
    template = SAID.get(problem["type"])
    context = {k: str(v) for k, v in (problem.get("ctx") or {}).items()}
    try:
        template and template.format(field=where, **context)
    except (KeyError, IndexError, ValueError):
        template = None
    if template is None:
        return InvalidInput(f"{where}: {problem['msg']}", field=where)
    return InvalidInput(template, values={"field": Term(where), **context}, field=where)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a path on this site (never //evil.example or a full URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
