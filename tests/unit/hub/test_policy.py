"""Namespaces, channel names and who may act on a channel: pure functions, no database."""

from __future__ import annotations

import pytest

from fintrack.errors import InvalidInput
from fintrack.hub import policy
from fintrack.hub.errors import InvalidChannel, NoNamespace, PayloadTooLarge, SchemaViolation
from fintrack.hub.policy import SERVER, Caller, Namespace
from fintrack.hub.store import MAX_PAYLOAD_BYTES, Item, encode

HUB = frozenset({"hub:publish", "hub:subscribe", "hub:history"})


@pytest.mark.parametrize(
    ("pattern", "channel", "expected"),
    [
        ("signals.*", "signals.btcusdt", True),
        ("signals.*", "signals.btc.1m", True),
        ("signals.*", "signals", False),
        ("signals.*", "signalsx.btc", False),
        ("signals.btc", "signals.btc", True),
        ("signals.btc", "signals.btc.1m", False),
        ("a.*.c", "a.b.c", True),
        ("a.*.c", "a.b.d", False),
        ("a.*.c", "a.b.c.d", False),
        ("*", "anything.at.all", True),
    ],
)
def test_patterns_match_whole_segments(pattern, channel, expected):
    assert policy.matches(pattern, channel) is expected


@pytest.mark.parametrize("name", ["signals.btcusdt", "user.42", "a", "a-b_c.0", "x" * 200])
def test_good_channel_names_pass(name):
    assert policy.check_channel(name) == name


@pytest.mark.parametrize(
    "name", ["", "Signals.btc", "signals..btc", ".signals", "signals.", "sig nals", "x" * 201, "é"]
)
def test_bad_channel_names_are_refused(name):
    with pytest.raises(InvalidChannel):
        policy.check_channel(name)


def test_the_most_specific_namespace_governs():
    known = policy.merged([Namespace("signals.btc.*", retention_count=5), Namespace("*", publish="admin")])
    assert policy.resolve("signals.btc.1m", known).pattern == "signals.btc.*"
    assert policy.resolve("signals.eth", known).pattern == "signals.*"
    assert policy.resolve("other.thing", known).pattern == "*"
    with pytest.raises(NoNamespace):
        policy.resolve("other.thing", policy.BUILTIN)


def test_a_stored_namespace_overrides_the_builtin_of_the_same_pattern():
    known = policy.merged([Namespace("signals.*", retention_count=10)])
    assert [ns.retention_count for ns in known if ns.pattern == "signals.*"] == [10]
    assert {ns.pattern for ns in known} == {"signals.*", "user.*"}


def test_private_user_channels_belong_to_their_user_and_only_the_server_writes_them():
    user_ns = policy.resolve("user.7", policy.BUILTIN)
    seven, eight = Caller(7, HUB), Caller(8, HUB)
    assert policy.allowed(seven, "history", "user.7", user_ns)
    assert policy.allowed(seven, "subscribe", "user.7", user_ns)
    assert not policy.allowed(eight, "history", "user.7", user_ns)
    assert not policy.allowed(eight, "subscribe", "user.7", user_ns)
    assert not policy.allowed(seven, "publish", "user.7", user_ns)
    assert policy.allowed(SERVER, "publish", "user.7", user_ns)
    assert not policy.allowed(seven, "history", "user.x7", user_ns)


def test_scopes_and_channel_patterns_limit_a_token():
    signals = policy.resolve("signals.btc", policy.BUILTIN)
    assert policy.allowed(Caller(1, HUB), "publish", "signals.btc", signals)
    assert not policy.allowed(Caller(1, frozenset({"hub:history"})), "publish", "signals.btc", signals)
    limited = Caller(1, HUB, channel_patterns=("signals.btc",))
    assert policy.allowed(limited, "publish", "signals.btc", signals)
    assert not policy.allowed(limited, "publish", "signals.eth", signals)


def test_admin_rule_needs_an_admin():
    ns = Namespace("ops.*", publish="admin")
    assert not policy.allowed(Caller(1, HUB), "publish", "ops.x", ns)
    assert policy.allowed(Caller(1, HUB, is_admin=True), "publish", "ops.x", ns)


# Payload checks -----------------------------------------------------------------------------------------------

SCHEMA = {"type": "object", "required": ["side"], "properties": {"side": {"enum": ["buy", "sell"]}}}


def test_a_payload_is_encoded_compactly():
    assert encode(0, Item({"side": "buy", "p": 1.5}), SCHEMA) == '{"side":"buy","p":1.5}'


def test_a_schema_violation_names_the_index_and_json_path():
    with pytest.raises(SchemaViolation) as caught:
        encode(3, Item({"side": "hold"}), SCHEMA)
    assert caught.value.details["index"] == 3 and caught.value.details["path"] == "$.side"


def test_an_oversized_payload_names_its_size_and_the_limit():
    with pytest.raises(PayloadTooLarge) as caught:
        encode(0, Item("x" * MAX_PAYLOAD_BYTES), None)
    assert caught.value.details["limit"] == MAX_PAYLOAD_BYTES and caught.value.details["index"] == 0


@pytest.mark.parametrize("payload", [float("nan"), {"a": "\x00"}, {"\x00": 1}])
def test_payloads_postgres_would_refuse_are_invalid_input(payload):
    with pytest.raises(InvalidInput):
        encode(0, Item(payload), None)


def test_an_escaped_backslash_before_u0000_is_ordinary_text():
    assert encode(0, Item("\\u0000"), None) == '"\\\\u0000"'
