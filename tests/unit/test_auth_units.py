"""Passwords, tokens and cursors: the small pure pieces of access."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fintrack.auth import passwords, tokens
from fintrack.auth.errors import WeakPassword
from fintrack.transactions.errors import InvalidCursor
from fintrack.transactions.service import decode_cursor, encode_cursor


def test_passwords_are_argon2id_and_verify():
    hashed = passwords.hash_password("uma senha bem comprida")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify(hashed, "uma senha bem comprida")
    assert not passwords.verify(hashed, "uma senha bem comprid")
    assert not passwords.verify(None, "anything at all")


@pytest.mark.parametrize("weak", ["short", "password123", "aaaaaaaaaaaa"])
def test_weak_passwords_are_refused(weak):
    with pytest.raises(WeakPassword):
        passwords.hash_password(weak)


def test_tokens_are_random_and_stored_only_as_hashes():
    token, prefix, digest = tokens.new_token()
    again, _, _ = tokens.new_token()
    assert token != again and token.startswith("ft_") and token.startswith(prefix)
    assert digest == tokens.digest(token) and token not in digest and len(digest) == 64


def test_csrf_token_depends_on_key_and_session():
    assert tokens.csrf_token("k1" * 20, "s") != tokens.csrf_token("k2" * 20, "s")
    assert tokens.csrf_token("k1" * 20, "s") != tokens.csrf_token("k1" * 20, "t")


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)), st.integers(1, 2**63 - 1))
def test_cursors_round_trip(day, ident):
    assert decode_cursor(encode_cursor(day, ident)) == (day, ident)


@given(st.text(max_size=60))
def test_garbage_cursors_are_a_clear_error_never_a_crash(text):
    try:
        decode_cursor(text)
    except InvalidCursor:
        pass
