"""Inbound webhooks (TradingView-style alerts): a user's URL that publishes what it receives on one channel.

TradingView can only set a URL and a body: no headers. So the secret travels in the URL (`secret_in="path"`: the
last segment is the secret) or in the body (`secret_in="body"`: the last segment is a public hook id and the body
carries the secret). Alerts are retried and sometimes sent twice, so a body repeated within the webhook's dedupe
window is answered with the first one's seq instead of being published again.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import re
import secrets
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.auth.tokens import digest
from fintrack.errors import DomainError, Forbidden, InvalidInput, NotFound
from fintrack.hub import policy, queries, store
from fintrack.hub.broker import Broker
from fintrack.hub.ingest import GroupCommit
from fintrack.hub.models import HubWebhook
from fintrack.hub.policy import Caller

SecretIn = Literal["path", "body"]
MAX_BODY_BYTES = 64 * 1024
MAX_ALLOW = 50
MAX_DEDUPE_SECONDS = 24 * 3600
KEY_MAX = 200
# Where TradingView sends webhooks from (https://www.tradingview.com/support/solutions/43000529348/).
PRESETS: dict[str, tuple[str, ...]] = {
    "tradingview": ("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7"),
}
SECRET_FIELDS = ("secret", "passphrase")
# A text alert's first line may carry the secret: `secret=...`, `secret: ...` (or passphrase).
_SECRET_LINE = re.compile(r"^\s*(?:secret|passphrase)\s*[=:]\s*(\S+)\s*$", re.IGNORECASE)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
# Dedupe records past their window deleted per webhook, at most once a second: far more than TradingView sends.
FORGET_PER_SWEEP = 500


class WebhookNotFound(NotFound):
    """No webhook answers to this URL and secret (unknown, revoked, or the secret is wrong)."""

    code = "hub_webhook_not_found"


class NoSuchWebhook(NotFound):
    """No such webhook of yours."""

    code = "hub_webhook_not_found"


class IpNotAllowed(Forbidden):
    """This webhook's allow-list does not include the address the request came from."""

    code = "hub_webhook_ip_not_allowed"


class BodyTooLarge(DomainError):
    """An alert's body is larger than a webhook accepts."""

    status = 413
    code = "hub_webhook_body_too_large"


class NotUtf8(DomainError):
    """An alert's body must be UTF-8 text."""

    status = 400
    code = "hub_webhook_not_utf8"


class InvalidAlert(InvalidInput):
    """The alert's body cannot be published."""

    code = "hub_webhook_invalid_body"


class InvalidAllow(InvalidInput):
    """An allow-list entry is an IP address, a network in CIDR notation (10.0.0.0/8) or a preset (tradingview)."""

    code = "hub_webhook_invalid_allow"


@dataclass(frozen=True)
class Created:
    webhook: HubWebhook
    secret: str
    path: str


def path_of(token: str) -> str:
    return f"/hooks/tradingview/{token}"


def public_path(webhook: HubWebhook) -> str | None:
    """The URL path, when it can be shown again: a body-secret webhook's path holds no secret."""
    return path_of(webhook.hook_id) if webhook.hook_id else None


def check_allow(entries: Sequence[str] | None) -> list[str] | None:
    """The allow-list normalised (`10.1.2.3/8` refused: host bits set), or InvalidAllow naming the bad entry."""
    if entries is None:
        return None
    if not entries:
        raise InvalidAllow("allow is empty: leave it out (or null) to accept any address", field="allow")
    if len(entries) > MAX_ALLOW:
        raise InvalidAllow(f"allow has {len(entries)} entries; at most {MAX_ALLOW}", field="allow")
    out: list[str] = []
    for index, entry in enumerate(entries):
        name = entry.strip().lower()
        if name in PRESETS:
            out.append(name)
            continue
        try:
            out.append(str(ipaddress.ip_network(name, strict=True)))
        except ValueError as exc:
            raise InvalidAllow(
                f"allow[{index}]: {entry!r} is not an IP address, a CIDR network or a preset "
                f"({', '.join(PRESETS)}): {exc}",
                field=f"allow[{index}]",
                entry=entry,
            ) from None
    return sorted(set(out), key=out.index)


@lru_cache(maxsize=256)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    # Presets are expanded when checked, not when stored: if TradingView moves, existing webhooks follow.
    expanded = [address for entry in entries for address in PRESETS.get(entry, (entry,))]
    return tuple(ipaddress.ip_network(e) for e in expanded)


def allowed_ip(entries: Sequence[str] | None, ip: str | None) -> bool:
    if entries is None:
        return True
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(tuple(entries)))


async def create(
    session: AsyncSession,
    caller: Caller,
    *,
    name: str,
    channel: str,
    secret_in: SecretIn = "path",  # noqa: S107 - where the secret goes, not a secret
    allow: Sequence[str] | None = None,
    dedupe_seconds: int = 60,
) -> Created:
    """A new webhook of the caller's, publishing to `channel`; the secret is returned here and never again."""
    assert caller.user_id is not None, "a webhook belongs to a user"
    policy.check_channel(channel)
    ns = await store.governing(session, channel)
    # The caller's own rights (a token limited to channel patterns included), and the rights the webhook will
    # act with at each delivery: the owner's, with nothing but hub:publish.
    policy.require(caller, "publish", channel, ns)
    policy.require(_acting(caller.user_id, caller.is_admin), "publish", channel, ns)
    if not 0 <= dedupe_seconds <= MAX_DEDUPE_SECONDS:
        raise InvalidInput(f"dedupe_seconds is 0 to {MAX_DEDUPE_SECONDS}", field="dedupe_seconds")
    secret = secrets.token_urlsafe(32)
    hook_id = secrets.token_urlsafe(16) if secret_in == "body" else None  # noqa: S105
    webhook = HubWebhook(
        user_id=caller.user_id,
        name=name,
        channel=channel,
        secret_in=secret_in,
        hook_id=hook_id,
        secret_hash=digest(secret),
        secret_prefix=secret[:6],
        allow=check_allow(allow),
        dedupe_seconds=dedupe_seconds,
    )
    session.add(webhook)
    await session.flush()
    await session.refresh(webhook)
    return Created(webhook, secret, path_of(hook_id or secret))


async def mine(session: AsyncSession, user_id: int) -> list[HubWebhook]:
    return list(await queries.webhooks_of(session, user_id))


async def one(session: AsyncSession, user_id: int, webhook_id: int) -> HubWebhook:
    found = await queries.webhook_of(session, user_id, webhook_id)
    if found is None:
        raise NoSuchWebhook(webhook_id=webhook_id)
    return found


async def revoke(session: AsyncSession, user_id: int, webhook_id: int) -> HubWebhook:
    """Its URL stops working at once; the record stays so the owner can see what it was."""
    found = await one(session, user_id, webhook_id)
    if found.revoked_at is None:
        found.revoked_at = datetime.now(UTC)
        await session.flush()
        forget_cached()
    return found


def _acting(user_id: int, is_admin: bool) -> Caller:
    return Caller(user_id, frozenset({"hub:publish"}), is_admin=is_admin)


# Receiving alerts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """An alert's body understood: what to publish, and the secret it carried (if any)."""

    payload: Any
    secret: str | None
    key: str | None = None
    idempotency_key: str | None = None
    producer_time: datetime | None = None


def decode(body: bytes) -> str:
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(
            f"the alert's body is {len(body)} bytes, more than {MAX_BODY_BYTES}", size=len(body), limit=MAX_BODY_BYTES
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotUtf8(f"the alert's body is not UTF-8 text (byte {exc.start} is not)", position=exc.start) from None
    if not text.strip():
        raise InvalidAlert("the alert's body is empty: put the alert's message in the body", field="body")
    return text


def parse(text: str) -> Alert:
    """A body starting with `{` is a JSON object (refused, with where it breaks, when it is not valid JSON: a
    placeholder that left a hole would otherwise reach subscribers as text); anything else is text."""
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except RecursionError:
            raise InvalidAlert("the body's JSON is nested too deeply", field="body") from None
        except json.JSONDecodeError as exc:
            raise InvalidAlert(
                f"the body starts with '{{' but is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                field="body",
                line=exc.lineno,
                column=exc.colno,
            ) from None
        except ValueError as exc:  # an integer too long for Python to read (more than 4,300 digits)
            raise InvalidAlert(f"the body's JSON cannot be read: {exc}", field="body") from None
        return _from_object(value)
    lines = text.split("\n")
    found = _SECRET_LINE.match(lines[0])
    if found is None:
        return Alert({"text": text}, None)
    rest = "\n".join(lines[1:])
    if not rest.strip():
        raise InvalidAlert("the alert has a secret line but no message after it", field="body")
    return Alert({"text": rest}, found.group(1))


def _from_object(value: dict[str, Any]) -> Alert:
    secret = None
    for name in SECRET_FIELDS:
        if name in value:
            sent = value.pop(name)
            secret = sent if isinstance(sent, str) else secret
    key = _text_field(value, "key")
    idempotency_key = _text_field(value, "idempotency_key")
    if idempotency_key is None:
        sent_id = value.get("id")
        if isinstance(sent_id, str | int) and not isinstance(sent_id, bool) and 0 < len(str(sent_id)) <= KEY_MAX:
            idempotency_key = str(sent_id)
    return Alert(value, secret, key, idempotency_key, _time(value.get("time")))


def _text_field(value: dict[str, Any], name: str) -> str | None:
    sent = value.get(name)
    if sent is None:
        return None
    if not isinstance(sent, str) or not 1 <= len(sent) <= KEY_MAX:
        raise InvalidAlert(f"{name} must be a string of 1 to {KEY_MAX} characters", field=name)
    return sent


def _time(sent: Any) -> datetime | None:
    # TradingView's {{timenow}} and {{time}} are ISO 8601 in UTC ("2026-11-23T10:00:00Z"); anything else stays
    # in the payload only.
    if not isinstance(sent, str) or not re.match(r"^\d{4}-\d{2}-\d{2}T", sent):
        return None
    try:
        parsed = datetime.fromisoformat(sent)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Hook:
    """What receiving an alert needs to know about its webhook."""

    id: int
    user_id: int
    channel: str
    secret_in: str
    secret_hash: str
    allow: tuple[str, ...] | None
    dedupe_seconds: int
    is_admin: bool

    @property
    def caller(self) -> Caller:
        return _acting(self.user_id, self.is_admin)


Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]
# Webhooks by the digest of their URL token, for a minute: a burst of alerts reads the table once. What a webhook
# is never changes after it is made; revocation still takes effect at once, because each commit re-checks its
# webhooks (WebhookCommits) and revoke() forgets them here.
CACHE_SECONDS = 60.0
CACHE_MAX = 10_000
_hooks: dict[str, tuple[float, Hook | None]] = {}
_loading: dict[str, asyncio.Future[Hook | None]] = {}


async def find(transaction: Transaction, token: str) -> Hook | None:
    if not _TOKEN.match(token):
        return None
    token_hash = digest(token)
    cached = _hooks.get(token_hash)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    # One read for the whole burst that finds the cache empty, not one per alert.
    loading = _loading.get(token_hash)
    if loading is not None and loading.get_loop() is asyncio.get_running_loop():
        return await asyncio.shield(loading)
    loading = _loading[token_hash] = asyncio.get_running_loop().create_future()
    try:
        hook = await _read(transaction, token, token_hash)
    except BaseException as exc:
        loading.set_exception(exc)
        loading.exception()  # retrieved: the waiters (if any) raise it themselves
        raise
    finally:
        _loading.pop(token_hash, None)
    loading.set_result(hook)
    if len(_hooks) >= CACHE_MAX:
        _hooks.clear()
    _hooks[token_hash] = (time.monotonic() + CACHE_SECONDS, hook)
    return hook


async def _read(transaction: Transaction, token: str, token_hash: str) -> Hook | None:
    async with transaction() as session:
        row = await queries.live_webhook(session, token, token_hash)
    if row is None:
        return None
    allow = tuple(row.allow) if row.allow is not None else None
    return Hook(
        row.id, row.user_id, row.channel, row.secret_in, row.secret_hash, allow, row.dedupe_seconds, row.is_admin
    )


def forget_cached() -> None:
    _hooks.clear()


@dataclass(frozen=True)
class _Delivery(store.Item):
    """An item with the webhook it came through and, when it is deduplicated by body, the body's digest."""

    hook_id: int = 0
    body_digest: str | None = None


class WebhookCommits(GroupCommit):
    """Alerts of one channel arriving together are committed together: one transaction (and one WAL flush) for a
    burst instead of one per alert, which is what keeps a burst's acknowledgements fast."""

    def __init__(self, transaction: Transaction, broker: Broker | None) -> None:
        super().__init__(transaction, broker)
        # Upkeep each webhook needs about once a second, not once a batch: when this process last did it.
        self.touched: dict[int, float] = {}
        self.swept: dict[int, float] = {}

    async def _append(self, channel: str, caller: Caller, items: list[store.Item]) -> list[store.Published]:
        sent = [item for item in items if isinstance(item, _Delivery)]
        hooks = sorted({d.hook_id for d in sent})
        async with self.transaction() as session:
            live = await queries.live_webhook_ids(session, hooks)
            if len(live) < len(hooks):
                raise WebhookNotFound()  # revoked since it was cached
            bodies = sorted({(d.hook_id, d.body_digest) for d in sent if d.body_digest is not None})
            seen = await queries.received(session, bodies) if bodies else {}
            for hook_id in self._due(self.swept, {hook_id for hook_id, _ in bodies}):
                await queries.forget_deliveries(session, hook_id, FORGET_PER_SWEEP)
            plain = [
                store.Item(d.payload, d.key, d.idempotency_key or _window_key(d, seen), d.producer_time) for d in sent
            ]
            published = await store.append(session, channel, plain, user=caller, broker=self.broker)
            for hook_id in self._due(self.touched, live):
                await queries.touch_webhook(session, hook_id)
            return published

    @staticmethod
    def _due(done: dict[int, float], hooks: set[int]) -> list[int]:
        now = time.monotonic()
        due = sorted(h for h in hooks if done.get(h, 0.0) <= now - 1.0)
        if len(done) >= CACHE_MAX:
            done.clear()
        done.update((h, now) for h in due)
        return due


def _window_key(delivery: _Delivery, seen: dict[tuple[int, str], Any]) -> str | None:
    # The same body within the window gets the same key, which the channel keeps unique: the repeat is answered
    # with the first one's seq by store.append, under the channel's lock.
    if delivery.body_digest is None:
        return None
    first: datetime = seen[(delivery.hook_id, delivery.body_digest)].received_at
    return f"webhook:{delivery.hook_id}:{delivery.body_digest}:{first.timestamp():.6f}"


async def receive(
    transaction: Transaction, commits: GroupCommit, token: str, body: bytes, client_ip: str | None
) -> store.Published:
    """Publish one alert on its webhook's channel once it is durable; a repeat within the dedupe window answers
    the first's seq."""
    alert = parse(decode(body))
    hook = await find(transaction, token)
    if hook is None:
        raise WebhookNotFound()
    if hook.secret_in == "body" and not _same_secret(alert.secret, hook.secret_hash):  # noqa: S105
        raise WebhookNotFound()
    if not allowed_ip(hook.allow, client_ip):
        raise IpNotAllowed(f"{client_ip} is not in this webhook's allow-list", ip=client_ip)
    # The raw body, secret and all: the retries TradingView sends are byte for byte the same. An idempotency key
    # the alert names itself wins.
    by_body = alert.idempotency_key is None and hook.dedupe_seconds > 0
    delivery = _Delivery(
        alert.payload,
        alert.key,
        alert.idempotency_key,
        alert.producer_time,
        hook_id=hook.id,
        body_digest=hashlib.sha256(body).hexdigest() if by_body else None,
    )
    return await commits.publish(hook.caller, hook.channel, delivery)


def _same_secret(sent: str | None, secret_hash: str) -> bool:
    # Compares digests, so the time taken says nothing about how much of the secret was right.
    return secrets.compare_digest(digest(sent or ""), secret_hash)
