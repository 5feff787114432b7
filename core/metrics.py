"""The worker's process metrics; they take a registry (tests use a fresh one)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.batches = Counter("shenpi_batches", "Input records processed by the worker", registry=registry)
        self.batch_seconds = Histogram("shenpi_batch_duration_seconds", "Time to process one take of records",
                                       buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
                                       registry=registry)
        self.events = Counter("shenpi_stream_events", "Events seen by the worker, by outcome", ["outcome"],
                              registry=registry)
        self.lag = Gauge("shenpi_consumer_lag", "Records not yet consumed, per partition", ["topic", "partition"],
                         registry=registry)
        self.propagation = Counter("shenpi_propagation_attempts", "Calls to the platform, by result", ["result"],
                                   registry=registry)
        self.notifications = Counter("shenpi_notifications", "Alert notifications, by result", ["result"],
                                     registry=registry)
        self.db_retries = Counter("shenpi_db_retries", "Units of work run again after a transient database failure",
                                  ["work"], registry=registry)
        self.timer_failures = Counter("shenpi_timer_failures", "Rounds of a periodic task that failed (tried again"
                                      " at the next round)", ["timer"], registry=registry)
