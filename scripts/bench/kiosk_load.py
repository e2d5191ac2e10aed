"""Kiosk load: 50 kiosks on loopback marking in bursts against a node with 5,000 students.

    .venv/bin/python scripts/bench/kiosk_load.py [--kiosks 50] [--students 5000] [--rate 200] [--seconds 30]

The node runs as ``campus node serve`` in its own process. Each kiosk sends bursts of 1–5 marks
(one signed request per burst) at random intervals so that together they offer ``--rate``
marks a second. The latency of a mark is its request's round trip: HTTP in, the mark matched
to its lesson and stored with its change-log rows, the answer out. Prints a table, ends with
``p99: X ms`` and ``lost: N`` (marks sent minus marks stored, counted afterwards), and writes
JSON to bench-results/kiosk_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kiosk_sim import NodeProcess, seed, stored_marks  # noqa: E402

from campus.node.teaching.kiosks import signature  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run_kiosk(client: httpx.AsyncClient, url: str, device: dict[str, str], numbers: list[str], rate: float,
                    until: float, rng: random.Random, latencies: list[float], sent: list[int], failures: list[str],
                    server: list[float]) -> None:
    """One kiosk: bursts of 1–5 marks (mean 3), one signed request each, ``rate`` marks a second."""
    mean_burst = 3.0
    while time.monotonic() < until:
        await asyncio.sleep(rng.expovariate(rate / mean_burst))
        marks = [{"id": str(uuid.uuid4()), "student_number": rng.choice(numbers),
                  "device_time": datetime.now(UTC).isoformat()} for _ in range(rng.randint(1, 5))]
        body = json.dumps({"marks": marks}).encode()
        stamp = str(int(time.time()))
        began = time.perf_counter()
        sent[0] += len(marks)
        try:
            answer = await client.post(f"{url}/kiosk/v1/marks", content=body, headers={
                "content-type": "application/json", "x-kiosk-device": device["id"],
                "x-kiosk-timestamp": stamp, "x-kiosk-signature": signature(device["secret"], stamp, body)})
        except httpx.TransportError as exc:
            failures.append(str(exc))
            continue
        elapsed = (time.perf_counter() - began) * 1000
        if answer.status_code != 200:
            failures.append(f"{answer.status_code} {answer.text[:100]}")
            continue
        latencies.extend([elapsed] * len(marks))
        timing = answer.headers.get("server-timing", "")
        if "dur=" in timing:
            server.append(float(timing.split("dur=")[1]))


async def drive(url: str, devices: list[dict[str, str]], numbers: list[str], rate: float,
                seconds: float) -> tuple[list[float], int, list[str], float, list[float]]:
    latencies: list[float] = []
    server: list[float] = []
    sent = [0]
    failures: list[str] = []
    began = time.monotonic()
    until = began + seconds
    per_kiosk = rate / len(devices)
    # One client process stands in for all the kiosks: a pool with a connection per kiosk.
    limits = httpx.Limits(max_connections=len(devices), max_keepalive_connections=len(devices))
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        await asyncio.gather(*(run_kiosk(client, url, device, numbers, per_kiosk, until, random.Random(i), latencies,
                                         sent, failures, server) for i, device in enumerate(devices)))
    return latencies, sent[0], failures, time.monotonic() - began, server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=50)
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=200.0, help="marks a second offered by all kiosks together")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    console = Console()
    directory = Path(tempfile.mkdtemp(prefix="campus-kiosk-load-"))
    began = time.perf_counter()
    config, numbers, devices = seed(directory / "node", args.students, args.kiosks)
    console.print(f"seeded {len(numbers)} students in {len(numbers) // 50} classes with a lesson on now, "
                  f"{len(devices)} kiosks, in {time.perf_counter() - began:.1f} s")
    node = NodeProcess(config)
    node.start()
    try:
        latencies, sent, failures, elapsed, server = asyncio.run(drive(node.url, devices, numbers, args.rate, args.seconds))
    finally:
        node.stop()
    stored = stored_marks(config)
    result = {"kiosks": args.kiosks, "students": len(numbers), "offered_rate": args.rate, "seconds": elapsed,
              "sent": sent, "stored": stored, "lost": sent - stored, "failures": len(failures),
              "marks_per_second": stored / args.seconds,  # marks made in the window, all stored afterwards
              "p50_ms": percentile(latencies, 0.50), "p95_ms": percentile(latencies, 0.95),
              "p99_ms": percentile(latencies, 0.99),
              "server_p50_ms": percentile(server, 0.50), "server_p99_ms": percentile(server, 0.99)}
    table = Table(title="Kiosk marks against one node")
    for column in ("kiosks", "students", "marks/s", "p50 ms", "p95 ms", "p99 ms", "store p99", "failures"):
        table.add_column(column, justify="right")
    table.add_row(str(args.kiosks), str(len(numbers)), f"{result['marks_per_second']:.0f}", f"{result['p50_ms']:.1f}",
                  f"{result['p95_ms']:.1f}", f"{result['p99_ms']:.1f}", f"{result['server_p99_ms']:.1f}",
                  str(len(failures)))
    console.print(table)
    if failures:
        console.print(f"first failure: {failures[0]}")
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "kiosk_load.json").write_text(json.dumps(result, indent=2))
    print(f"p99: {result['p99_ms']:.1f} ms")
    print(f"lost: {result['lost']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
