"""The hub's wire protocol: every bad frame is a clear ProtocolError, never another exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fintrack.hub import protocol as wire
from fintrack.hub.protocol import ProtocolError


def error_of(data: bytes | str) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        wire.decode(data)
    return caught.value


def test_every_client_message_decodes():
    assert wire.decode('{"type":"ping","ref":7}') == wire.Ping(7)
    assert wire.decode('{"type":"auth","token":"ft_x"}') == wire.Auth("ft_x")
    assert wire.decode('{"type":"refresh","token":"ft_y"}') == wire.Refresh("ft_y")
    assert wire.decode('{"type":"subscribe","channel":"signals.btc"}') == wire.Subscribe(
        "signals.btc", None, wire.New()
    )
    resumed = wire.decode('{"type":"subscribe","channel":"a.b","from":{"after_seq":41,"epoch":2},"ref":"s1"}')
    assert resumed == wire.Subscribe("a.b", None, wire.AfterSeq(41, 2), "s1")
    since = wire.decode('{"type":"subscribe","channel":"a","from":{"since":"2026-11-23T10:00:00+00:00"}}')
    assert since.start == wire.Since(datetime(2026, 11, 23, 10, tzinfo=UTC))  # type: ignore[union-attr]
    latest = wire.decode('{"type":"subscribe","channel":"a","from":{"latest_per_key":true}}')
    assert latest.start == wire.LatestPerKey()  # type: ignore[union-attr]
    assert wire.decode('{"type":"subscribe","pattern":"signals.*"}') == wire.Subscribe(None, "signals.*", wire.New())
    assert wire.decode('{"type":"unsubscribe","channel":"a"}') == wire.Unsubscribe("a", None)
    assert wire.decode('{"type":"ack","channel":"signals.a","consumer":"bot-1","seq":9}') == wire.Ack(
        "signals.a", "bot-1", 9
    )
    published = wire.decode('{"type":"publish","channel":"a","payload":{"p":1},"idempotency_key":"k"}')
    assert published == wire.Publish("a", {"p": 1}, "k")


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        (b"{not json", "malformed_json", "not valid JSON"),
        (b"\xff\xfe", "malformed_json", "not valid JSON"),
        ("[1, 2]", "bad_message", "JSON object, not an array"),
        ("{}", "bad_message", "missing field 'type'"),
        ('{"type":"dance"}', "unknown_type", "unknown type 'dance'"),
        ('{"type":5}', "unknown_type", "unknown type '5'"),
        ('{"type":"auth"}', "bad_message", "missing field 'token'"),
        ('{"type":"auth","token":42}', "bad_field", "token: must be a string"),
        ('{"type":"subscribe"}', "bad_message", "exactly one of 'channel' or 'pattern'"),
        ('{"type":"subscribe","channel":"a","pattern":"a.*"}', "bad_message", "exactly one"),
        ('{"type":"subscribe","channel":"a b"}', "bad_channel", "may hold only"),
        ('{"type":"subscribe","channel":"a..b"}', "bad_channel", "may hold only"),
        ('{"type":"subscribe","pattern":"a.b"}', "bad_channel", "has no '*'"),
        ('{"type":"subscribe","channel":"a","from":"old"}', "bad_field", "from: must be"),
        ('{"type":"subscribe","channel":"a","from":{"after_seq":-1}}', "bad_field", "from.after_seq"),
        ('{"type":"subscribe","channel":"a","from":{"after_seq":true}}', "bad_field", "from.after_seq"),
        ('{"type":"subscribe","channel":"a","from":{"since":"yesterday"}}', "bad_field", "from.since"),
        ('{"type":"subscribe","channel":"a","from":{"since":"2026-11-23T10:00:00"}}', "bad_field", "UTC offset"),
        ('{"type":"subscribe","pattern":"a.*","from":{"after_seq":1}}', "bad_field", "only supports"),
        ('{"type":"ack","channel":"a","consumer":"c","seq":"9"}', "bad_field", "seq: must be an integer"),
        ('{"type":"ack","consumer":"c","seq":9}', "bad_message", "missing field 'channel'"),
        ('{"type":"subscribe","pattern":"a.*","consumer":"c"}', "bad_field", "consumer: a durable consumer reads one"),
        (
            '{"type":"subscribe","channel":"a","consumer":"c","from":{"since":"2026-11-23T10:00:00+00:00"}}',
            "bad_field",
            "from: a new consumer starts",
        ),
        ('{"type":"publish","channel":"a","payload":1,"time":"yesterday"}', "bad_field", "time: must be an ISO 8601"),
        ('{"type":"publish","channel":"a","payload":1,"key":""}', "bad_field", "key: must be a string"),
        ('{"type":"publish","channel":"a"}', "bad_message", "missing field 'payload'"),
        ('{"type":"ping","ref":[1]}', "bad_field", "ref: must be"),
    ],
)
def test_bad_frames_name_what_is_wrong(data, code, says):
    problem = error_of(data)
    assert problem.code == code
    assert says in problem.message


def test_the_ref_comes_back_with_the_error():
    assert error_of('{"type":"auth","ref":"r9"}').ref == "r9"


def test_oversized_messages_are_refused_before_parsing():
    big = json.dumps({"type": "publish", "channel": "a", "payload": "x" * wire.MAX_MESSAGE_BYTES})
    assert error_of(big).code == "too_big"


def test_deeply_nested_json_is_an_error_not_a_crash():
    assert error_of("[" * 30_000 + "]" * 30_000).code in ("malformed_json", "bad_message")


def test_frames_carry_the_length_in_the_right_form():
    assert wire.frame(b"x" * 125)[:2] == b"\x81\x7d"
    assert wire.frame(b"x" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert wire.frame(b"x" * 65536)[:2] == b"\x81\x7f" and len(wire.frame(b"x" * 65536)) == 65536 + 10
    assert wire.close_frame(4009, "slow consumer") == b"\x88\x0f\x0f\xa9slow consumer"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
fields = st.sampled_from(["type", "channel", "pattern", "token", "from", "ref", "seq", "consumer", "payload"])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_protocol_errors(data):
    try:
        wire.decode(data)
    except ProtocolError as problem:
        assert problem.message


@settings(max_examples=500, deadline=None)
@given(st.sampled_from([*wire.TYPES, "x"]), st.dictionaries(fields, json_values, max_size=5))
def test_random_messages_only_raise_protocol_errors(kind, body):
    body["type"] = kind
    try:
        wire.decode(json.dumps(body))
    except ProtocolError as problem:
        assert problem.code and problem.message
