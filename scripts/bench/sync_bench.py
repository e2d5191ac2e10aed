"""Sync throughput: N changes made at a node, pushed over real HTTP, verified and merged at the
hub, then pulled and applied by a fresh node; compared with SQLite's raw executemany rate.

The hub runs as its own process (``campus hub serve``), as it does in production: on one
machine the node and the hub then each have a core, as they would have a machine.

Then the same push is merged again in this process, from a copy of the hub's store as it was
before the push, with every SQL statement the hub runs recorded; the recorded statements alone
are replayed through ``sqlite3`` on another copy. That splits the hub's time per change into
SQLite's share and the rest (Python: hash chain, decode, merge, routing), which says where any
further speed has to come from.

    .venv/bin/python scripts/bench/sync_bench.py [--changes 200000]

Prints a table and ``ratio push+merge/raw-insert: X.XX``; writes JSON to bench-results/.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import event

from campus.hub.bootstrap import init_hub
from campus.hub.config import HubConfig
from campus.hub.store import HubStore
from campus.hub.sync import HubSync
from campus.node.bootstrap import init_node
from campus.node.store import NodeStore
from campus.node.sync import client_for
from campus.schema.db import sqlite_url
from campus.schema.ids import new_id
from campus.schema.numbers import next_number
from campus.sync import protocol
from campus.sync.client import SyncClient
from campus.sync.signing import load_private_key, sign
from campus.web.serving import free_port

APPEND_SHARE = 0.7
TRANSACTION_SIZE = 1000


def make_changes(store: NodeStore, campus_id: str, campus_code: str, total: int, rng: random.Random) -> None:
    """70% append-only follow-ups, 30% field edits of existing leads (after seeding a few leads)."""
    lead_ids: list[str] = []
    made = 0
    while made < total:
        with store.unit_of_work() as uow:
            for _ in range(min(TRANSACTION_SIZE, total - made)):
                roll = rng.random()
                if len(lead_ids) < 1000 or (roll >= APPEND_SHARE and len(lead_ids) < 2000 and roll > 0.97):
                    lead_ids.append(uow.insert("leads", {
                        "campus_id": campus_id, "number": next_number(uow.conn, campus_code, "lead"),
                        "name": f"学员{len(lead_ids)}", "phone": f"138{len(lead_ids):08d}", "channel": "douyin",
                        "pool": "lead", "created_at": "2026-11-24T08:00:00Z", "deleted": False}))
                elif roll < APPEND_SHARE:
                    uow.insert("lead_follow_ups", {
                        "lead_id": rng.choice(lead_ids), "at": "2026-11-24T09:00:00Z", "channel": "call",
                        "content": "电话沟通,家长有意向试听周六的钢琴课", "next_follow_up_on": "2026-11-30",
                        "created_at": "2026-11-24T09:00:00Z"})
                else:
                    uow.update("leads", rng.choice(lead_ids), {
                        rng.choice(["notes", "channel", "name"]): f"edit {made} {rng.random():.6f}"})
                made += 1


def add_campuses(config: HubConfig, campuses: list[tuple[str, str]]) -> dict[str, str]:
    """Create the campuses before the hub serves; returns each one's enrollment token."""
    store = HubStore(config.store_url, config.hub_id)
    try:
        sync = HubSync(store, load_private_key(config.key_path))
        return {code: sync.add_campus(code, name)[1] for code, name in campuses}
    finally:
        store.close()


class HubProcess:
    """``campus hub serve`` in a child process on a free loopback port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "campus.cli", "hub", "serve", "--dir", str(self.directory),
             "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self.url
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the hub did not start")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=30)


def snapshot(database: Path, into: Path) -> None:
    """A consistent copy of a SQLite store that another process has open (the backup API)."""
    source, target = sqlite3.connect(database), sqlite3.connect(into)
    with target:
        source.backup(target)
    source.close()
    target.close()


def signed_batches(client: SyncClient) -> list[tuple[list[tuple[int, bytes, bytes]], bytes]]:
    """The node's whole log as the push batches its client sends, each with its signature."""
    batches, after = [], 0
    while batch := client.replica.outgoing(after, client.max_batch_bytes):
        first, last = batch[0], batch[-1]
        batches.append((list(batch), sign(client.private_key, protocol.push_statement(
            client.node_id, first[0], last[0], last[2]))))
        after = last[0]
    return batches


Statement = tuple[str, object, bool]  # SQL, parameters, executemany


def merge_in_process(config: HubConfig, start: Path, directory: Path, client: SyncClient
                     ) -> tuple[float, int, list[Statement | None]]:
    """Push the node's log into a copy of the hub's starting store, in this process and without
    HTTP; returns the seconds taken, the changes merged, and the statements run (None: a commit)."""
    shutil.copy(start, directory / "merge.sqlite")
    store = HubStore(sqlite_url(directory / "merge.sqlite"), config.hub_id, wal_autocheckpoint=False)
    sync = HubSync(store, load_private_key(config.key_path))
    batches = signed_batches(client)
    recorded: list[Statement | None] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda _conn, _cursor, sql, parameters, _context, many: recorded.append((sql, parameters, many)))
    event.listen(store.engine, "commit", lambda _conn: recorded.append(None))
    started = time.perf_counter()
    for links, signature in batches:
        sync.push(client.node_id, links, signature)
    seconds = time.perf_counter() - started
    store.close()
    return seconds, sum(len(links) for links, _ in batches), recorded


def replay(start: Path, directory: Path, statements: list[Statement | None]) -> float:
    """Seconds sqlite3 takes to run the recorded statements alone, with the hub's pragmas."""
    shutil.copy(start, directory / "replay.sqlite")
    db = sqlite3.connect(directory / "replay.sqlite", isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=0", "cache_size=-65536"):
        db.execute(f"PRAGMA {pragma}")
    started = time.perf_counter()
    for statement in statements:
        if statement is None:
            db.execute("COMMIT")
            continue
        sql, parameters, many = statement
        if sql.startswith("BEGIN"):
            db.execute("BEGIN IMMEDIATE")
        elif many:
            db.executemany(sql, parameters)  # type: ignore[arg-type]
        else:
            db.execute(sql, parameters).fetchall()  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    db.close()
    return seconds


def raw_insert_rate(directory: Path, rows: int) -> float:
    """SQLite executemany of follow-up-like rows, WAL and synchronous=NORMAL like the stores."""
    db = sqlite3.connect(directory / "raw.sqlite")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("create table t (id text primary key, lead_id text, at text, channel text, content text, "
               "next_follow_up_on text, created_at text)")
    data = [(new_id(), new_id(), "2026-11-24T09:00:00Z", "call", "电话沟通,家长有意向试听周六的钢琴课",
             "2026-11-30", "2026-11-24T09:00:00Z") for _ in range(rows)]
    started = time.perf_counter()
    with db:
        db.executemany("insert into t values (?, ?, ?, ?, ?, ?, ?)", data)
    elapsed = time.perf_counter() - started
    db.close()
    return rows / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200_000)
    parser.add_argument("--batch-bytes", type=int, default=4 << 20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    console = Console()
    rng = random.Random(args.seed)
    base = Path(tempfile.mkdtemp(prefix="campus-sync-bench-"))

    hub_config = init_hub(base / "hub")
    tokens = add_campuses(hub_config, [("BJ01", "北京"), ("SH01", "上海")])
    with HubProcess(hub_config.directory) as hub_url:
        source = init_node(base / "bj01", "BJ01", "北京", hub_url=hub_url, token=tokens["BJ01"])
        fresh = init_node(base / "sh01", "SH01", "上海", hub_url=hub_url, token=tokens["SH01"])

        store = NodeStore(source.database_path, source.node_id)
        started = time.perf_counter()
        make_changes(store, source.campus_id, source.campus_code, args.changes, rng)
        generate_seconds = time.perf_counter() - started
        total_changes = store.head()[0]
        snapshot(hub_config.directory / "hub.sqlite", base / "hub-start.sqlite")

        client = client_for(source, store, max_batch_bytes=args.batch_bytes)
        wire = {"bytes": 0}
        client.http.event_hooks["request"] = [lambda request: wire.__setitem__(
            "bytes", wire["bytes"] + len(request.content))]
        started = time.perf_counter()
        pushed = client.push(client.hello()["head_seq"])
        push_seconds = time.perf_counter() - started
        client.close()

        fresh_store = NodeStore(fresh.database_path, fresh.node_id)
        fresh_client = client_for(fresh, fresh_store, max_batch_bytes=args.batch_bytes)
        started = time.perf_counter()
        pulled, _ = fresh_client.pull()
        pull_seconds = time.perf_counter() - started
        fresh_client.close()

    client = client_for(source, store, max_batch_bytes=args.batch_bytes)
    merge_seconds, merged, statements = merge_in_process(hub_config, base / "hub-start.sqlite", base, client)
    client.close()
    sql_seconds = replay(base / "hub-start.sqlite", base, statements)
    raw_rate = raw_insert_rate(base, min(args.changes, 200_000))
    push_rate = pushed / push_seconds
    result = {
        "changes": total_changes, "generate_per_s": round(total_changes / generate_seconds),
        "push_merge_per_s": round(push_rate), "pull_apply_per_s": round(pulled / pull_seconds),
        "pulled": pulled, "wire_bytes_per_change": round(wire["bytes"] / pushed, 1),
        "raw_insert_per_s": round(raw_rate), "ratio_push_merge_raw_insert": round(push_rate / raw_rate, 3),
        "hub_merge_in_process_per_s": round(merged / merge_seconds),
        "hub_us_per_change": round(merge_seconds / merged * 1e6, 2),
        "of_which_sqlite_us": round(sql_seconds / merged * 1e6, 2),
        "of_which_python_us": round((merge_seconds - sql_seconds) / merged * 1e6, 2),
        "us_per_change_at_ratio_0_30": round(1e6 / (0.30 * raw_rate), 2),
    }
    table = Table(title=f"sync bench: {total_changes} changes, batches ≤ {args.batch_bytes} bytes")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "sync_bench.json").write_text(json.dumps(result, indent=2))
    print(f"ratio push+merge/raw-insert: {push_rate / raw_rate:.2f}")


if __name__ == "__main__":
    main()
