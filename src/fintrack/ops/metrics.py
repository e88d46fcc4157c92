"""The Prometheus metrics every part of FinTrack reports into, in one registry."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

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


class _QueuedBytes:
    """What each hub connection has waiting in its outgoing buffer, read at scrape time: a histogram across
    connections (one series, whatever the number of sockets) and the largest one."""

    BUCKETS = (0, 1024, 16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024)

    def __init__(self) -> None:
        self.sizes: Callable[[], Iterable[int]] | None = None

    def collect(self) -> Iterator[Metric]:
        sizes = sorted(self.sizes()) if self.sizes is not None else []
        buckets = [(str(b), float(bisect.bisect_right(sizes, b))) for b in self.BUCKETS]
        yield HistogramMetricFamily(
            "hub_connection_queued_bytes",
            "Bytes waiting in each hub connection's outgoing buffer (across connections, at scrape time)",
            buckets=[*buckets, ("+Inf", float(len(sizes)))],
            sum_value=float(sum(sizes)),
        )
        yield GaugeMetricFamily(
            "hub_connection_queued_bytes_max",
            "The largest outgoing buffer of a hub connection",
            value=sizes[-1] if sizes else 0,
        )


_QUEUED = _QueuedBytes()
REGISTRY.register(_QUEUED)


def watch_hub_buffers(sizes: Callable[[], Iterable[int]]) -> None:
    _QUEUED.sizes = sizes


class _ScrapeTime:
    """Gauges read from a function at each scrape: the backup status file, written by `fintrack backup` processes
    (a systemd timer, another container) that never serve /metrics themselves."""

    def __init__(self) -> None:
        self.read: Callable[[], Iterable[tuple[str, str, float]]] | None = None

    def collect(self) -> Iterator[Metric]:
        for name, help_text, value in self.read() if self.read is not None else ():
            yield GaugeMetricFamily(name, help_text, value=value)


_BACKUPS = _ScrapeTime()
REGISTRY.register(_BACKUPS)


def watch_backups(read: Callable[[], Iterable[tuple[str, str, float]]]) -> None:
    """`read` returns (name, help, value) for each backup_* gauge (fintrack.backup.status.gauges)."""
    _BACKUPS.read = read


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

# Hub webhooks (fintrack.hub.webhooks).
HUB_WEBHOOK_REQUESTS = Counter(
    "hub_webhook_requests_total",
    "Alerts received on hub webhooks, by outcome (published, duplicate, or why they were refused)",
    ["outcome"],
    registry=REGISTRY,
)
