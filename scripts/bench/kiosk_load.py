"""Kiosk load: 50 kiosks on loopback marking in bursts against a node with 5,000 students, first
alone, then while the node pulls and applies 50,000 changes another campus made.

    .venv/bin/python scripts/bench/kiosk_load.py [--kiosks 50] [--students 5000] [--rate 200] [--seconds 30]
                                                 [--pull 50000]

Everything runs for real on loopback: a hub (``campus hub serve``), the campus under test BJ01
(``campus node serve``, enrolled there, syncing in the background as in production) and a second
campus SH01 whose ``--pull`` changes (leads, follow-ups and edits: leads are institution-wide, so
BJ01 takes every one of them) reach the hub through ``campus sync now``.

Each kiosk sends bursts of 1–5 marks (one signed request per burst) at random intervals so that
together they offer ``--rate`` marks a second. The latency of a mark is its request's round trip:
HTTP in, the mark matched to its lesson and stored with its change-log rows, the answer out.

Two runs, each on a freshly started node whose first sync round is held (the hub process is
stopped with SIGSTOP) until the kiosks have marked for ``--warm-up`` seconds, then released:

1. without pull: the round has nothing to take (the node's seed was pushed beforehand);
2. with pull: SH01's changes are at the hub, so the round pulls and applies all of them while
   the kiosks keep marking. The run lasts ``--seconds`` or until the round ends, if later.

The figure the target is about is p99 of the marks sent while the pull was applying (from the
release to the end of the round) over p99 of the run without pull. Prints a table, then
``p99: X ms`` and ``lost: N`` of the run without pull, ``p99 with pull: X ms``,
``ratio p99 with/without pull: X.XX`` and ``lost with pull: N``, and writes JSON to
bench-results/kiosk_load.json. ``--pull 0`` makes only the first run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from kiosk_sim import NodeProcess, seed, stored_marks  # noqa: E402
from sync_bench import HubProcess, add_campuses, make_changes  # noqa: E402

from campus.hub.bootstrap import init_hub  # noqa: E402
from campus.node.bootstrap import init_node  # noqa: E402
from campus.node.config import NodeConfig  # noqa: E402
from campus.node.store import NodeStore  # noqa: E402
from campus.node.teaching.kiosks import signature  # noqa: E402

ROUND_TIMEOUT_SECONDS = 600.0  # a sync round that has not ended by then is a failure, not a figure


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class PausableHub(HubProcess):
    """The hub process, which the bench can stop (SIGSTOP) and continue: a stopped hub accepts
    connections but answers nothing, so a node's sync round waits for it without failing."""

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def __exit__(self, *exc: object) -> None:
        self.resume()
        super().__exit__(*exc)


def sync_now(directory: Path) -> None:
    """``campus sync now`` for a node directory, as an admin would run it."""
    campus = Path(sys.executable).with_name("campus")
    done = subprocess.run([str(campus), "sync", "now", "--dir", str(directory)], capture_output=True, text=True,
                          timeout=ROUND_TIMEOUT_SECONDS)
    if done.returncode != 0:
        raise RuntimeError(f"campus sync now --dir {directory} failed: {done.stderr[-2000:]}")


def last_sync_ms(config: NodeConfig) -> int:
    """When the node last finished a sync round (its own state, read from its store file)."""
    db = sqlite3.connect(config.database_path, timeout=10)
    try:
        row = db.execute("select int_value from local_state where key = 'last_sync_ms'").fetchone()
        return int(row[0]) if row and row[0] is not None else 0
    finally:
        db.close()


@dataclass
class Run:
    """What one kiosk run saw: per mark, when its request began (monotonic s) and its latency (ms)."""

    samples: list[tuple[float, float]] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    sent: int = 0
    began: float = 0.0
    ended: float = 0.0
    released: float | None = None  # when the hub was let go: the sync round starts
    round_done: float | None = None  # when the node recorded the round's end

    def latencies(self, start: float = float("-inf"), end: float = float("inf")) -> list[float]:
        return [ms for at, ms in self.samples if start <= at <= end]


async def run_kiosk(client: httpx.AsyncClient, url: str, device: dict[str, str], numbers: list[str], rate: float,
                    keep_going: Callable[[], bool], rng: random.Random, run: Run) -> None:
    """One kiosk: bursts of 1–5 marks (mean 3), one signed request each, ``rate`` marks a second."""
    mean_burst = 3.0
    while keep_going():
        await asyncio.sleep(rng.expovariate(rate / mean_burst))
        marks = [{"id": str(uuid.uuid4()), "student_number": rng.choice(numbers),
                  "device_time": datetime.now(UTC).isoformat()} for _ in range(rng.randint(1, 5))]
        body = json.dumps({"marks": marks}).encode()
        stamp = str(int(time.time()))
        began = time.perf_counter()
        at = time.monotonic()
        run.sent += len(marks)
        try:
            answer = await client.post(f"{url}/kiosk/v1/marks", content=body, headers={
                "content-type": "application/json", "x-kiosk-device": device["id"],
                "x-kiosk-timestamp": stamp, "x-kiosk-signature": signature(device["secret"], stamp, body)})
        except httpx.TransportError as exc:
            run.failures.append(str(exc))
            continue
        elapsed = (time.perf_counter() - began) * 1000
        if answer.status_code != 200:
            run.failures.append(f"{answer.status_code} {answer.text[:100]}")
            continue
        run.samples.extend([(at, elapsed)] * len(marks))
        timing = answer.headers.get("server-timing", "")
        if "dur=" in timing:
            run.server.append(float(timing.split("dur=")[1]))


async def drive(url: str, devices: list[dict[str, str]], numbers: list[str], rate: float, seconds: float,
                warm_up: float, hub: PausableHub, config: NodeConfig) -> Run:
    """The kiosks mark for ``seconds``; after ``warm_up`` the hub is released and the node's first
    sync round goes ahead; the kiosks keep marking until that round has ended too."""
    run = Run(began=time.monotonic())
    synced_before = await asyncio.to_thread(last_sync_ms, config)
    until = run.began + seconds
    give_up = run.began + seconds + ROUND_TIMEOUT_SECONDS

    def keep_going() -> bool:
        now = time.monotonic()
        return now < give_up and (now < until or run.round_done is None)

    async def release_and_watch() -> None:
        await asyncio.sleep(warm_up)
        hub.resume()
        run.released = time.monotonic()
        while time.monotonic() < give_up:
            if await asyncio.to_thread(last_sync_ms, config) != synced_before:
                run.round_done = time.monotonic()
                return
            await asyncio.sleep(0.1)

    per_kiosk = rate / len(devices)
    # One client process stands in for all the kiosks: a pool with a connection per kiosk.
    limits = httpx.Limits(max_connections=len(devices), max_keepalive_connections=len(devices))
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(release_and_watch(), *(
            run_kiosk(client, url, device, numbers, per_kiosk, keep_going, random.Random(i), run)
            for i, device in enumerate(devices)))
    run.ended = time.monotonic()
    return run


def measure(config: NodeConfig, hub: PausableHub, devices: list[dict[str, str]], numbers: list[str],
            args: argparse.Namespace) -> dict[str, Any]:
    """One run on a freshly started node whose first sync round waits for the hub's release."""
    stored_before = stored_marks(config)
    hub.pause()
    node = NodeProcess(config)
    try:
        node.start()
        run = asyncio.run(drive(node.url, devices, numbers, args.rate, args.seconds, args.warm_up, hub, config))
    finally:
        hub.resume()
        node.stop()
    stored = stored_marks(config) - stored_before
    elapsed = run.ended - run.began
    every = run.latencies()
    during = run.latencies(run.released or 0.0, run.round_done or 0.0) if run.round_done else []
    return {
        "seconds": round(elapsed, 2), "sent": run.sent, "stored": stored, "lost": run.sent - stored,
        "failures": len(run.failures), "first_failure": run.failures[0] if run.failures else None,
        "marks_per_second": stored / elapsed,
        "p50_ms": percentile(every, 0.50), "p95_ms": percentile(every, 0.95), "p99_ms": percentile(every, 0.99),
        "server_p50_ms": percentile(run.server, 0.50), "server_p99_ms": percentile(run.server, 0.99),
        "sync_round_seconds": (round(run.round_done - run.released, 2)
                               if run.round_done is not None and run.released is not None else None),
        "marks_during_round": len(during),
        "during_round_p50_ms": percentile(during, 0.50), "during_round_p99_ms": percentile(during, 0.99),
    }


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=50)
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=200.0, help="marks a second offered by all kiosks together")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each run")
    parser.add_argument("--pull", type=int, default=50_000,
                        help="changes the other campus makes, which the node pulls in the second run (0: no second run)")
    parser.add_argument("--warm-up", type=float, default=2.0, help="seconds of marking before the sync round starts")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    console = Console()
    base = Path(tempfile.mkdtemp(prefix="campus-kiosk-load-"))

    hub_config = init_hub(base / "hub", admin_password="bench-admin-password")
    tokens = add_campuses(hub_config, [("BJ01", "北京海淀校区"), ("SH01", "上海徐汇校区")])
    hub = PausableHub(hub_config.directory)
    with hub as hub_url:
        began = time.perf_counter()
        config, numbers, devices = seed(base / "bj01", args.students, args.kiosks, hub_url, tokens["BJ01"])
        sync_now(config.directory)  # the seed goes to the hub now: the runs' sync rounds carry only marks
        console.print(f"seeded BJ01 with {len(numbers)} students in {-(-len(numbers) // 50)} classes with a lesson "
                      f"on now and {len(devices)} kiosks, and pushed it, in {time.perf_counter() - began:.1f} s")
        other = None
        if args.pull:
            began = time.perf_counter()
            other = init_node(base / "sh01", "SH01", "上海徐汇校区", hub_url=hub_url, token=tokens["SH01"])
            store = NodeStore(other.database_path, other.node_id)
            try:
                make_changes(store, other.campus_id, other.campus_code, args.pull, random.Random(args.seed))
                made = store.head()[0]
            finally:
                store.close()
            console.print(f"SH01 made {made} changes in {time.perf_counter() - began:.1f} s (not pushed yet)")

        console.print(f"run 1: {args.seconds:.0f} s of kiosk marks, no pull")
        alone = measure(config, hub, devices, numbers, args)
        with_pull = None
        if other is not None:
            began = time.perf_counter()
            sync_now(config.directory)  # marks made after run 1's round, so run 2's round is the pull
            sync_now(other.directory)  # SH01's changes reach the hub; BJ01 takes them in run 2
            console.print(f"SH01 pushed its changes to the hub in {time.perf_counter() - began:.1f} s")
            console.print(f"run 2: the same kiosk marks while BJ01 pulls and applies {made} changes")
            with_pull = measure(config, hub, devices, numbers, args)
            with_pull["pull_changes"] = made
            with_pull["pulled_all"] = _sh01_rows(other) == _sh01_rows(config, other.campus_id)

    result: dict[str, Any] = {"kiosks": args.kiosks, "students": len(numbers), "offered_rate": args.rate, **alone}
    table = Table(title=f"Kiosk marks against one node: {args.kiosks} kiosks, {len(numbers)} students")
    table.add_column("run")
    for column in ("marks/s", "marks", "p50 ms", "p95 ms", "p99 ms", "store p99", "failed", "round s"):
        table.add_column(column, justify="right")

    def row(name: str, r: dict[str, Any], p50: str = "p50_ms", p99: str = "p99_ms", count: str = "stored",
            p95: str | None = "p95_ms") -> None:
        table.add_row(name, f"{r['marks_per_second']:.0f}" if p95 else "", str(r[count]), _ms(r[p50]), _ms(r[p95]) if p95 else "",
                      _ms(r[p99]), _ms(r["server_p99_ms"]), str(r["failures"]),
                      "—" if r["sync_round_seconds"] is None else f"{r['sync_round_seconds']:.1f}")

    row("without pull", alone)  # round s: the node's first sync round, from the hub's release to its end
    ratio = None
    if with_pull is not None:
        row(f"with {with_pull['pull_changes']} pull", with_pull)
        row("  while pulling", with_pull, "during_round_p50_ms", "during_round_p99_ms",
            "marks_during_round", None)
        # The pull's own figure: the marks that met it. Should none have (a pull too small to
        # overlap a request), the whole run stands in, and the JSON says so.
        p99_with = with_pull["during_round_p99_ms"]
        with_pull["ratio_basis"] = "marks sent while the pull applied"
        if p99_with is None:
            p99_with, with_pull["ratio_basis"] = with_pull["p99_ms"], "whole run (no mark met the pull)"
        ratio = p99_with / alone["p99_ms"] if p99_with is not None and alone["p99_ms"] else None
        result["with_pull"] = with_pull
        result["ratio_p99_with_pull"] = ratio
        result["ratio_p99_with_pull_whole_run"] = (with_pull["p99_ms"] / alone["p99_ms"]
                                                   if with_pull["p99_ms"] and alone["p99_ms"] else None)
    console.print(table)
    for name, r in (("without pull", alone), ("with pull", with_pull)):
        if r and r["first_failure"]:
            console.print(f"first failure {name}: {r['first_failure']}")
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "kiosk_load.json").write_text(json.dumps(result, indent=2))
    print(f"p99: {_ms(alone['p99_ms'])} ms")
    print(f"lost: {alone['lost']}")
    if with_pull is not None:
        print(f"p99 with pull: {_ms(with_pull['during_round_p99_ms'])} ms while it applied "
              f"({with_pull['marks_during_round']} marks, {with_pull['sync_round_seconds']} s); "
              f"{_ms(with_pull['p99_ms'])} ms over the whole run")
        print(f"ratio p99 with/without pull: {'—' if ratio is None else f'{ratio:.2f}'}")
        print(f"lost with pull: {with_pull['lost']}")
        if not with_pull["pulled_all"]:
            print("the node did not take all of SH01's changes", file=sys.stderr)
            return 1
    return 0


def _sh01_rows(config: NodeConfig, campus_id: str | None = None) -> tuple[int, int]:
    """SH01's leads and their follow-ups as held in a node's store (SH01's own, or BJ01's copy)."""
    db = sqlite3.connect(config.database_path, timeout=10)
    try:
        campus = campus_id or config.campus_id
        leads = db.execute("select count(*) from leads where campus_id = ?", (campus,)).fetchone()[0]
        follow_ups = db.execute("select count(*) from lead_follow_ups where lead_id in "
                                "(select id from leads where campus_id = ?)", (campus,)).fetchone()[0]
        return leads, follow_ups
    finally:
        db.close()

if __name__ == "__main__":
    sys.exit(main())
