"""Namespaces and who may do what on a channel: pure functions over names, patterns and callers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from fintrack.errors import mark
from fintrack.hub.errors import InvalidChannel, NoNamespace, NotAllowed

CHANNEL_MAX = 200
_CHANNEL = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
_PATTERN = re.compile(r"^([a-z0-9_-]+|\*)(\.([a-z0-9_-]+|\*))*$")

Action = Literal["publish", "subscribe", "history"]
# Who may act, on top of the action's scope: any token holder ("scope"), only the user the channel is named after
# ("owner": `user.<id>`), administrators ("admin"), or nobody but FinTrack itself ("server").
Rule = Literal["scope", "owner", "admin", "server"]
Overflow = Literal["disconnect", "conflate", "drop"]
RULES: tuple[str, ...] = ("scope", "owner", "admin", "server")
OVERFLOWS: tuple[str, ...] = ("disconnect", "conflate", "drop")
SCOPES: dict[str, str] = {"publish": "hub:publish", "subscribe": "hub:subscribe", "history": "hub:history"}


@dataclass(frozen=True)
class Namespace:
    pattern: str
    publish: Rule = "scope"
    subscribe: Rule = "scope"
    history: Rule = "scope"
    retention_seconds: int | None = None
    retention_count: int | None = None
    overflow: Overflow = "disconnect"
    json_schema: dict[str, Any] | None = None
    ttl_seconds: int | None = None
    builtin: bool = False


WEEK = 7 * 24 * 3600
BUILTIN: tuple[Namespace, ...] = (
    Namespace("signals.*", retention_seconds=WEEK, retention_count=1_000_000, builtin=True),
    # A user's private FinTrack events (import progress, budget alerts): only FinTrack writes there.
    Namespace(
        "user.*",
        publish="server",
        subscribe="owner",
        history="owner",
        retention_seconds=WEEK,
        retention_count=10_000,
        overflow="conflate",
        builtin=True,
    ),
)


@dataclass(frozen=True)
class Caller:
    """Who acts on a channel: a user with the scopes of their token (all of them for a web session), or the
    server itself (user_id None), which may do anything."""

    user_id: int | None
    scopes: frozenset[str] = frozenset()
    is_admin: bool = False
    # A token limited to channel patterns may only touch channels matching one of them; None: no limit.
    channel_patterns: tuple[str, ...] | None = None

    @property
    def is_server(self) -> bool:
        return self.user_id is None


SERVER = Caller(user_id=None)


def check_channel(name: str) -> str:
    """The channel name, or InvalidChannel saying why it is not one."""
    if not 1 <= len(name) <= CHANNEL_MAX:
        raise InvalidChannel(
            mark("a channel name has 1 to {max} characters"), values={"max": CHANNEL_MAX}, channel=name[:CHANNEL_MAX]
        )
    if not _CHANNEL.match(name):
        raise InvalidChannel(channel=name)
    return name


def is_pattern(pattern: str) -> bool:
    return 1 <= len(pattern) <= CHANNEL_MAX and _PATTERN.match(pattern) is not None


def matches(pattern: str, channel: str) -> bool:
    """Glob over dot-separated segments: `*` is one segment, or, as the last segment, one or more.

    `signals.*` matches `signals.btcusdt` and `signals.btc.1m`, not `signals`; `a.*.c` matches `a.b.c` only.
    """
    want = pattern.split(".")
    have = channel.split(".")
    for i, part in enumerate(want):
        if i >= len(have):
            return False
        if part == "*":
            if i == len(want) - 1:
                return True
            continue
        if part != have[i]:
            return False
    return len(have) == len(want)


def _specificity(pattern: str) -> tuple[int, int]:
    parts = pattern.split(".")
    return (sum(p != "*" for p in parts), len(parts))


def merged(stored: Iterable[Namespace]) -> list[Namespace]:
    """The built-in namespaces overridden by the stored ones of the same pattern, plus the other stored ones."""
    found = {ns.pattern: ns for ns in BUILTIN}
    found.update({ns.pattern: ns for ns in stored})
    return sorted(found.values(), key=lambda ns: ns.pattern)


def resolve(channel: str, namespaces: Iterable[Namespace]) -> Namespace:
    """The most specific namespace whose pattern matches the channel (most literal segments, then longest)."""
    candidates = [ns for ns in namespaces if matches(ns.pattern, channel)]
    if not candidates:
        raise NoNamespace(channel=channel)
    return max(candidates, key=lambda ns: _specificity(ns.pattern))


def owner_of(channel: str) -> int | None:
    """The user a `<namespace>.<user id>[...]` channel belongs to, if its second segment is a user id."""
    parts = channel.split(".")
    if len(parts) >= 2 and parts[1].isdigit() and len(parts[1]) <= 18:
        return int(parts[1])
    return None


def allowed(caller: Caller, action: Action, channel: str, ns: Namespace) -> bool:
    if caller.is_server:
        return True
    if SCOPES[action] not in caller.scopes:
        return False
    if caller.channel_patterns is not None and not any(matches(p, channel) for p in caller.channel_patterns):
        return False
    rule = getattr(ns, action)
    if rule == "scope":
        return True
    if rule == "owner":
        return owner_of(channel) == caller.user_id
    if rule == "admin":
        return caller.is_admin
    return False  # "server"


# A sentence per action, so each translates whole.
_MAY_NOT = {
    "publish": mark("you may not publish on channel {channel!r}"),
    "subscribe": mark("you may not subscribe on channel {channel!r}"),
    "history": mark("you may not history on channel {channel!r}"),
}


def require(caller: Caller, action: Action, channel: str, ns: Namespace) -> None:
    """NotAllowed unless the caller may do `action` on the channel; the message never says whose it is."""
    if not allowed(caller, action, channel, ns):
        raise NotAllowed(_MAY_NOT[action], values={"channel": channel}, channel=channel, action=action)
