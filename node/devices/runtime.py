"""What the terminal endpoints keep in memory while the node runs: each terminal's request rate
and the counters ``/metrics`` shows for it (counts only: serial numbers, no personal data)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from campus.node.devices.punches import PunchCounts
from campus.node.devices.settings import DeviceSettings

UNREGISTERED = "unregistered"  # the label of requests from serials the node does not serve


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, in bursts of up to as many."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.capacity = float(max(1, per_minute))
        self.rate = self.capacity / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return allowed


class StoreGauges(Collector):
    """Gauges read from the store at each scrape: last contact, queued and failed commands,
    punches today, per terminal."""

    def __init__(self, read: Callable[[], list[dict[str, Any]]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        families = {
            "last_contact": GaugeMetricFamily("campus_device_last_contact_age_seconds",
                                              "Seconds since the terminal last called", labels=["serial", "status"]),
            "queued": GaugeMetricFamily("campus_device_commands_queued", "Commands waiting for the terminal",
                                        labels=["serial"]),
            "failed": GaugeMetricFamily("campus_device_commands_failed", "Commands the terminal answered with a failure",
                                        labels=["serial"]),
            "punches_today": GaugeMetricFamily("campus_device_punches_today", "Punches of the campus's day so far",
                                               labels=["serial"]),
        }
        for row in self.read():
            if row["last_contact_age"] is not None:
                families["last_contact"].add_metric([row["serial"], row["status"]], row["last_contact_age"])
            for key in ("queued", "failed", "punches_today"):
                families[key].add_metric([row["serial"]], row[key])
        yield from families.values()


class DeviceRuntime:
    """The settings, rate limiter and counters of one node's terminal endpoints."""

    def __init__(self, settings: DeviceSettings) -> None:
        self.settings = settings
        self.limiter = RateLimiter(settings.requests_per_minute)
        self.registry = CollectorRegistry()
        self.requests = Counter("campus_device_requests", "Requests from terminals, by endpoint and outcome",
                                ["serial", "endpoint", "outcome"], registry=self.registry)
        self.punches = Counter("campus_device_punches", "Punch lines received, by what became of them",
                               ["serial", "result"], registry=self.registry)
        self.commands_sent = Counter("campus_device_commands_sent", "Commands sent to terminals", ["serial"],
                                     registry=self.registry)
        self.command_failures = Counter("campus_device_command_failures", "Command results other than Return=0",
                                        ["serial"], registry=self.registry)
        self.bytes_received = Counter("campus_device_bytes_received", "Request bytes from terminals", ["serial"],
                                      registry=self.registry)

    def watch_store(self, read: Callable[[], list[dict[str, Any]]]) -> None:
        self.registry.register(StoreGauges(read))

    def count_punches(self, serial: str, counts: PunchCounts) -> None:
        for result in ("marked", "unmatched", "leaving", "staff", "stray", "rejected", "duplicates", "malformed"):
            value = getattr(counts, result)
            if value:
                self.punches.labels(serial, result).inc(value)
