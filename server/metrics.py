"""Prometheus figures, in a registry of the app's own (several apps may live in one process)."""

from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "exquisite_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "exquisite_http_request_seconds",
            "HTTP request latency by route template.",
            ["route"],
            registry=self.registry,
        )
        self.db_pool_in_use = Gauge(
            "exquisite_db_pool_in_use",
            "Database connections checked out of the pool.",
            registry=self.registry,
        )
        self.db_pool_size = Gauge(
            "exquisite_db_pool_size", "Database connections open in the pool.", registry=self.registry
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def track_pool(self, size: Callable[[], int], idle: Callable[[], int]) -> None:
        """Reads the pool at scrape time rather than on every acquire."""
        self.db_pool_size.set_function(size)
        self.db_pool_in_use.set_function(lambda: size() - idle())

    def render(self) -> bytes:
        return generate_latest(self.registry)
