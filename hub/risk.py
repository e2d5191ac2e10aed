"""The group's students at refund risk (危单预警): the alerts every campus raised and has not
cleared, as merged at the hub, with each student's contracts and the value left on them."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.hub.books.api import read
from campus.schema.tables import asset_entries, campuses, contracts, risk_alerts, students
from campus.web.api import Api, json_response
from campus.web.auth import guard
from campus.web.templating import make_templates, render

PERMISSION = "risk.read"
TEMPLATES = make_templates(Path(__file__).parent / "templates")


def group_risk(conn: Connection) -> dict[str, Any]:
    """Every open alert of the group, highest score first, and per campus how many and how much."""
    alerts = [dict(r) for r in conn.execute(
        select(risk_alerts, campuses.c.code.label("campus_code"), campuses.c.name.label("campus_name"))
        .outerjoin(campuses, campuses.c.id == risk_alerts.c.campus_id)
        .where(risk_alerts.c.cleared_at.is_(None), risk_alerts.c.deleted.is_(False))).mappings()]
    ids = sorted({a["student_id"] for a in alerts})
    people = {row.id: row for row in conn.execute(select(students.c.id, students.c.number, students.c.name)
                                                  .where(students.c.id.in_(ids)))}
    balances = {contract_id: (int(hours), int(value)) for contract_id, hours, value in conn.execute(
        select(asset_entries.c.contract_id, func.sum(asset_entries.c.hours_x100), func.sum(asset_entries.c.value_fen))
        .where(asset_entries.c.student_id.in_(ids)).group_by(asset_entries.c.contract_id))}
    owned: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for contract in conn.execute(select(contracts.c.id, contracts.c.number, contracts.c.student_id,
                                        contracts.c.expires_on)
                                 .where(contracts.c.student_id.in_(ids), contracts.c.deleted.is_(False))
                                 .order_by(contracts.c.signed_at, contracts.c.id)).mappings():
        hours, value = balances.get(contract["id"], (0, 0))
        if hours > 0 or value > 0:
            owned[contract["student_id"]].append({"id": contract["id"], "number": contract["number"],
                                                  "expires_on": contract["expires_on"],
                                                  "remaining_hours_x100": hours, "remaining_value_fen": value})
    items = []
    for alert in alerts:
        person = people.get(alert["student_id"])
        at_stake = owned.get(alert["student_id"], [])
        items.append({"campus_id": alert["campus_id"], "campus_code": alert["campus_code"],
                      "campus_name": alert["campus_name"], "student_id": alert["student_id"],
                      "number": person.number if person else None, "name": person.name if person else None,
                      "score": alert["score"], "alert_threshold": alert["threshold"], "raised_on": alert["raised_on"],
                      "factors": json.loads(alert["factors"]), "contracts": at_stake,
                      "remaining_value_fen": sum(c["remaining_value_fen"] for c in at_stake)})
    items.sort(key=lambda i: (-i["score"], i["campus_code"] or "", i["number"] or ""))
    per_campus: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for item in items:
        totals = per_campus[(item["campus_code"] or "", item["campus_name"] or "")]
        totals[0] += 1
        totals[1] += item["remaining_value_fen"]
    return {"total": len(items), "remaining_value_fen": sum(i["remaining_value_fen"] for i in items),
            "campuses": [{"campus_code": code, "campus_name": name, "students": count, "remaining_value_fen": value}
                         for (code, name), (count, value) in sorted(per_campus.items())],
            "items": items}


def register_risk_api(api: Api) -> None:
    @api.route("/risk", "GET", "The group's students at refund risk: every campus's open alerts, with the value "
               "left on their contracts", PERMISSION, tags=["risk"])
    async def group_list(request: Request) -> Response:
        return json_response(await read(request, group_risk))


async def risk_screen(request: Request) -> Response:
    shown = await read(request, group_risk)
    return render(TEMPLATES, request, "hub_risk.html", {"app_title": request.app.state.title, **shown})


def risk_routes() -> list[Route]:
    return [Route("/risk", guard(PERMISSION, risk_screen, screen=True))]

