"""Request and response bodies of the auth API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from fintrack.auth.scopes import Scope
from fintrack.schemas import IsoDateTime

Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Password = Annotated[str, Field(min_length=1, max_length=1024)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ChannelPattern = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=r"^([a-z0-9_-]+|\*)(\.([a-z0-9_-]+|\*))*$", examples=["signals.*"]),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(Strict):
    email: Email
    password: Password


class SetupRequest(Credentials):
    book_name: Name | None = None
    locale: Annotated[str, Field(pattern=r"^(pt-BR|en)$")] = "pt-BR"
    base_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "BRL"


class UserCreate(SetupRequest):
    is_admin: bool = False


class UserOut(BaseModel):
    id: int
    email: str
    is_admin: bool
    default_book_id: int | None
    created_at: datetime


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str
    expires_at: datetime


class SetupStatus(BaseModel):
    needs_setup: bool


class TokenCreate(Strict):
    name: Name = "api"
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=10)] = [Scope.api]
    expires_at: IsoDateTime | None = None
    channel_patterns: Annotated[list[ChannelPattern], Field(min_length=1, max_length=20)] | None = Field(
        None, description="Limit the token's hub access to these channel patterns (`*` is a segment); null: any"
    )


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    channel_patterns: list[str] | None = None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret; shown only once.")


class HubTokenOut(BaseModel):
    token: str = Field(description="Open /ws?token=… with it; send `refresh` with a new one before expires_at")
    expires_at: datetime
    scopes: list[str]
