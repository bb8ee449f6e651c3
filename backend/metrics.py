"""Prometheus metrics (prometheus_client), exposed at /metrics behind `METRICS_TOKEN`.

Under gunicorn every process (web workers, RQ work-horses, CLI commands sharing the setting)
writes its samples to `PROMETHEUS_MULTIPROC_DIR` (set in the environment before the first import
of prometheus_client; gunicorn.conf.py empties it at start and marks dead workers) and a scrape
sums the files of all processes. Without that
setting (embedded demo, tests) the process's own registry is served.

The domain code records with one call each: `count_sync_ops`, `count_packet`,
`observe_route_solve`, `count_push`. The RQ queue depth is read from Redis at scrape time.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # each process writes its samples there from the first metric on
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

REQUEST_SECONDS = Histogram(
    "doorstep_http_request_duration_seconds",
    "Time to answer a request, by endpoint (the URL rule) and method.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REQUESTS = Counter("doorstep_http_requests_total", "Requests answered, by endpoint, method and status.", ["method", "endpoint", "status"])
SYNC_OPS = Counter("doorstep_sync_ops_total", "Sync ops answered, by their status.", ["status"])
PACKET_CACHE = Counter("doorstep_packet_cache_total", "Day packet pulls: served kept (hit) or built (miss).", ["result"])
ROUTE_SOLVE_SECONDS = Histogram(
    "doorstep_route_plan_solve_seconds",
    "Engine time of a route plan solve.",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)
PUSH_DELIVERIES = Counter("doorstep_push_deliveries_total", "Web push attempts, by result (sent, gone, refused, retry).", ["result"])

_NO_ROUTE = "(no route)"


# --- the one-line calls of the domain code ----------------------------------------------


def count_sync_ops(results: Iterable[dict[str, Any]]) -> None:
    """Each answered op of a batch, by its status (applied, duplicate, conflict, rejected)."""
    for result in results:
        SYNC_OPS.labels(status=str(result.get("status"))).inc()


def count_packet(*, hit: bool) -> None:
    PACKET_CACHE.labels(result="hit" if hit else "miss").inc()


def observe_route_solve(seconds: float) -> None:
    ROUTE_SOLVE_SECONDS.observe(seconds)


def count_push(result: str) -> None:
    PUSH_DELIVERIES.labels(result=result).inc()


# --- requests and scrapes -------------------------------------------------------------------


def init_app(app: Any) -> None:
    """Time every request by its URL rule (a bounded set of labels, unlike raw paths)."""
    from flask import g, request

    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe_request(response):
        started = g.get("metrics_started")
        if started is not None:
            endpoint = request.url_rule.rule if request.url_rule else _NO_ROUTE
            REQUEST_SECONDS.labels(request.method, endpoint).observe(time.perf_counter() - started)
            REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        return response


def token_matches(app: Any, presented: str | None) -> bool:
    """`Authorization: Bearer <METRICS_TOKEN>`; no token configured: the endpoint is off."""
    expected = app.config.get("METRICS_TOKEN") or ""
    if not expected or not presented:
        return False
    scheme, _, value = presented.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), expected.encode())


# probes and scrapes give a hung Redis this long, not for ever
PROBE_TIMEOUT_S = 2.0


def redis_connection(app: Any):
    """A connection with short time-outs for probes and scrapes (a hung Redis must not hang them)."""
    from redis import Redis

    connections = app.extensions.setdefault("doorstep_probe_redis", {})
    url = app.config["REDIS_URL"]
    if url not in connections:
        connections[url] = Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT_S, socket_timeout=PROBE_TIMEOUT_S)
    return connections[url]


class QueueDepth:
    """The RQ queues' lengths, read from Redis when scraped (no process keeps them)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self):
        gauge = GaugeMetricFamily("doorstep_rq_queue_depth", "Jobs waiting in an RQ queue.", labels=["queue"])
        if self.app.config.get("JOBS_BACKEND") == "rq":
            from redis.exceptions import RedisError
            from rq import Queue

            try:
                depths = [(queue.name, queue.count) for queue in Queue.all(connection=redis_connection(self.app))]
            except RedisError as exc:  # the scrape still answers; /readyz reports Redis down
                self.app.logger.warning("metrics: RQ queue depth not read: %s", type(exc).__name__)
                depths = []
            for name, depth in depths:
                gauge.add_metric([name], depth)
        yield gauge


def exposition(app: Any) -> tuple[bytes, str]:
    """The text format for one scrape: every process's samples and the queue depths."""
    scrape = CollectorRegistry()
    scrape.register(QueueDepth(app))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(scrape)
        return generate_latest(scrape), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY) + generate_latest(scrape), CONTENT_TYPE_LATEST
