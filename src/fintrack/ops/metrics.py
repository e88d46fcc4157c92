"""The Prometheus metrics every part of FinTrack reports into, in one registry."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["method", "route", "status"], registry=REGISTRY
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
DB_CONNECTIONS_ACTIVE = Gauge(
    "db_connections_active", "Database connections checked out of the pool", registry=REGISTRY
)
IMPORT_SESSIONS = Counter(
    "import_sessions_total",
    "Statement import sessions, by format and outcome",
    ["format", "status"],
    registry=REGISTRY,
)
JOB_QUEUE_DEPTH = Gauge(
    "job_queue_depth",
    "Background jobs by queue and status (refreshed every 15 s)",
    ["queue", "status"],
    registry=REGISTRY,
)

# The hub's data plane (fintrack.hub.server).
HUB_CONNECTIONS = Gauge("hub_connections_active", "Open hub WebSocket connections", registry=REGISTRY)
HUB_SUBSCRIPTIONS = Gauge("hub_subscriptions_active", "Hub channel and pattern subscriptions", registry=REGISTRY)
HUB_DELIVERIES = Counter("hub_deliveries", "Publications written to subscriber sockets", registry=REGISTRY)
HUB_LATENCY = Histogram(
    "hub_delivery_latency_seconds",
    "From a publication's ingest (commit) to its write on the last subscriber socket",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
HUB_SLOW_DISCONNECTS = Counter(
    "hub_slow_consumer_disconnects", "Subscribers closed because their buffer overflowed", registry=REGISTRY
)
HUB_RESUMES = Counter("hub_resumes", "Subscriptions that replayed history from a resume position", registry=REGISTRY)
HUB_GAPS = Counter("hub_gaps", "Gap notices sent to subscribers", registry=REGISTRY)
HUB_PUBLICATIONS = Counter(
    "hub_publications_total",
    "Hub publications committed to history (repeats of an idempotency key not counted), by namespace",
    ["namespace"],
    registry=REGISTRY,
)


def watch_pool(checked_out: Callable[[], int]) -> None:
    DB_CONNECTIONS_ACTIVE.set_function(lambda: float(checked_out()))


def render() -> bytes:
    return generate_latest(REGISTRY)


__all__ = [
    "CONTENT_TYPE",
    "DB_CONNECTIONS_ACTIVE",
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "HUB_PUBLICATIONS",
    "IMPORT_SESSIONS",
    "JOB_QUEUE_DEPTH",
    "render",
]
