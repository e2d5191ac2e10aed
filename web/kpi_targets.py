"""KPI targets (月度目标): a month's target per campus and per person, set by a campus manager at
the node or by headquarters at the hub, through one use case both sides call.

A target's id is made from (campus, month, person, metric), so setting it again (on either side)
changes the one row, and the later edit wins when the two meet at the hub. A target of 0 removes it.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select

from campus.schema.context import CampusContext
from campus.schema.reports import KPI_METRICS
from campus.schema.tables import kpi_targets
from campus.web.api import Input
from campus.web.usecase import Work, use_case

MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
TARGET_NAMESPACE = uuid.UUID("6f1f3a52-6a5c-4c1e-9a57-2f0e8e4b7d11")
Metric = Literal["signed_fen", "renewal_fen", "cash_fen", "consumed_fen", "new_leads", "signings"]


class TargetIn(Input):
    user_id: str | None = Field(default=None, max_length=36)  # none: the campus's own target
    metric: Metric
    target: int = Field(ge=0, le=10**15)  # fen, a count, as the metric says; 0 removes the target


class TargetsIn(Input):
    campus_id: str | None = Field(default=None, max_length=36)  # at a node: its own campus
    period: str = Field(pattern=MONTH)
    targets: list[TargetIn] = Field(min_length=1, max_length=500)


def target_id(campus_id: str, period: str, user_id: str | None, metric: str) -> str:
    return str(uuid.uuid5(TARGET_NAMESPACE, f"{campus_id}/{period}/{user_id or ''}/{metric}"))


@use_case("kpi.manage")
def set_kpi_targets(work: Work[CampusContext], campus_id: str, given: TargetsIn) -> list[dict[str, Any]]:
    """Set (or, with 0, remove) a month's targets of one campus and its people."""
    work.actor.require("kpi.manage", campus_id)
    now = work.ctx.now_text()
    changed = []
    for target in given.targets:
        row_id = target_id(campus_id, given.period, target.user_id, target.metric)
        held = work.conn.execute(select(kpi_targets).where(kpi_targets.c.id == row_id)).mappings().first()
        values = {"target": target.target, "deleted": target.target == 0, "set_by": work.actor.user_id,
                  "updated_at": now}
        if held is None:
            if target.target == 0:
                continue
            work.uow.insert("kpi_targets", {"id": row_id, "campus_id": campus_id, "period": given.period,
                                            "user_id": target.user_id, "metric": target.metric, **values})
        elif (held["target"], held["deleted"]) != (target.target, target.target == 0):
            work.uow.update("kpi_targets", row_id, values)
        else:
            continue
        changed.append({"id": row_id, "user_id": target.user_id, "metric": target.metric,
                        "before": None if held is None or held["deleted"] else held["target"],
                        "target": target.target})
    work.audit("kpi_targets_set", target_table="kpi_targets", target_id=campus_id,
               after={"period": given.period, "targets": changed})
    return changed


assert set(KPI_METRICS) == set(Metric.__args__)  # type: ignore[attr-defined]
