"""Prometheus figures, in a registry of the app's own (several apps may live in one process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from storage.events import Event, EventKind

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
        self.loop_lag = Histogram(
            "exquisite_loop_lag_seconds",
            "How late the event loop woke from a 50 ms sleep.",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2),
            registry=self.registry,
        )
        self.busy_refusals = Counter(
            "exquisite_busy_refusals_total",
            "Steps refused 503 busy while the instance was saturated.",
            registry=self.registry,
        )
        self.db_pool_wait = Histogram(
            "exquisite_db_pool_wait_seconds",
            "Time spent waiting for a pooled database connection.",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
            registry=self.registry,
        )

        self.ws_connections = Gauge(
            "exquisite_ws_connections", "Room websockets open on this instance.", registry=self.registry
        )
        self.ws_spectators = Gauge(
            "exquisite_ws_spectators", "Spectator websockets open on this instance.", registry=self.registry
        )
        self.steps_in_flight = Gauge(
            "exquisite_steps_in_flight", "Steps this instance is painting.", registry=self.registry
        )
        self.steps = Counter(
            "exquisite_steps", "Finished steps by status and reason.", ["status", "reason"], registry=self.registry
        )
        self.generator_latency = Histogram(
            "exquisite_generator_seconds",
            "Time the generator took for a step that produced an image.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120),
            registry=self.registry,
        )
        self.generator_failures = Counter(
            "exquisite_generator_failures", "Generator failures by reason.", ["reason"], registry=self.registry
        )
        # The alarm: a key refused, a model unknown or shut down, a quota exhausted (engine GeneratorUnavailable).
        self.generator_unavailable = Gauge(
            "exquisite_generator_unavailable",
            "1 while the generator cannot paint until an operator acts (key, model, quota), else 0.",
            registry=self.registry,
        )
        # Buckets from bench/seams.py: a blended true continuation scores ~0.1-0.3, a visible seam
        # 1-4; a faithful generator drifts 1-6 grey levels from its context, one ignoring it 15-60.
        self.seam_score = Histogram(
            "exquisite_seam_score",
            "Seam score of committed tiles, worst edge (1 = a step as large as the neighbour's own texture).",
            buckets=(0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8),
            registry=self.registry,
        )
        self.context_drift = Histogram(
            "exquisite_context_drift",
            "Grey levels the generator's version of the neighbours strayed from them (before correction).",
            buckets=(1, 2, 4, 6, 8, 12, 16, 24, 32, 64),
            registry=self.registry,
        )

        self.rooms = Gauge(
            "exquisite_rooms",
            "Rooms by status, across all instances (read at scrape time).",
            ["status"],
            registry=self.registry,
        )
        self.steps_running = Gauge(
            "exquisite_steps_running",
            "Running steps across all instances, and how many are stuck.",
            ["stuck"],
            registry=self.registry,
        )

    def track_live(
        self, connections: Callable[[], int], spectators: Callable[[], int], painting: Callable[[], int]
    ) -> None:
        self.ws_connections.set_function(connections)
        self.ws_spectators.set_function(spectators)
        self.steps_in_flight.set_function(painting)

    def count_outcome(self, events: list[Event]) -> None:
        """Counts finished steps (and committed tiles' seam scores) among a step's events."""
        for event in events:
            if event.kind == EventKind.STEP_COMMITTED:
                self.steps.labels("committed", "").inc()
                self.seam_score.observe(event.data["tile"]["seam_score"])
                if event.data["tile"].get("context_drift") is not None:
                    self.context_drift.observe(event.data["tile"]["context_drift"])
            elif event.kind == EventKind.STEP_ABORTED:
                self.steps.labels("aborted", event.data["reason"]).inc()

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def track_pool(self, size: Callable[[], int], idle: Callable[[], int]) -> None:
        """Reads the pool at scrape time rather than on every acquire."""
        self.db_pool_size.set_function(size)
        self.db_pool_in_use.set_function(lambda: size() - idle())

    def track_pixel_pool(self, busy_seconds: Callable[[], float], workers: int) -> None:
        """The pixel pool's busy time, read at scrape time: process-wide, like the pool."""
        self.registry.register(_PixelPool(busy_seconds, workers))

    def track_tile_cache(self, hits: Callable[[], int], misses: Callable[[], int], size: Callable[[], int]) -> None:
        """The decoded-tile cache's lookups, read at scrape time: a miss decodes a PNG."""
        self.registry.register(_TileCache(hits, misses, size))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _PixelPool(Collector):
    def __init__(self, busy_seconds: Callable[[], float], workers: int) -> None:
        self._busy_seconds = busy_seconds
        self._workers = workers

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "exquisite_pixel_busy_seconds",
            "Time the pixel pool's workers spent on jobs, summed over workers: its rate over "
            "exquisite_pixel_workers is the pool's utilisation.",
            value=self._busy_seconds(),
        )
        yield GaugeMetricFamily("exquisite_pixel_workers", "Workers in the pixel pool.", value=self._workers)


class _TileCache(Collector):
    def __init__(self, hits: Callable[[], int], misses: Callable[[], int], size: Callable[[], int]) -> None:
        self._hits, self._misses, self._size = hits, misses, size

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "exquisite_tile_cache_hits", "Neighbour tiles found decoded in the tile cache.", value=self._hits()
        )
        yield CounterMetricFamily(
            "exquisite_tile_cache_misses", "Neighbour tiles whose PNG had to be read and decoded.", value=self._misses()
        )
        yield GaugeMetricFamily(
            "exquisite_tile_cache_bytes", "Bytes of decoded pixels the tile cache holds.", value=self._size()
        )
