"""Chaos runs: campuses and a hub through simulated school days while things go wrong.

    .venv/bin/python scripts/chaos.py --seed N [--days D] [--campuses 2|3] [--ops K] [--dir DIR]

Everything is real and on loopback: the hub (``campus hub serve``) and each campus's node (served
by this script in its own process, ``--serve-node``, so its clock can be set wrong) are processes;
each node syncs in the background through its own fault proxy (tests/e2e/fault_proxy.py). Each day
starts with each campus's nightly backup (``campus node backup``); then every campus works through
``--ops`` use cases at random over its JSON API (leads, follow-ups, students signing contracts,
instalments, lessons with kiosk check-ins and confirmations; kiosks buffer and re-send, as the
reference client does), while, drawn from the seed:

* nodes and the hub are SIGKILLed at random moments and come back a moment later;
* a campus's link to the hub is cut for a stretch of work, or its requests are delayed, or their
  answers dropped, or sent twice;
* a campus's computer clock runs minutes fast or slow for the day;
* once in the run, a campus's disk dies after a sync and it is restored from that morning's backup
  (``campus node restore --from-backup``, which takes its later changes back from the hub).

At the end the faults stop, every campus syncs until nothing moves, and the run checks that every
store converged (each campus's tables equal the hub's view of them), that every fact a campus
acknowledged is at its node and at the hub exactly once (a lesson confirmed once per student, every
change of every node's log held once by the hub), and that every campus's books balance and equal
the hub's. It prints the faults injected per kind, the facts written, lost and doubled, and a JSON
line (``result: {...}``); it exits 0 only if all is well.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "chaos-admin-password"
CAMPUSES = [("BJ01", "北京海淀校区"), ("SH01", "上海徐汇校区"), ("GZ01", "广州天河校区")]
SYNC_INTERVAL_SECONDS = 2


def serve_node(directory: Path, skew_seconds: float) -> None:
    """The node of ``directory`` served by uvicorn, with this process's clock ``skew_seconds`` off."""
    if skew_seconds:
        real_time, real_time_ns = time.time, time.time_ns
        time.time = lambda: real_time() + skew_seconds  # type: ignore[assignment]
        time.time_ns = lambda: real_time_ns() + int(skew_seconds * 1e9)  # type: ignore[assignment]
    from campus.node.app import create_app
    from campus.node.config import NodeConfig
    from campus.node.ops.restore import check_no_pending_restore
    from campus.web.serving import serve_forever

    config = NodeConfig.load(directory)
    check_no_pending_restore(config)
    app = create_app(config, clock=lambda: datetime.now(UTC) + timedelta(seconds=skew_seconds))
    serve_forever(app, config.host, config.port)


# --- processes -----------------------------------------------------------------------------------


class Process:
    """A server in its own process, started and killed like a machine."""

    def __init__(self, name: str, url: str, command: list[str], log: Path) -> None:
        self.name, self.url, self.command, self.log = name, url, command, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def up(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, extra: list[str] | None = None) -> None:
        import httpx

        with self.log.open("ab") as out:
            self.process = subprocess.Popen([*self.command, *(extra or [])], stdout=out, stderr=subprocess.STDOUT,
                                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start: see {self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start: see {self.log}")

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


# --- the run --------------------------------------------------------------------------------------


@dataclass
class Campus:
    code: str
    config: Any  # NodeConfig
    node: Process
    proxy: Any  # FaultProxy
    device: dict[str, str]
    kiosk: Any = None  # campus.kiosk_client.Kiosk
    token: str = ""
    skew: float = 0.0
    product_id: str = ""
    class_id: str = ""
    teacher_id: str = ""
    # what the campus acknowledged: table -> ids
    facts: dict[str, list[str]] = field(default_factory=dict)
    leads: list[str] = field(default_factory=list)
    students: list[dict[str, str]] = field(default_factory=list)  # id, number, line_id, contract_id
    contracts: list[str] = field(default_factory=list)
    lessons: list[str] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)  # every kiosk mark made (buffered until acknowledged)
    backup: Path | None = None

    def fact(self, table: str, row_id: str) -> None:
        self.facts.setdefault(table, []).append(row_id)


@dataclass
class Run:
    seed: int
    base: Path
    rng: random.Random
    hub: Process
    hub_url: str
    campuses: list[Campus] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    failed_requests: int = 0
    log: Callable[[str], None] = print


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _sign_in(url: str) -> str:
    import httpx

    answer = httpx.post(f"{url}/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}, timeout=10)
    answer.raise_for_status()
    return str(answer.json()["token"])


def _call(run: Run, campus: Campus, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One request of the day's work; None when it failed (the node is down, or it refused)."""
    import httpx

    if not campus.node.up:
        run.failed_requests += 1
        return None
    try:
        if not campus.token:
            campus.token = _sign_in(campus.node.url)
        answer = httpx.request(method, f"{campus.node.url}{path}", json=body, headers=_headers(campus.token),
                               timeout=30)
    except httpx.HTTPError:
        run.failed_requests += 1
        return None
    if answer.status_code >= 400:
        run.failed_requests += 1
        if answer.status_code >= 500:
            raise RuntimeError(f"{campus.code} {method} {path}: {answer.status_code} {answer.text[:500]}")
        return None
    return answer.json()


def setup(run: Run, count: int) -> None:
    import httpx

    from campus.hub.bootstrap import init_hub
    from campus.hub.config import HubConfig
    from campus.hub.store import HubStore
    from campus.hub.sync import HubSync
    from campus.node.bootstrap import init_node
    from campus.node.store import NodeStore
    from campus.node.teaching.kiosks import add_device
    from campus.schema.ids import new_id
    from campus.sync.signing import load_private_key
    from campus.web.serving import free_port
    from tests.e2e.fault_proxy import PASS, FaultProxy

    hub_config: HubConfig = init_hub(run.base / "hub", admin_password=PASSWORD)
    store = HubStore(hub_config.store_url, hub_config.hub_id)
    tokens = {code: HubSync(store, load_private_key(hub_config.key_path)).add_campus(code, name)[1]
              for code, name in CAMPUSES[:count]}
    store.close()
    run.hub.start()
    hub_token = _sign_in(run.hub_url)
    with httpx.Client(timeout=10, headers=_headers(hub_token)) as hq:
        item = hq.post(f"{run.hub_url}/api/v1/price-list/items", json={
            "grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "unit_price_fen": 18000})
        item.raise_for_status()
        product = hq.post(f"{run.hub_url}/api/v1/price-list/products", json={
            "code": "MATH8-24", "name": "初二数学提高小班 24 课时", "price_item_id": item.json()["id"],
            "hours_x100": 2400, "gift_hours_x100": 200})
        product.raise_for_status()
    for k, (code, _name) in enumerate(CAMPUSES[:count]):
        proxy = FaultProxy(run.hub_url, PASS, 0.0, seed=run.seed * 10 + k).__enter__()
        proxy.server.handle_error = lambda *_args: None  # a request the hub never answered: the node sees it
        directory = run.base / code.lower()
        config = init_node(directory, code, dict(CAMPUSES)[code], hub_url=proxy.url, token=tokens[code],
                           port=free_port())
        config = replace(config, sync_interval_seconds=SYNC_INTERVAL_SECONDS, backup_every_hours=0)
        config.save()
        node_store = NodeStore(config.database_path, config.node_id)
        with node_store.write() as conn:
            device = add_device(conn, "前台考勤机", new_id())
        node_store.close()
        node = Process(code, f"http://127.0.0.1:{config.port}",
                       [sys.executable, str(Path(__file__).resolve()), "--serve-node", str(directory)],
                       run.base / f"{code.lower()}.log")
        campus = Campus(code, config, node, proxy, device, product_id=product.json()["id"])
        node.start(["--skew", "0"])
        run.campuses.append(campus)
        _school(run, campus)


def _school(run: Run, campus: Campus) -> None:
    """A room, a course and a class taught by the campus's admin, once the price list has arrived."""
    from campus.kiosk_client import Kiosk

    sync_until_done(run, campus)
    users = _call(run, campus, "GET", "/api/v1/users")
    campus.teacher_id = users["items"][0]["id"]
    room = _call(run, campus, "POST", "/api/v1/rooms", {"name": "101 教室", "capacity": 40})
    course = _call(run, campus, "POST", "/api/v1/courses", {"name": "初二数学提高", "lesson_hours_x100": 150})
    klass = _call(run, campus, "POST", "/api/v1/classes", {"course_id": course["id"], "name": "初二数学班",
                                                           "teacher_id": campus.teacher_id, "room_id": room["id"],
                                                           "capacity": 200})
    campus.class_id = klass["id"]
    campus.kiosk = Kiosk(campus.node.url, campus.device["id"], campus.device["secret"])


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


def work(run: Run, campus: Campus) -> None:
    """One use case at random, as staff would do it."""
    rng = run.rng
    choice = rng.random()
    if choice < 0.25 or not campus.leads:
        lead = _call(run, campus, "POST", "/api/v1/leads", {"name": f"家长{rng.randrange(10**6)}",
                                                            "phone": _phone(rng), "channel": "douyin"})
        if lead:
            campus.leads.append(lead["id"])
            campus.fact("leads", lead["id"])
    elif choice < 0.40:
        made = _call(run, campus, "POST", f"/api/v1/leads/{rng.choice(campus.leads)}/follow-ups",
                     {"channel": "phone", "content": "电话沟通,约试听"})
        if made:
            campus.fact("lead_follow_ups", made["id"])
    elif choice < 0.55:
        student = _call(run, campus, "POST", "/api/v1/students", {"name": f"学员{rng.randrange(10**6)}",
                                                                  "phone": _phone(rng)})
        if not student:
            return
        campus.fact("students", student["id"])
        contract = _call(run, campus, "POST", "/api/v1/contracts", {"student_id": student["id"],
                                                                    "lines": [{"product_id": campus.product_id}]})
        if not contract:
            return
        campus.fact("contracts", contract["id"])
        line_id = contract["lines"][0]["id"]
        enrolled = _call(run, campus, "POST", f"/api/v1/classes/{campus.class_id}/enrolments",
                         {"student_id": student["id"], "line_id": line_id})
        if enrolled:
            campus.fact("enrolments", enrolled["id"])
            campus.students.append({"id": student["id"], "number": student["number"], "line_id": line_id})
        campus.contracts.append(contract["id"])
    elif choice < 0.70 and campus.contracts:
        paid = _call(run, campus, "POST", "/api/v1/payments", {"contract_id": rng.choice(campus.contracts),
                                                               "amount_fen": rng.randrange(1, 20) * 10000,
                                                               "fund_account": rng.choice(["wechat", "alipay"])})
        if paid:
            campus.fact("payments", paid["id"])
    elif choice < 0.90 and campus.students:
        for student in rng.sample(campus.students, min(len(campus.students), rng.randint(1, 4))):
            campus.marks.append(campus.kiosk.mark(student["number"])["id"])
        if campus.node.up:
            campus.kiosk.flush()
    elif campus.students:
        lesson = _lesson(run, campus)
        if lesson:
            confirmed = _call(run, campus, "POST", f"/api/v1/lessons/{lesson}/confirm")
            for row in (confirmed or {}).get("confirmed", []):
                campus.fact("attendance_confirmations", row["id"])


def _lesson(run: Run, campus: Campus) -> str | None:
    """A lesson on now (as the campus's clock has it); the students present check in at the kiosk."""
    starts = datetime.now(UTC) + timedelta(seconds=campus.skew) - timedelta(minutes=10 + run.rng.randrange(200))
    lesson = _call(run, campus, "POST", f"/api/v1/classes/{campus.class_id}/lessons", {
        "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(minutes=5)).isoformat()})
    if not lesson:
        return None
    campus.fact("lessons", lesson["id"])
    return str(lesson["id"])


# --- faults ---------------------------------------------------------------------------------------


def restart_node(run: Run, campus: Campus) -> None:
    campus.node.start(["--skew", str(campus.skew)])
    campus.token = ""


def network(run: Run, campus: Campus) -> tuple[str, float]:
    """Today's link of a campus to the hub."""
    from tests.e2e.fault_proxy import DELAY, DROP_REQUEST, DROP_RESPONSE, DUPLICATE, PASS

    draw = run.rng.random()
    if draw < 0.40:
        return PASS, 0.0
    if draw < 0.60:
        return DELAY, 0.5
    if draw < 0.75:
        return DROP_RESPONSE, 0.3
    if draw < 0.85:
        return DUPLICATE, 0.3
    return DROP_REQUEST, 0.3


def day(run: Run, number: int, ops: int, restore_today: Campus | None) -> None:
    from tests.e2e.fault_proxy import DROP_REQUEST

    rng = run.rng
    from campus.node.ops.backup import backup_node

    for campus in run.campuses:  # the nightly backup, while the node serves
        campus.backup, _manifest = backup_node(campus.config, run.base / "backups" / f"{campus.code}-day{number}"
                                               ".campus-backup")
        run.faults["backups"] += 1
    for campus in run.campuses:  # today's clock and link
        skew = rng.choice([0.0, 0.0, rng.uniform(60, 240), -rng.uniform(60, 240)])
        if skew != campus.skew:
            campus.skew = skew
            if skew:
                run.faults["clock skews"] += 1
            campus.node.stop()
            restart_node(run, campus)
        campus.proxy.fault, campus.proxy.rate = network(run, campus)
    hub_kill_at = rng.randrange(ops) if rng.random() < 0.7 else -1
    cut = {c.code: (start, start + rng.randint(3, max(4, ops // 3))) for c in run.campuses
           if rng.random() < 0.4 for start in [rng.randrange(ops)]}
    restore_at = rng.randrange(ops // 2, ops) if restore_today else -1
    for step in range(ops):
        if step == hub_kill_at:
            run.hub.kill()
            run.faults["hub kills"] += 1
        if not run.hub.up and (step > hub_kill_at + rng.randint(1, 4) or step == ops - 1):
            run.hub.start()
        for campus in run.campuses:
            window = cut.get(campus.code)
            if window and step == window[0]:
                campus.saved = (campus.proxy.fault, campus.proxy.rate)  # type: ignore[attr-defined]
                campus.proxy.fault, campus.proxy.rate = DROP_REQUEST, 1.0
                run.faults["network cuts"] += 1
            if window and step == window[1]:
                campus.proxy.fault, campus.proxy.rate = campus.saved  # type: ignore[attr-defined]
            if step == restore_at and campus is restore_today:
                restore(run, campus)
            if campus.node.up and rng.random() < 0.06:
                campus.node.kill()
                run.faults["node kills"] += 1
            elif not campus.node.up and rng.random() < 0.5:
                restart_node(run, campus)
            work(run, campus)
    for campus in run.campuses:
        if window := cut.get(campus.code):
            if window[1] >= ops:
                campus.proxy.fault, campus.proxy.rate = campus.saved  # type: ignore[attr-defined]
        if not campus.node.up:
            restart_node(run, campus)
    if not run.hub.up:
        run.hub.start()


def sync_until_done(run: Run, campus: Campus, attempts: int = 20) -> None:
    """``campus sync now`` until it goes through (as an admin would retry it)."""
    from campus.node.ops.restore import finish_pending_restore
    from campus.node.store import NodeStore
    from campus.node.sync import client_for
    from campus.sync.client import HubUnreachable, SyncRefused

    for _ in range(attempts):
        store = NodeStore(campus.config.database_path, campus.config.node_id)
        client = client_for(campus.config, store, timeout=10)
        try:
            client.sync_once()
            finish_pending_restore(campus.config.directory)
            return
        except (HubUnreachable, SyncRefused) as exc:
            last = exc
        finally:
            client.close()
            store.close()
        time.sleep(0.5)
    raise RuntimeError(f"{campus.code}: could not sync: {last}")


def restore(run: Run, campus: Campus) -> None:
    """The campus's disk dies right after a sync; it is restored from this morning's backup."""
    from campus.node.ops.restore import restore_from_backup
    from tests.e2e.fault_proxy import PASS

    assert campus.backup is not None
    if not run.hub.up:
        run.hub.start()
    saved = campus.proxy.fault, campus.proxy.rate
    campus.proxy.fault, campus.proxy.rate = PASS, 0.0
    if not campus.node.up:
        restart_node(run, campus)
    while campus.kiosk.buffer:
        campus.kiosk.flush()
    campus.node.stop()
    sync_until_done(run, campus)
    campus.node.kill()
    database = campus.config.database_path
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        path.unlink(missing_ok=True)
    restored = restore_from_backup(campus.backup, campus.config.directory, force=True)
    if restored.pending:  # its first sync did not go through: it must before the node serves
        sync_until_done(run, campus)
    run.faults["restores from an old backup"] += 1
    campus.proxy.fault, campus.proxy.rate = saved
    restart_node(run, campus)


# --- the checks -----------------------------------------------------------------------------------


def converge(run: Run) -> None:
    from tests.e2e.fault_proxy import PASS

    if not run.hub.up:
        run.hub.start()
    for campus in run.campuses:
        campus.proxy.fault, campus.proxy.rate = PASS, 0.0
        if not campus.node.up:
            restart_node(run, campus)
        while campus.kiosk.buffer:
            if not campus.kiosk.flush():
                time.sleep(0.2)
        campus.node.stop()
    for _round in range(2):
        for campus in run.campuses:
            sync_until_done(run, campus)


def check(run: Run) -> dict[str, Any]:
    import httpx

    from campus.hub.store import HubStore
    from campus.hub.sync.ingest import iter_stored_links
    from campus.node.store import NodeStore
    from campus.schema.tables import metadata
    from campus.sync.digest import subscription_digests

    hub_config = __import__("campus.hub.config", fromlist=["HubConfig"]).HubConfig.load(run.base / "hub")
    hub_store = HubStore(hub_config.store_url, hub_config.hub_id)
    result: dict[str, Any] = {"converged": True, "lost": 0, "doubled": 0, "facts": Counter(), "problems": []}
    try:
        for campus in run.campuses:
            node_store = NodeStore(campus.config.database_path, campus.config.node_id)
            try:
                with node_store.read() as conn:
                    mine = subscription_digests(conn, metadata, campus.config.campus_id)
                with hub_store.read() as conn:
                    theirs = subscription_digests(conn, metadata, campus.config.campus_id)
                differ = sorted(name for name in mine if mine[name] != theirs.get(name))
                if differ:
                    result["converged"] = False
                    result["problems"].append(f"{campus.code} differs from the hub in {differ}")
                facts = {**campus.facts, "attendance_marks": campus.marks}
                for store, where in ((node_store, campus.code), (hub_store, "hub")):
                    with store.read() as conn:
                        for table, ids in facts.items():
                            held: Counter[str] = Counter()
                            for start in range(0, len(ids), 500):
                                chunk = ids[start:start + 500]
                                held.update(conn.exec_driver_sql(
                                    f"select id from {table} where id in ({','.join('?' * len(chunk))})",
                                    tuple(chunk)).scalars())
                            missing = [i for i in ids if held[i] == 0]
                            result["lost"] += len(missing)
                            result["doubled"] += sum(n - 1 for n in held.values() if n > 1)
                            if missing:
                                result["problems"].append(f"{where}: {len(missing)} {table} lost, e.g. {missing[0]}")
                        twice = conn.exec_driver_sql(
                            "select count(*) from (select lesson_id, student_id from attendance_confirmations "
                            "where campus_id = ? and id not in (select supersedes_id from attendance_confirmations "
                            "where supersedes_id is not null) group by lesson_id, student_id having count(*) > 1)",
                            (campus.config.campus_id,)).scalar_one()
                        if twice:
                            result["doubled"] += twice
                            result["problems"].append(f"{where}: {twice} seats confirmed twice")
                for table, ids in facts.items():
                    result["facts"][table] += len(ids)
                with hub_store.read() as conn:
                    seqs = [s for s, _b, _h in iter_stored_links(conn, campus.config.node_id)]
                    head = node_store.head()[0]
                if seqs != list(range(1, head + 1)):
                    result["doubled"] += len(seqs) - len(set(seqs))
                    result["problems"].append(f"hub holds {len(seqs)} links of {campus.code}'s log of {head}")
            finally:
                node_store.close()
        with hub_store.read() as conn:
            quarantined = conn.exec_driver_sql("select count(*) from hub_nodes where quarantined").scalar_one()
        if quarantined:
            result["problems"].append(f"{quarantined} node(s) quarantined")
    finally:
        hub_store.close()

    # The books: every campus's trial balance balances, at its node and as the hub keeps it.
    months = {"from": "2020-01", "to": "2099-12"}
    result["books_balanced"] = True
    for campus in run.campuses:
        restart_node(run, campus)
    hub_token = _sign_in(run.hub_url)
    deadline = time.monotonic() + 60
    for campus in run.campuses:
        own = httpx.get(f"{campus.node.url}/api/v1/books/trial-balance", params=months,
                        headers=_headers(_sign_in(campus.node.url)), timeout=30).json()
        mine = {r["account"]: r["closing_fen"] for r in own["items"] if r["closing_fen"]}
        while True:  # the hub's books follow the merged facts within seconds
            trial = httpx.get(f"{run.hub_url}/api/v1/books/trial-balance", params=months,
                              headers=_headers(hub_token), timeout=30).json()
            at_hub = {c["campus_code"]: {r["code"]: r["closing_fen"] for r in c["rows"] if r["closing_fen"]}
                      for c in trial["campuses"]}
            if at_hub.get(campus.code, {}) == mine or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if not own["balanced"] or at_hub.get(campus.code, {}) != mine:
            result["books_balanced"] = False
            result["problems"].append(f"{campus.code}: books {'balance' if own['balanced'] else 'do not balance'}"
                                      f"{'' if at_hub.get(campus.code, {}) == mine else ', differ from the hub'}")
        campus.node.stop()
    return result


def chaos(seed: int, days: int, count: int, ops: int, base: Path) -> dict[str, Any]:
    from campus.web.serving import free_port

    rng = random.Random(seed)
    port = free_port()
    hub = Process("hub", f"http://127.0.0.1:{port}", [sys.executable, "-m", "campus.cli", "hub", "serve", "--dir",
                                                      str(base / "hub"), "--port", str(port)], base / "hub.log")
    run = Run(seed, base, rng, hub, hub.url)
    began = time.monotonic()
    try:
        setup(run, count)
        restore_day = rng.randrange(days)
        for number in range(days):
            chosen = rng.choice(run.campuses) if number == restore_day else None
            day(run, number + 1, ops, chosen)
        converge(run)
        result = check(run)
    finally:
        for campus in run.campuses:
            campus.node.kill()
            if campus.kiosk is not None:
                campus.kiosk.close()
            campus.proxy.__exit__()
        hub.stop()
    for campus in run.campuses:
        for fault, n in Counter(campus.proxy.seen).items():
            if fault != "pass":
                run.faults[f"requests {fault.replace('_', ' ')}"] += n
    result.update({"seed": seed, "days": days, "campuses": count, "faults": dict(sorted(run.faults.items())),
                   "facts": dict(sorted(result["facts"].items())), "facts_written": sum(result["facts"].values()),
                   "failed_requests": run.failed_requests, "seconds": round(time.monotonic() - began, 1)})
    result["ok"] = not result["problems"] and result["converged"] and result["books_balanced"] \
        and result["lost"] == 0 and result["doubled"] == 0
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--campuses", type=int, default=2, choices=[2, 3])
    parser.add_argument("--ops", type=int, default=20, help="use cases per campus per day")
    parser.add_argument("--dir", help="keep the run's directories here (default: a temporary one, removed)")
    parser.add_argument("--serve-node", help=argparse.SUPPRESS)
    parser.add_argument("--skew", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_node:
        serve_node(Path(args.serve_node), args.skew)
        return 0
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix=f"campus-chaos-{args.seed}-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        result = chaos(args.seed, args.days, args.campuses, args.ops, base)
    except Exception:
        print(f"the run failed; its directories are kept in {base}", file=sys.stderr)
        raise
    print(f"seed {args.seed}: {args.days} day(s), {args.campuses} campuses, {result['seconds']} s")
    print("faults: " + ", ".join(f"{kind} {n}" for kind, n in result["faults"].items()))
    print("facts written: " + ", ".join(f"{table} {n}" for table, n in result["facts"].items())
          + f" ({result['facts_written']} in all; {result['failed_requests']} requests failed on a fault)")
    print(f"lost: {result['lost']}\ndoubled: {result['doubled']}\nconverged: {result['converged']}\n"
          f"books balanced: {result['books_balanced']}")
    for problem in result["problems"]:
        print(f"PROBLEM: {problem}")
    print("result: " + json.dumps(result, ensure_ascii=False, default=str))
    if result["ok"] and not args.dir:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
