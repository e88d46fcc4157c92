"""Request and response bodies of the books API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from fintrack.books.models import Role

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Locale = Annotated[str, Field(pattern=r"^(pt-BR|en)$", description="pt-BR or en")]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. BRL")]


class BookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    base_currency: CurrencyCode = "BRL"
    locale: Locale = "pt-BR"


class BookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    locale: Locale | None = None


class BookOut(BaseModel):
    id: int
    name: str
    base_currency: str
    locale: str
    role: Role
    created_at: datetime


class MemberPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]
    role: Role


class MemberOut(BaseModel):
    user_id: int
    email: str
    role: Role
