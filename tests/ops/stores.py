"""The upgrade fixtures of tests/data/stores: stores made by earlier releases (see build.py there)."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

STORES = Path(__file__).parents[1] / "data" / "stores"


def fixtures() -> list[tuple[str, str]]:
    """(revision, role) of every fixture store, oldest first."""
    listing = json.loads((STORES / "stores.json").read_text())
    return [(revision, role) for revision in sorted(listing) for role in ("node", "hub")]


def made_by(revision: str) -> str:
    return str(json.loads((STORES / "stores.json").read_text())[revision]["commit"])


def unpack_store(revision: str, role: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        stale.unlink(missing_ok=True)
    with gzip.open(STORES / f"{revision}-{role}.sqlite.gz", "rb") as packed, target.open("wb") as plain:
        shutil.copyfileobj(packed, plain)
    return target


def read_rows(database: Path) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every row of every table, by primary key (the rowid where a table has none)."""
    db = sqlite3.connect(database)
    db.row_factory = sqlite3.Row
    try:
        tables: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
        names = [n for (n,) in db.execute("select name from sqlite_master where type = 'table' "
                                          "and name not like 'sqlite_%'")]
        for name in names:
            info = db.execute(f'pragma table_info("{name}")').fetchall()
            key = [c["name"] for c in sorted(info, key=lambda c: c["pk"]) if c["pk"]] or ["rowid"]
            rows = db.execute(f'select {", ".join(key)} as __k, * from "{name}"' if key == ["rowid"] else
                              f'select * from "{name}"').fetchall()
            tables[name] = {tuple(r[k] if k != "rowid" else r["__k"] for k in key): dict(r) for r in rows}
        return tables
    finally:
        db.close()
