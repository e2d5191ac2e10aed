"""Prometheus metrics node and hub both publish: how old their last backup is."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from campus.web.usecase import off_loop


def backup_gauges(last_ms: int, now: float | None = None) -> Iterator[Metric]:
    """The last backup's time and age; the age is absent (no sample) while none was ever taken,
    so an alert on ``absent(campus_backup_age_seconds) or campus_backup_age_seconds > …`` fires."""
    yield GaugeMetricFamily("campus_backup_last_timestamp_seconds",
                            "When the last backup of this store was taken (0: never)", value=last_ms / 1000)
    if last_ms:
        age = max(0.0, (now if now is not None else time.time()) - last_ms / 1000)
        yield GaugeMetricFamily("campus_backup_age_seconds", "Age of the last backup of this store", value=age)


class FunctionCollector(Collector):
    def __init__(self, collect: Callable[[], Iterator[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterator[Metric]:
        yield from self._collect()


def metrics_route(*collectors: Collector) -> Callable[[Request], Awaitable[Response]]:
    """A ``/metrics`` endpoint over ``collectors``, read off the event loop (they may query the store)."""
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)

    async def metrics(_request: Request) -> Response:
        return Response(await off_loop(generate_latest, registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
