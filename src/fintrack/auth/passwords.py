"""argon2id password hashing (argon2-cffi's defaults follow RFC 9106's second recommendation)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fintrack.auth.errors import WeakPassword
from fintrack.errors import mark

_hasher = PasswordHasher()
# Verifying against this keeps unknown emails as slow as wrong passwords, so timing reveals no accounts.
_DUMMY_HASH = _hasher.hash("fintrack-dummy-password")
MIN_LENGTH = 10
MAX_LENGTH = 1024
COMMON = frozenset({"password123", "1234567890", "qwertyuiop", "senha12345", "password12", "0123456789"})


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            mark("password must have at least {min_length} characters"),
            values={"min_length": MIN_LENGTH},
            field="password",
        )
    if len(password) > MAX_LENGTH:
        raise WeakPassword(
            mark("password must have at most {max_length} characters"),
            values={"max_length": MAX_LENGTH},
            field="password",
        )
    if password.lower() in COMMON or len(set(password)) < 4:
        raise WeakPassword(mark("password is too easy to guess"), field="password")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
