"""How an alert's body is read, and which senders an allow-list admits: pure, no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from fintrack.hub.webhooks import (
    BodyTooLarge,
    InvalidAlert,
    InvalidAllow,
    NotUtf8,
    allowed_ip,
    check_allow,
    decode,
    parse,
)


def test_a_json_message_is_the_payload_without_its_secret():
    alert = parse('{"secret": "s3", "ticker": "BTCUSDT", "key": "BTC", "id": 7, "time": "2026-11-23T10:00:00Z"}')
    assert alert.payload == {"ticker": "BTCUSDT", "key": "BTC", "id": 7, "time": "2026-11-23T10:00:00Z"}
    assert (alert.secret, alert.key, alert.idempotency_key) == ("s3", "BTC", "7")
    assert alert.producer_time == datetime(2026, 11, 23, 10, tzinfo=UTC)


def test_an_explicit_idempotency_key_wins_over_id_and_a_passphrase_is_a_secret():
    alert = parse('{"passphrase": "p", "idempotency_key": "k", "id": "order-1"}')
    assert (alert.secret, alert.idempotency_key, alert.payload) == ("p", "k", {"idempotency_key": "k", "id": "order-1"})


@pytest.mark.parametrize("sent_id", ["true", "{}", '""', '"' + "x" * 201 + '"'])
def test_an_id_that_cannot_be_a_key_is_only_payload(sent_id):
    assert parse(f'{{"id": {sent_id}}}').idempotency_key is None


@pytest.mark.parametrize("time", ["{{timenow}}", "yesterday", "2026-13-45T00:00:00Z", 1700000000])
def test_a_time_that_is_not_iso_8601_is_only_payload(time):
    assert parse(json.dumps({"time": time})).producer_time is None


def test_a_time_without_an_offset_is_utc():
    assert parse('{"time": "2026-11-23T10:00:00"}').producer_time == datetime(2026, 11, 23, 10, tzinfo=UTC)


def test_text_is_text_and_a_first_secret_line_is_taken_off():
    assert parse("BTCUSDT crossed 42000").payload == {"text": "BTCUSDT crossed 42000"}
    alert = parse("secret = abc\r\nline one\nline two")
    assert (alert.secret, alert.payload) == ("abc", {"text": "line one\nline two"})
    assert parse("my secret=abc is not a secret line").secret is None


@pytest.mark.parametrize("body", ["42", '["a"]', '"x"', "null"])
def test_json_that_is_not_an_object_is_text(body):
    assert parse(body).payload == {"text": body}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"a": }', "body"),
        ("secret=abc\n  \n", "body"),
        ('{"key": 1}', "key"),
        ('{"idempotency_key": ""}', "idempotency_key"),
    ],
)
def test_bodies_that_cannot_be_published_name_what_is_wrong(body, field):
    with pytest.raises(InvalidAlert) as refused:
        parse(body)
    assert refused.value.details["field"] == field


def test_decode_refuses_large_non_utf8_and_empty_bodies():
    with pytest.raises(BodyTooLarge):
        decode(b"x" * (64 * 1024 + 1))
    with pytest.raises(NotUtf8):
        decode(b"\xff")
    with pytest.raises(InvalidAlert):
        decode(b" \n\t")
    assert decode("olá".encode()) == "olá"


def test_the_allow_list_is_normalised_and_keeps_the_preset_by_name():
    assert check_allow([" TradingView", "10.0.0.0/8", "2001:DB8::1", "10.0.0.0/8"]) == [
        "tradingview",
        "10.0.0.0/8",
        "2001:db8::1/128",
    ]
    assert check_allow(None) is None


@pytest.mark.parametrize("entries", [[], ["10.0.0.1/8"], ["example.com"], ["1.2.3.4"] * 51])
def test_a_bad_allow_list_is_refused(entries):
    with pytest.raises(InvalidAllow):
        check_allow(entries)


def test_the_tradingview_preset_admits_its_four_senders_only():
    allow = ["tradingview"]
    for ip in ("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7", "::ffff:52.32.178.7"):
        assert allowed_ip(allow, ip), ip
    for ip in ("52.32.178.8", "127.0.0.1", "", None, "not an ip"):
        assert not allowed_ip(allow, ip), ip
    assert allowed_ip(None, None)
