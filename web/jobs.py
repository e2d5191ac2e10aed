"""Scheduled jobs of a node or the hub: each runs once at start, then every interval, on its own thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("campus.jobs")


class Jobs:
    def __init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def every(self, seconds: float, name: str, job: Callable[[], object], quiet: bool = False) -> None:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    outcome = job()
                    (log.debug if quiet else log.info)("job %s done: %s", name, outcome)
                except Exception:  # a job must keep its schedule; the failure is logged in full
                    log.exception("job %s failed", name)
                self._stop.wait(seconds)

        thread = threading.Thread(target=run, name=f"job:{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
