"""The scopes an API token may carry."""

from __future__ import annotations

import enum


class Scope(enum.StrEnum):
    api = "api"
    hub_publish = "hub:publish"
    hub_subscribe = "hub:subscribe"
    hub_history = "hub:history"


ALL_SCOPES = frozenset(Scope)
