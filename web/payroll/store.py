"""Pay plans in the store: set at the hub (or a campus with none), read by every campus's payroll.

A plan is one row per code and effective date (``commission_plans``): changing a plan from a
date is a new row with that date, so the months before keep the plan they were paid under.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from campus.schema.errors import Invalid, NotFound
from campus.schema.tables import campuses, commission_plans
from campus.sync.capture import UnitOfWork
from campus.web.payroll.plans import PLANNED, Plan, Position, parse_plan, plan_from_json


class UnknownPlan(NotFound):
    pass


def set_plan(uow: UnitOfWork, code: str, name: str, position: str, effective_from: str, rules: Any,
             for_campus_id: str | None = None, active: bool = True, *, now: str) -> dict[str, Any]:
    """Create the plan ``code`` from ``effective_from``, or change that version of it; the rules are
    validated (integer rates, brackets from 0 without gap or overlap) before anything is written."""
    parse_plan(position, rules)
    try:
        date.fromisoformat(effective_from)
    except (TypeError, ValueError):
        raise Invalid("effective_from", "a date like 2026-12-01") from None
    if not code.strip():
        raise Invalid("code", "must not be empty")
    if for_campus_id and uow.conn.execute(select(campuses.c.id).where(campuses.c.id == for_campus_id)).first() is None:
        raise Invalid("for_campus_id", f"no campus {for_campus_id}")
    values = {"name": name, "position": position, "for_campus_id": for_campus_id or None,
              "rules": json.dumps(rules, sort_keys=True, ensure_ascii=False), "active": active, "deleted": False,
              "updated_at": now}
    existing = uow.conn.execute(select(commission_plans.c.id, commission_plans.c.position).where(
        commission_plans.c.code == code, commission_plans.c.effective_from == effective_from)).first()
    if existing:
        uow.update("commission_plans", existing.id, values)
        plan_id = existing.id
    else:
        plan_id = uow.insert("commission_plans", {"code": code, "effective_from": effective_from, **values})
    return plan_row(uow.conn, plan_id)


def plan_row(conn: Connection, plan_id: str) -> dict[str, Any]:
    row = conn.execute(select(commission_plans).where(commission_plans.c.id == plan_id)).mappings().first()
    if row is None:
        raise UnknownPlan(f"no plan {plan_id}", plan_id=plan_id)
    return {**dict(row), "rules": json.loads(row["rules"])}


def plan_list(conn: Connection) -> list[dict[str, Any]]:
    """Every plan version, by code and date."""
    return [{**dict(row), "rules": json.loads(row["rules"])} for row in conn.execute(
        select(commission_plans).where(commission_plans.c.deleted.is_(False))
        .order_by(commission_plans.c.position, commission_plans.c.code, commission_plans.c.effective_from)).mappings()]


def plans_in_force(conn: Connection, campus_id: str, on: date) -> dict[str, tuple[str, Plan]]:
    """Per planned position, the plan that pays at ``campus_id`` on day ``on`` (the campus's own plan
    before the group's, the latest effective date not after ``on``), as ``(plan id, plan)``."""
    chosen: dict[str, tuple[tuple[bool, str], dict[str, Any]]] = {}
    for row in conn.execute(select(commission_plans).where(
            commission_plans.c.deleted.is_(False), commission_plans.c.active.is_(True),
            commission_plans.c.effective_from <= on.isoformat(),
            (commission_plans.c.for_campus_id.is_(None)) | (commission_plans.c.for_campus_id == campus_id))
            ).mappings():
        rank = (row["for_campus_id"] is not None, row["effective_from"])
        if row["position"] in PLANNED and (row["position"] not in chosen or rank > chosen[row["position"]][0]):
            chosen[row["position"]] = (rank, dict(row))
    return {Position(position): (row["id"], plan_from_json(position, row["rules"]))
            for position, (_rank, row) in chosen.items()}
