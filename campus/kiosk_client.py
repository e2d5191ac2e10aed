"""A reference kiosk client: signs batches of marks, and buffers them while the node is away.

Used by ``scripts/kiosk_sim.py`` and the kiosk load benchmark; a kiosk vendor can follow it.
Every mark gets its id when it is made, so sending the buffer again after a lost answer is
harmless: the node answers ``duplicate`` for marks it already holds.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from campus.node.teaching.kiosks import signature


@dataclass
class Kiosk:
    url: str  # the node, e.g. http://127.0.0.1:8100
    device_id: str
    secret: str
    buffer: list[dict[str, Any]] = field(default_factory=list)
    timeout: float = 5.0

    def __post_init__(self) -> None:
        self.http = httpx.Client(timeout=self.timeout)

    def mark(self, student_number: str, mark: str | None = None) -> dict[str, Any]:
        """Record a check-in now (kept in the buffer until the node has it)."""
        item = {"id": str(uuid.uuid4()), "student_number": student_number,
                "device_time": datetime.now(UTC).isoformat()}
        if mark:
            item["mark"] = mark
        self.buffer.append(item)
        return item

    def post(self, marks: list[dict[str, Any]]) -> httpx.Response:
        body = json.dumps({"marks": marks}, ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        return self.http.post(f"{self.url}/kiosk/v1/marks", content=body, headers={
            "content-type": "application/json", "x-kiosk-device": self.device_id, "x-kiosk-timestamp": stamp,
            "x-kiosk-signature": signature(self.secret, stamp, body)})

    def flush(self, batch: int = 200) -> int:
        """Upload what is buffered; returns how many the node confirmed. Stops at the first failure
        (the node is away): the rest stays buffered for the next try."""
        confirmed = 0
        while self.buffer:
            chunk = self.buffer[:batch]
            try:
                answer = self.post(chunk)
            except httpx.TransportError:
                return confirmed
            if answer.status_code != 200:
                return confirmed
            results = answer.json()["results"]
            confirmed += sum(r["outcome"] != "rejected" for r in results)
            self.buffer = self.buffer[len(chunk):]  # rejected marks would be rejected again: dropped
        return confirmed

    def close(self) -> None:
        self.http.close()
