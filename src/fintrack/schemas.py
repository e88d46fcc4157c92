"""Field types shared by every domain's API bodies."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


class Strict(BaseModel):
    """Request bodies refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= to get the next page")
