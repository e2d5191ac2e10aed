"""A node's ``/metrics`` for Prometheus: its log head, outbox, last sync and last backup. Counts
and ages only, no personal data (scraped inside the school's network, like the hub's)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response

from campus.node.ops.backup import last_backup
from campus.node.store import NodeStore
from campus.node.sync import replica_for
from campus.web.metrics import FunctionCollector, backup_gauges, metrics_route


def node_metrics(store: NodeStore, campus_id: str) -> Callable[[Request], Awaitable[Response]]:
    def collect() -> Iterator[Metric]:
        now = time.time()
        replica = replica_for(store, campus_id)
        head = replica.head()[0]
        yield GaugeMetricFamily("campus_log_head_seq", "This node's change-log head", value=head)
        yield GaugeMetricFamily("campus_outbox_changes", "Changes not yet pushed to the hub",
                                value=head - replica.pushed_seq())
        last_sync = replica.last_sync_ms()
        if last_sync:
            yield GaugeMetricFamily("campus_last_sync_age_seconds", "Age of the last successful sync",
                                    value=max(0.0, now - last_sync / 1000))
        yield from backup_gauges(last_backup(store), now)

    return metrics_route(FunctionCollector(collect))
