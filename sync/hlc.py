"""Hybrid logical clock: wall-clock milliseconds in the high bits, a counter in the low 16.

Timestamps only ever grow, even when the wall clock jumps back or the process restarts
(pass the last persisted value to ``HybridLogicalClock(last=...)``), and a received
timestamp pushes the clock past it, so causality is kept across nodes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1
# A remote clock this far ahead of ours is refused rather than adopted forever.
MAX_FORWARD_DRIFT_MS = 24 * 3600 * 1000


class ClockDriftError(ValueError):
    def __init__(self, remote: int, local_wall_ms: int) -> None:
        super().__init__(
            f"remote HLC {remote} is {physical_ms(remote) - local_wall_ms} ms ahead of this wall clock"
        )
        self.remote = remote


def pack(wall_ms: int, counter: int) -> int:
    return (wall_ms << COUNTER_BITS) | counter


def physical_ms(timestamp: int) -> int:
    return timestamp >> COUNTER_BITS


def counter_of(timestamp: int) -> int:
    return timestamp & COUNTER_MASK


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class HybridLogicalClock:
    def __init__(self, last: int = 0, wall: Callable[[], int] = wall_clock_ms) -> None:
        self._last = last
        self._wall = wall
        self._lock = threading.Lock()

    @property
    def last(self) -> int:
        return self._last

    def now(self) -> int:
        """A timestamp for a local event: greater than every timestamp seen before."""
        with self._lock:
            self._last = max(pack(self._wall(), 0), self._last + 1)
            return self._last

    def observe(self, remote: int) -> int:
        """Take in a timestamp from another node; the result is greater than both."""
        with self._lock:
            wall = self._wall()
            if physical_ms(remote) - wall > MAX_FORWARD_DRIFT_MS:
                raise ClockDriftError(remote, wall)
            self._last = max(pack(wall, 0), self._last + 1, remote + 1)
            return self._last

    def advance_past(self, persisted: int) -> None:
        """Make sure later timestamps exceed ``persisted`` (e.g. read back from the store)."""
        with self._lock:
            self._last = max(self._last, persisted)
