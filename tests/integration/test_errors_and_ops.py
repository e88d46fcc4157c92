"""Every error has one shape; the operations surface tells the truth."""

from __future__ import annotations

import json

import pytest


def assert_error_shape(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]


async def test_oversized_bodies_are_refused_before_parsing(alice):
    big = json.dumps({"name": "x" * 2_000_000})
    response = await alice.post("/api/v1/accounts", content=big, headers={"Content-Type": "application/json"})
    assert_error_shape(response, 413, "body_too_large")


async def test_chunked_bodies_are_measured_too(alice):
    async def chunks():
        for _ in range(30):
            yield b"x" * 50_000

    response = await alice.post("/api/v1/accounts", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error_shape(response, 413, "body_too_large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_wrong_content_types_are_refused(alice, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = await alice.post("/api/v1/accounts", content=b'{"name": "x"}', headers=headers)
    assert_error_shape(response, 415, "unsupported_media_type")
    assert (await alice.get("/api/v1/accounts")).json() == []


@pytest.mark.parametrize("body", [b"{", b"[]", b'"name"', b"null", b'{"name": 1e999}'])
async def test_malformed_json_is_a_validation_error(alice, body):
    response = await alice.post("/api/v1/accounts", content=body, headers={"Content-Type": "application/json"})
    assert_error_shape(response, 422, "validation_error")


async def test_bytes_that_are_not_utf8_are_a_bad_request(alice):
    body = b'{"name": "\xff"}'
    response = await alice.post("/api/v1/accounts", content=body, headers={"Content-Type": "application/json"})
    assert_error_shape(response, 400, "bad_request")


async def test_unknown_routes_and_methods_have_the_error_shape(alice):
    assert_error_shape(await alice.get("/api/v1/nope"), 404, "not_found")
    assert_error_shape(await alice.put("/api/v1/transactions", json={}), 405, "method_not_allowed")


async def test_ids_out_of_range_are_validation_errors(alice):
    assert_error_shape(await alice.get("/api/v1/accounts/0"), 422, "validation_error")
    assert_error_shape(await alice.get(f"/api/v1/accounts/{2**64}"), 422, "validation_error")
    assert_error_shape(await alice.get("/api/v1/accounts/abc"), 422, "validation_error")


async def test_request_id_is_echoed_or_made(client):
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    hostile = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces" and len(hostile.headers["x-request-id"]) == 32


async def test_metrics_count_requests_by_route_template(alice):
    await alice.get("/api/v1/accounts/123456")
    text = (await alice.client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/api/v1/accounts/{account_id}",status="404"}' in text
    assert 'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/accounts/{account_id}"}' in text
    assert 'le="10.0"' in text
    assert "# TYPE db_connections_active gauge" in text
    assert "# TYPE import_sessions_total counter" in text


async def test_openapi_document_and_docs_are_served(client):
    doc = (await client.get("/api/v1/openapi.json")).json()
    assert doc["info"]["title"] == "FinTrack" and "/api/v1/transactions" in doc["paths"]
    assert (await client.get("/api/v1/docs")).status_code == 200


async def test_readyz_fails_when_migrations_are_behind(settings):
    import httpx

    from fintrack import pgserver
    from fintrack.db import Database
    from fintrack.main import create_app

    url = pgserver.create_database("fintrack_unmigrated")
    database = Database.connect(url, pool_size=1)
    app = create_app(settings, database=database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/readyz")
    await database.close()
    assert_error_shape(response, 503, "not_ready")
    assert "fintrack db upgrade" in response.json()["error"]["message"]
