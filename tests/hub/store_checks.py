"""The store checks both hub engines are held to (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import select

from campus.hub.app import create_app
from campus.hub.config import HubConfig
from campus.hub.store import HubStore
from campus.schema.tables import change_log
from campus.web.serving import BackgroundServer
from tests.e2e.sync_helpers import signed_in_client

# --- what both engines are checked against ---------------------------------------------------------

CAMPUS_ID = "0190f1a2-0000-7000-8000-00000000b301"
CAMPUS = {"id": CAMPUS_ID, "code": "BJ01", "name": "北京海淀校区", "created_at": "2026-11-24T08:00:00Z",
          "deleted": False}


def write_campus(store: HubStore, campus: dict[str, object] = CAMPUS) -> None:
    with store.unit_of_work() as uow:
        uow.insert("campuses", campus)


def change_log_links(store: HubStore) -> list[tuple[int, bytes, bytes]]:
    """Every ``(seq, body, hash)`` in seq order, as :func:`~campus.sync.changes.verify_chain` takes them."""
    with store.read() as conn:
        rows = conn.execute(select(change_log.c.seq, change_log.c.body, change_log.c.hash).order_by(change_log.c.seq))
        return [(seq, bytes(body), bytes(digest)) for seq, body, digest in rows]


def write_campuses_concurrently(store: HubStore, writers: int, campuses_each: int) -> None:
    """``writers`` threads released together, each writing campuses one unit of work at a time."""
    start = threading.Barrier(writers)

    def write_several(writer: int) -> None:
        start.wait()
        for number in range(campuses_each):
            with store.unit_of_work() as uow:
                uow.insert("campuses", {"code": f"W{writer:02d}N{number:03d}", "name": f"校区 {writer}-{number}",
                                        "created_at": "2026-11-24T08:00:00Z", "deleted": False})

    with ThreadPoolExecutor(max_workers=writers) as pool:
        for finished in [pool.submit(write_several, writer) for writer in range(writers)]:
            finished.result()  # re-raises a writer's exception here


def serve_hub_and_list_campuses(hub_directory: Path) -> tuple[dict[str, object], list[dict[str, object]]]:
    """Start the hub in ``hub_directory`` under uvicorn; its ``/healthz`` answer and its campus list."""
    with BackgroundServer(create_app(HubConfig.load(hub_directory))) as server:
        health = httpx.get(f"{server.url}/healthz", timeout=10).json()
        client = signed_in_client(server.url)
        try:
            response = client.get("/api/v1/campuses")
        finally:
            client.close()
    response.raise_for_status()
    return health, response.json()["items"]
