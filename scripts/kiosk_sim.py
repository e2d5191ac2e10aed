"""Simulate attendance kiosks that keep marking while their node is down, then upload.

    .venv/bin/python scripts/kiosk_sim.py [--kiosks 5] [--students 200] [--seconds 12] [--outage 4]

Starts a node (``campus node serve`` in its own process) seeded with students in classes whose
lessons are on now, runs N kiosks that mark students at random, kills the node for the outage,
restarts it, lets every kiosk flush its buffer, and prints ``sent``, ``stored`` and ``lost``.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from campus.kiosk_client import Kiosk
from campus.node.bootstrap import init_node
from campus.node.config import NodeConfig
from campus.node.crm.leads import Campus
from campus.node.finance.contracts import LineSpec, sign_contract
from campus.node.finance.students import create_student
from campus.node.store import NodeStore
from campus.node.teaching import scheduling
from campus.node.teaching.kiosks import add_device
from campus.schema.ids import new_id
from campus.schema.permissions import Role
from campus.web.prices.store import set_price

CLASS_SIZE = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(directory: Path, students: int, kiosks: int, hub_url: str = "", token: str = "",
         ) -> tuple[NodeConfig, list[str], list[dict[str, str]]]:
    """A campus with ``students`` students, each in a class whose lesson runs now; and the kiosks.
    With a hub URL and an enrolment token, the campus is enrolled there (and syncs when served)."""
    config = init_node(directory, "BJ01", "北京海淀校区", admin_password="bench-admin-password", port=free_port(),
                       hub_url=hub_url, token=token)
    store = NodeStore(config.database_path, config.node_id)
    campus = Campus(config.campus_id, config.campus_code)
    numbers: list[str] = []
    today = date.today()
    now = datetime.now(UTC)
    try:
        with store.unit_of_work() as uow:
            set_price(uow, "初二", "数学", "提高", "small_class", 20000)
            course = scheduling.add_course(uow, config.campus_id, "初二数学", 150)
            admin = uow.conn.exec_driver_sql("select id from users where username = 'admin'").scalar_one()
        for start in range(0, students, CLASS_SIZE):
            with store.unit_of_work() as uow:
                room = scheduling.add_room(uow, config.campus_id, f"教室{start // CLASS_SIZE}")
                teacher = uow.insert("users", {  # a teacher who never signs in: no password
                    "username": f"teacher{start // CLASS_SIZE}", "display_name": f"老师{start // CLASS_SIZE}",
                    "password_hash": None, "active": True, "created_at": now.isoformat(), "deleted": False})
                uow.insert("role_grants", {"user_id": teacher, "role": Role.TEACHER.value, "campus_id": None,
                                           "granted_at": now.isoformat(), "deleted": False})
                klass = scheduling.add_class(uow, config.campus_id, course["id"], f"班级{start // CLASS_SIZE}",
                                             teacher_id=teacher, room_id=room["id"])
                for k in range(start, min(start + CLASS_SIZE, students)):
                    student = create_student(uow, campus, f"学员{k}", f"139{k:08d}")
                    contract = sign_contract(uow, campus, student["id"], [LineSpec(
                        grade="初二", subject="数学", level="提高", delivery="small_class", hours_x100=4800)],
                        roles=frozenset({Role.HQ_ADMIN}), by_user_id=admin, today=today)
                    scheduling.enrol(uow, config.campus_id, klass["id"], student["id"], contract["lines"][0]["id"],
                                     today, today, config.expiry_policy)
                    numbers.append(student["number"])
                begins = now - timedelta(minutes=5)
                scheduling.book_lesson(uow, config.campus_id, klass["id"], begins, begins + timedelta(hours=2),
                                       today=today, expiry_policy=config.expiry_policy)
        with store.write() as conn:
            devices = [add_device(conn, f"考勤机{k}", new_id()) for k in range(kiosks)]
    finally:
        store.close()
    return config, numbers, devices


class NodeProcess:
    """``campus node serve`` in its own process, so it can be killed like a real machine."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.config.port}"

    def start(self) -> None:
        campus = Path(sys.executable).with_name("campus")
        self.process = subprocess.Popen([str(campus), "node", "serve", "--dir", str(self.config.directory)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the node did not start")

    def kill(self) -> None:
        if self.process:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


def stored_marks(config: NodeConfig) -> int:
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.read() as conn:
            return conn.exec_driver_sql("select count(*) from attendance_marks").scalar_one()
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=5)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--outage", type=float, default=4.0, help="seconds the node is down, mid-run")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="campus-kiosk-sim-"))
    config, numbers, devices = seed(directory / "node", args.students, args.kiosks)
    node = NodeProcess(config)
    node.start()
    kiosks = [Kiosk(node.url, d["id"], d["secret"]) for d in devices]
    sent = [0] * len(kiosks)
    stop = threading.Event()

    def work(i: int) -> None:
        rng = random.Random(i)
        while not stop.is_set():
            for _ in range(rng.randint(1, 5)):  # a burst: a few students arrive together
                kiosks[i].mark(rng.choice(numbers))
                sent[i] += 1
            kiosks[i].flush()
            stop.wait(rng.uniform(0.05, 0.3))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(kiosks))]
    for thread in threads:
        thread.start()
    time.sleep(args.seconds / 2)
    node.kill()
    print(f"node killed; kiosks keep marking for {args.outage:.0f} s")
    time.sleep(args.outage)
    buffered = sum(len(k.buffer) for k in kiosks)
    node.start()
    print(f"node back; {buffered} marks were buffered on the kiosks")
    time.sleep(args.seconds / 2)
    stop.set()
    for thread in threads:
        thread.join()
    for kiosk in kiosks:
        while kiosk.buffer:
            kiosk.flush()
        kiosk.close()
    node.stop()
    total, stored = sum(sent), stored_marks(config)
    print(f"sent: {total}\nstored: {stored}\nlost: {total - stored}")
    return 0 if total == stored else 1


if __name__ == "__main__":
    sys.exit(main())
