"""Kiosks marking at a steady rate against a node served in its own process, over real HTTP;
each acknowledged mark is kept with the moment its answer arrived."""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from campus.node.teaching.kiosks import signature

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from kiosk_sim import NodeProcess, seed  # noqa: E402

__all__ = ["KioskLoad", "NodeProcess", "mark_ids", "seed"]


@dataclass
class KioskLoad:
    """``kiosks`` threads sending a signed batch of ``burst`` marks each, together ``rate`` marks a second."""

    url: str
    devices: list[dict[str, str]]
    numbers: list[str]
    rate: float = 200.0
    burst: int = 5
    acked: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time of the answer, mark id)
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds)
    failures: list[str] = field(default_factory=list)
    sent: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(k,), daemon=True) for k in range(len(self.devices))]

    def _run(self, k: int) -> None:
        device, rng = self.devices[k], random.Random(k)
        interval = self.burst * len(self.devices) / self.rate  # seconds between this kiosk's requests
        with httpx.Client(timeout=10) as http:
            due = time.monotonic() + rng.uniform(0, interval)
            while not self._stop.is_set():
                self._stop.wait(max(0.0, due - time.monotonic()))
                if self._stop.is_set():
                    return
                due += interval
                marks = [{"id": str(uuid.uuid4()), "student_number": rng.choice(self.numbers),
                          "device_time": datetime.now(UTC).isoformat()} for _ in range(self.burst)]
                body = json.dumps({"marks": marks}).encode()
                stamp = str(int(time.time()))
                began = time.monotonic()
                try:
                    answer = http.post(f"{self.url}/kiosk/v1/marks", content=body, headers={
                        "content-type": "application/json", "x-kiosk-device": device["id"],
                        "x-kiosk-timestamp": stamp, "x-kiosk-signature": signature(device["secret"], stamp, body)})
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.failures.append(str(exc))
                    continue
                ended = time.monotonic()
                with self._lock:
                    self.sent += len(marks)
                    if answer.status_code == 200:
                        self.acked.extend((ended, m["id"]) for m in marks)
                        self.latencies.append((began, ended - began))
                    else:
                        self.failures.append(f"{answer.status_code} {answer.text[:200]}")

    def start(self) -> KioskLoad:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def acked_before(self, moment: float) -> set[str]:
        with self._lock:
            return {mark for at, mark in self.acked if at < moment}

    def acked_between(self, start: float, end: float) -> int:
        with self._lock:
            return sum(1 for at, _ in self.acked if start <= at < end)

    def p99_ms(self, start: float = 0.0, end: float = float("inf")) -> float:
        with self._lock:
            chosen = sorted(s for at, s in self.latencies if start <= at < end)
        return chosen[min(len(chosen) - 1, int(0.99 * len(chosen)))] * 1000 if chosen else 0.0


def mark_ids(database: Path) -> set[str]:
    db = sqlite3.connect(database)
    try:
        return {row[0] for row in db.execute("select id from attendance_marks")}
    finally:
        db.close()
