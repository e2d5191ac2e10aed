"""``/metrics`` for Prometheus: ingest counts, refused batches by reason, per-campus lag."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from campus.hub.sync import HubSync


class SyncCollector(Collector):
    def __init__(self, sync: HubSync) -> None:
        self.sync = sync

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily("campus_sync_changes_ingested", "Changes accepted from nodes",
                                  value=self.sync.counters.changes_ingested)
        refused = CounterMetricFamily("campus_sync_batches_refused", "Sync requests refused", labels=["reason"])
        for reason, count in sorted(self.sync.counters.refused.items()):
            refused.add_metric([reason], count)
        yield refused
        lag = GaugeMetricFamily("campus_sync_lag_changes", "Feed changes a campus has not pulled", labels=["campus"])
        seconds = GaugeMetricFamily("campus_sync_lag_seconds", "Age in seconds of the oldest change a campus has not pulled",
                                    labels=["campus"])
        quarantined = GaugeMetricFamily("campus_sync_quarantined", "1 while a campus is quarantined",
                                        labels=["campus"])
        for campus in self.sync.status():
            lag.add_metric([campus["campus_code"]], campus["lag_changes"])
            if campus["lag_seconds"] is not None:
                seconds.add_metric([campus["campus_code"]], campus["lag_seconds"])
            quarantined.add_metric([campus["campus_code"]], int(campus["quarantined"]))
        yield lag
        yield seconds
        yield quarantined


def metrics_endpoint(sync: HubSync) -> Callable[[Request], Awaitable[Response]]:
    registry = CollectorRegistry()
    registry.register(SyncCollector(sync))

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
