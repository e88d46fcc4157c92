"""Field types shared by every domain's API bodies."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

AmountStr = Annotated[
    str,
    Field(
        pattern=r"^[+-]?\d{1,14}(\.\d{1,6})?$",
        examples=["-12.34"],
        description="A decimal string with a dot, never a JSON number; at most the currency's minor units.",
    ),
]
RateStr = Annotated[
    str, Field(pattern=r"^\d{1,12}(\.\d{1,12})?$", examples=["5.4321"], description="A positive decimal string.")
]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["BRL"], description="ISO 4217 code")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=2000)]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_only(value: object) -> object:
    # Pydantic reads a bare number as seconds since 1970: ?as_of=20261101 would quietly mean 1970-08-23.
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("expected an ISO 8601 date (2026-11-23) or date-time (2026-11-23T10:00:00Z)")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_only)]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_only)]


class Strict(BaseModel):
    """Request bodies refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= to get the next page")


class ErrorDetail(BaseModel):
    code: str = Field(examples=["account_not_found"], description="Stable, machine-readable")
    message: str = Field(description="For people; may change")
    details: dict[str, Any] = Field(description="The field at fault and other context, by error code")


class ErrorOut(BaseModel):
    """Every 4xx and 5xx answer has this shape."""

    error: ErrorDetail
