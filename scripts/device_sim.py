"""Simulate attendance terminals speaking ZKTeco's PUSH protocol to a campus node.

    # one terminal against a running node: handshake, poll every Delay seconds, punch these PINs
    .venv/bin/python scripts/device_sim.py --url http://127.0.0.1:8100 --serial CN123 --pins 1001,1002

    # the crash scenario: a node (``campus node serve`` in its own process, with a [devices] port)
    # killed with SIGKILL while terminals upload, restarted; they re-send until OK
    .venv/bin/python scripts/device_sim.py --crash [--terminals 3] [--students 60] [--punches 400]

The terminal is :class:`campus.node.devices.terminal.Terminal` (the demo and the tests use it
too): it shakes hands, takes its stamps and Delay from the answer, uploads ATTLOG with a Stamp
and re-sends until it reads OK, and answers the commands it polls on devicecmd. The crash
scenario prints ``punches``, ``stored``, ``marks``, ``duplicates`` and ``lost``; it exits 0 only
when every punch is stored exactly once.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).parent))  # kiosk_sim: seeding a campus and running its node

from kiosk_sim import NodeProcess, free_port, seed  # noqa: E402

from campus.node.config import NodeConfig  # noqa: E402
from campus.node.context import NodeContext  # noqa: E402
from campus.node.devices import use_cases as cases  # noqa: E402
from campus.node.devices.terminal import Terminal  # noqa: E402
from campus.node.store import NodeStore  # noqa: E402
from campus.schema.context import Actor  # noqa: E402


class LoggedNodeProcess(NodeProcess):
    """kiosk_sim's node process, its output kept in ``node.log`` beside its directory."""

    def start(self) -> None:
        import os
        import subprocess

        campus = Path(sys.executable).with_name("campus")
        log = (self.config.directory.parent / "node.log").open("ab")
        self.process = subprocess.Popen([str(campus), "node", "serve", "--dir", str(self.config.directory)],
                                        stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"the node did not start: see {self.config.directory.parent / 'node.log'}")


def approve_terminals(config: NodeConfig, serials: list[str]) -> list[str]:
    """Approve the terminals (which gives every student a PIN); the students' PINs."""
    store = NodeStore(config.database_path, config.node_id)
    try:
        ctx, actor = NodeContext.of(config), Actor.machine("device-sim")
        for k, serial in enumerate(serials):
            cases.approve_device(store, ctx, actor, serial, f"考勤机{k + 1}")
        with store.read() as conn:
            return [str(pin) for pin in conn.exec_driver_sql(
                "select pin from device_pins where kind = 'student' order by pin").scalars()]
    finally:
        store.close()


def stored(config: NodeConfig) -> tuple[int, int, int]:
    """(punches, distinct (serial, PIN, time) among them, attendance marks from terminals)."""
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.read() as conn:
            punches = conn.exec_driver_sql("select count(*) from device_punches").scalar_one()
            distinct = conn.exec_driver_sql(
                "select count(*) from (select distinct serial, pin, local_time from device_punches)").scalar_one()
            marks = conn.exec_driver_sql("select count(*) from attendance_marks m join device_punches p"
                                         " on p.mark_id = m.id").scalar_one()
        return punches, distinct, marks
    finally:
        store.close()


def crash(terminals: int, students: int, punches: int, seconds: float) -> int:
    directory = Path(tempfile.mkdtemp(prefix="campus-device-sim-"))
    config, _numbers, _ = seed(directory / "node", students, 0)
    config = replace(config, devices_port=free_port(), devices_delay_seconds=1, devices_error_delay_seconds=1)
    config.save()
    serials = [f"CNSIM{k:04d}" for k in range(terminals)]
    pins = approve_terminals(config, serials)
    node = LoggedNodeProcess(config)
    node.start()
    url = f"http://127.0.0.1:{config.devices_port}"
    print(f"node on {node.url}, terminals on {url}; {len(pins)} students with PINs")
    # The first uploads slowly, in batches of 100; the others keep sending small batches meanwhile.
    clocks = [Terminal(url, serial, batch_size=100 if k == 0 else 5, timeout=30) for k, serial in enumerate(serials)]
    for clock in clocks:
        if not clock.handshake():
            raise RuntimeError(f"{clock.serial} was not served: {clock.last_status} {clock.last_text}")
    rng = random.Random(7)
    local = datetime.now(ZoneInfo(config.timezone)).replace(tzinfo=None, microsecond=0)
    for n in range(punches):  # each a different second, so each is its own punch
        rng.choice(clocks).punch(rng.choice(pins), local - timedelta(seconds=punches - n))
    slow, busy = clocks[0], clocks[1:]
    uploading = threading.Event()
    outcome: dict[str, int | None] = {}

    def slow_upload() -> None:  # a terminal on a slow link: the node dies while its body arrives
        uploading.set()
        outcome["slow"] = slow.upload_once(chunk_delay=seconds / 10)

    def busy_uploads(clock: Terminal) -> None:
        deadline = time.monotonic() + seconds
        while clock.pending() and time.monotonic() < deadline:
            if clock.upload_once() is None:
                time.sleep(0.05)
            time.sleep(0.01)

    threads = [threading.Thread(target=slow_upload)] + [threading.Thread(target=busy_uploads, args=(c,)) for c in busy]
    for thread in threads:
        thread.start()
    uploading.wait()
    time.sleep(seconds / 3)
    node.kill()
    print(f"node killed with SIGKILL while {slow.serial} was uploading")
    for thread in threads:
        thread.join()
    print(f"the upload in flight was {'refused' if outcome['slow'] is None else 'answered'}; "
          f"{sum(len(c.pending()) for c in clocks)} punches not yet confirmed")
    node.start()
    print("node back; the terminals shake hands and send again until OK")
    deadline = time.monotonic() + 120
    for clock in clocks:
        clock.handshake()
        if not clock.upload_all(deadline, retry_every=0.2):
            print(f"{clock.serial} could not upload everything")
    node.stop()
    for clock in clocks:
        clock.close()
    total, distinct, marks = stored(config)
    print(f"punches: {punches}\nstored: {total}\nmarks: {marks}\nduplicates: {total - distinct}\n"
          f"lost: {punches - distinct}\nin flight at the kill: {'failed' if outcome['slow'] is None else 'ok'}")
    return 0 if total == distinct == punches and marks == punches else 1


def one_terminal(url: str, serial: str, pins: list[str], every: float) -> int:
    """A terminal against a running node until Ctrl-C: a punch of a random PIN every ``every`` s."""
    clock = Terminal(url, serial)
    stop = threading.Event()
    running = threading.Thread(target=clock.run, args=(stop,), daemon=True)
    running.start()
    rng = random.Random()
    try:
        while True:
            time.sleep(every)
            if pins or clock.users:
                pin = rng.choice(pins or sorted(clock.users))
                clock.punch(pin, datetime.now().replace(microsecond=0))
                print(f"{serial}: {pin} punched; {len(clock.pending())} waiting, last answer "
                      f"{clock.last_status} {clock.last_text.strip()[:60]!r}", flush=True)
    except KeyboardInterrupt:
        stop.set()
        running.join(timeout=30)
        clock.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crash", action="store_true", help="the SIGKILL-while-uploading scenario")
    parser.add_argument("--terminals", type=int, default=3)
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--punches", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long the slow upload takes")
    parser.add_argument("--url", help="a running node (its own port or its [devices] port)")
    parser.add_argument("--serial", default="CNSIM0001")
    parser.add_argument("--pins", default="", help="comma-separated PINs to punch (default: the users it was given)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between punches")
    args = parser.parse_args()
    if args.crash:
        return crash(max(2, args.terminals), args.students, args.punches, args.seconds)
    if not args.url:
        parser.error("give --url of a running node, or --crash")
    return one_terminal(args.url, args.serial, [p for p in args.pins.split(",") if p], args.every)


if __name__ == "__main__":
    sys.exit(main())
