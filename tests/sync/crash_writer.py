"""Writes leads forever, in units of work of varying size, printing each commit; killed by the test."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from campus.node.config import NodeConfig
from campus.node.crm.leads import Campus, create_lead
from campus.node.store import NodeStore


def main() -> None:
    config = NodeConfig.load(Path(sys.argv[1]))
    rng = random.Random(int(sys.argv[2]))
    store = NodeStore(config.database_path, config.node_id)
    with store.read() as conn:
        known = list(conn.exec_driver_sql("select id from leads").scalars())
        serial = conn.exec_driver_sql("select count(*) from leads").scalar_one()
    campus = Campus(config.campus_id, config.campus_code)
    commits = 0
    while True:
        with store.unit_of_work() as uow:
            for _ in range(rng.randint(1, 20)):
                if known and rng.random() < 0.4:
                    uow.update("leads", rng.choice(known), {rng.choice(["name", "notes", "channel"]):
                                                            f"v{rng.random():.12f}"})
                else:
                    serial += 1
                    known.append(create_lead(uow, campus, f"学员{serial}", f"13{serial:09d}")["id"])
        commits += 1
        print(f"committed {commits}", flush=True)


if __name__ == "__main__":
    main()
