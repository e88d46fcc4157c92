"""Opaque bearer secrets (API tokens, session ids): random, shown once, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import hmac
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
