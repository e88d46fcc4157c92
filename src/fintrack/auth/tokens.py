"""Opaque bearer secrets (API tokens, session ids): random, shown once, stored only as SHA-256."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

TOKEN_PREFIX = "ft_"  # noqa: S105 - a label, not a secret


def new_token() -> tuple[str, str, str]:
    """Return (token, display_prefix, hash). 256 bits of entropy, so a fast hash is enough."""
    body = secrets.token_urlsafe(32)
    token = f"{TOKEN_PREFIX}{body}"
    return token, token[:10], digest(token)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret_key: str, session_token: str) -> str:
    """Bound to the session and the server's key: a page on another site cannot compute it."""
    return hmac.new(secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


HUB_PREFIX = "fth."  # a label, not a secret


def sign_hub(secret_key: str, user_id: int, session_hash: str, expires: int) -> str:
    """A short-lived WebSocket token for a web session: the user, the session it came from (logging out ends
    it), and when it expires, signed with the server's key. Nothing is stored; the web UI asks for a new one."""
    body = base64.urlsafe_b64encode(json.dumps([user_id, session_hash, expires]).encode()).decode().rstrip("=")
    return f"{HUB_PREFIX}{body}.{_hub_mac(secret_key, body)}"


def verify_hub(secret_key: str, token: str) -> tuple[int, str, int] | None:
    """(user id, session hash, expiry) of a genuine hub token; None for anything else (expiry is not checked)."""
    if not token.startswith(HUB_PREFIX) or len(token) > 400:
        return None
    body, _, mac = token[len(HUB_PREFIX) :].partition(".")
    if not same(mac, _hub_mac(secret_key, body)):
        return None
    try:
        user_id, session_hash, expires = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    if not (isinstance(user_id, int) and isinstance(session_hash, str) and isinstance(expires, int)):
        return None
    return user_id, session_hash, expires


def _hub_mac(secret_key: str, body: str) -> str:
    return hmac.new(secret_key.encode(), b"hub:" + body.encode(), hashlib.sha256).hexdigest()
